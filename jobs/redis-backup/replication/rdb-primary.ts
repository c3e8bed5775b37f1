// A minimal Redis primary in this process, so a throw-away redis-server can load an RDB while it is
// still being downloaded: the server is started as a replica of it (`replicaof`, diskless load), its
// handshake is answered (PING, REPLCONF, PSYNC -> +FULLRESYNC), and the RDB is sent as the `$EOF:`
// payload of a full resynchronisation, piece by piece as it arrives, with the socket's backpressure.
// Redis parses the payload straight from the socket, checking its CRC-64 on the way, as it does for any
// replica; loading then takes no extra time after the download.
import { randomBytes } from "crypto";
import * as net from "net";

/** The replica did not connect, or broke off the transfer. */
export class RdbPrimaryError extends Error {}

/** The primary end of one full resynchronisation. */
export class RdbPrimary {
  private server?: net.Server;
  private replica?: net.Socket;
  private readonly mark = randomBytes(20).toString("hex");
  private syncs = 0;
  private failure?: Error;
  private waiters: (() => void)[] = [];
  private sending = false;

  /** The replication id the replica will have (40 characters, as Redis requires). */
  readonly replicationId = randomBytes(20).toString("hex");

  /** Listens on a free loopback port. */
  static async listen(): Promise<RdbPrimary> {
    const p = new RdbPrimary();
    await new Promise<void>((resolve, reject) => {
      p.server = net.createServer((socket) => p.accept(socket));
      p.server.once("error", reject);
      p.server.listen(0, "127.0.0.1", () => resolve());
    });
    return p;
  }

  /** The port a replica connects to. */
  get port(): number {
    return (this.server!.address() as net.AddressInfo).port;
  }

  /** How many full resynchronisations the replica asked for (more than one: a load failed). */
  get syncRequests(): number {
    return this.syncs;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    let acc = Buffer.alloc(0);
    const reply = (text: string) => socket.write(text);
    const onData = (data: Buffer) => {
      acc = Buffer.concat([acc, data]);
      for (;;) {
        const parsed = parseCommand(acc);
        if (!parsed) return;
        acc = acc.subarray(parsed.length);
        const [name, ...args] = parsed.args;
        const cmd = name.toUpperCase();
        if (cmd === "PING") reply("+PONG\r\n");
        else if (cmd === "REPLCONF") {
          // ACKs after the load need no answer; everything else is accepted.
          if ((args[0] ?? "").toUpperCase() !== "ACK") reply("+OK\r\n");
        } else if (cmd === "PSYNC" || cmd === "SYNC") {
          this.syncs++;
          if (this.syncs > 1) {
            // The replica is asking again: it could not load what it was sent.
            this.failure ??= new RdbPrimaryError(
              "the throw-away redis-server failed to load the RDB and asked again",
            );
            socket.destroy();
            this.wake();
            return;
          }
          reply(`+FULLRESYNC ${this.replicationId} 0\r\n$EOF:${this.mark}\r\n`);
          this.replica = socket;
          socket.off("data", onData);
          socket.on("data", () => undefined); // REPLCONF ACKs while loading
          socket.on("drain", () => this.wake());
          socket.on("close", () => {
            if (this.sending)
              this.failure ??= new RdbPrimaryError("the throw-away redis-server closed the replication link");
            this.wake();
          });
          this.wake();
          return;
        } else reply("-ERR unknown command\r\n");
      }
    };
    socket.on("data", onData);
    socket.on("error", () => undefined);
  }

  /** Resolves when the replica has asked for the resynchronisation (the payload may be sent). */
  async connected(timeoutMs: number, alive: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.replica) {
      if (this.failure) throw this.failure;
      if (!alive())
        throw new RdbPrimaryError("the throw-away redis-server exited before asking for the data");
      if (Date.now() > deadline)
        throw new RdbPrimaryError("the throw-away redis-server did not connect in time");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.sending = true;
  }

  /** Sends RDB bytes; returns false when the replica's socket is full (wait for `drained`). */
  write(chunk: Buffer): boolean {
    if (this.failure) throw this.failure;
    return this.replica!.write(chunk);
  }

  /** Resolves when the socket can take more; rejects if the replica broke off. */
  async drained(): Promise<void> {
    while (this.replica!.writableNeedDrain && !this.failure && !this.replica!.destroyed)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.failure) throw this.failure;
    if (this.replica!.destroyed)
      throw new RdbPrimaryError("the throw-away redis-server closed the replication link");
  }

  /** Ends the payload with its mark; the replica then finishes loading. */
  end(): void {
    if (this.failure) throw this.failure;
    this.replica!.write(this.mark);
    this.sending = false;
  }

  /** The failure seen so far, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  close(): void {
    this.replica?.destroy();
    this.server?.close();
  }
}

/** Parses one RESP array (or inline) command at the start of `b`; undefined when incomplete. */
function parseCommand(b: Buffer): { args: string[]; length: number } | undefined {
  if (b.length === 0) return undefined;
  if (b[0] !== 0x2a /* * */) {
    const end = b.indexOf("\r\n");
    if (end < 0) return undefined;
    return { args: b.toString("latin1", 0, end).trim().split(/\s+/), length: end + 2 };
  }
  let p = b.indexOf("\r\n");
  if (p < 0) return undefined;
  const n = Number(b.toString("latin1", 1, p));
  p += 2;
  const args: string[] = [];
  for (let i = 0; i < n; i++) {
    const e = b.indexOf("\r\n", p);
    if (e < 0) return undefined;
    const len = Number(b.toString("latin1", p + 1, e));
    const start = e + 2;
    if (start + len + 2 > b.length) return undefined;
    args.push(b.toString("latin1", start, start + len));
    p = start + len + 2;
  }
  return { args, length: p };
}
