// The RDB of a Redis node over the replication protocol, as `redis-cli --rdb` gets it: authenticate,
// declare the capabilities of a replica that only wants the snapshot (`REPLCONF capa eof`, `REPLCONF
// rdb-only 1`), ask for a full resynchronisation (`PSYNC ? -1`, which also names the replication id and
// offset the snapshot stands for) and read the payload in either form Redis sends it: `$<len>` after a
// disk-based BGSAVE, or `$EOF:<40-byte mark>` ... mark for a diskless one. The socket is read into one
// reused buffer (no allocation per read, so memory does not grow with the throughput) and each piece is
// handed to a sink synchronously; when the sink is full the socket is paused until it drains
// (backpressure into the upload, and through TCP into the node).
import * as net from "net";
import { formatAddress, type Credentials, type NodeAddress } from "../../redis/client";

/** Redis refused the credentials or the user's rights (bad input, not a failure of the node). */
export class ReplicationAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplicationAuthError";
  }
}

/** The node could not give a snapshot or the stream broke: another node may do. */
export class ReplicationStreamError extends Error {
  constructor(
    message: string,
    /** Payload bytes received before the failure. */
    readonly received = 0,
  ) {
    super(message);
    this.name = "ReplicationStreamError";
  }
}

/** How long to wait for each step, and how long the stream may stall. */
export interface ReplicationOptions {
  /** Connecting and each handshake reply. Default 5 s. */
  handshakeTimeoutMs?: number;
  /**
   * No byte for this long fails the stream (before the payload: the node's BGSAVE has not started; during
   * it: the node stopped sending). Default 60 s, Redis's own repl-timeout.
   */
  stallTimeoutMs?: number;
}

/** What the node said about the snapshot it sends. */
export interface SnapshotOrigin {
  /** Replication id and offset the snapshot stands for (`+FULLRESYNC <id> <offset>`). */
  replicationId: string;
  replicationOffset: number;
  /** `bulk` (`$<len>`, disk-based) or `eof` (`$EOF:` mark, diskless). */
  transfer: "bulk" | "eof";
  /** Payload size, known only for `bulk`. */
  size?: number;
}

function command(...args: string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(""));
}

/** Where the payload goes: `write` must consume `chunk` before returning (the buffer is reused). */
export interface PayloadSink {
  /** Takes a piece of the RDB; returns false when it cannot take more until `drained` resolves. */
  write(chunk: Buffer): boolean;
  /** Resolves when the sink can take data again. */
  drained(): Promise<void>;
}

/** Size of the reused read buffer: the largest piece a sink receives at once. */
export const READ_BUFFER_BYTES = 256 * 1024;

/** handshake: reading replies; ready: the payload header came, reading paused until `pipe`. */
type Phase = "handshake" | "ready" | "payload" | "done";

/** One snapshot being received from one node. */
export class ReplicationStream {
  private phase: Phase = "handshake";
  /** Handshake bytes not yet consumed as lines (owned copies: the read buffer is reused). */
  private acc: Buffer = Buffer.alloc(0);
  private waiter?: () => void;
  private ended?: string;
  private origin?: SnapshotOrigin;
  private eofMark?: Buffer;
  /** The last bytes of an `$EOF:` stream, held back until it is known whether they are the mark. */
  private held: Buffer = Buffer.alloc(0);
  private received = 0;
  private sink?: PayloadSink;
  private settle?: { resolve: () => void; reject: (err: Error) => void };
  private stallTimer?: NodeJS.Timeout;
  private paused = false;
  private lastActivity = Date.now();
  /** Reads that arrived while paused. */
  private readonly backlog: Buffer[] = [];

  private constructor(
    private socket: net.Socket,
    readonly address: NodeAddress,
    private readonly options: Required<ReplicationOptions>,
  ) {}

  /**
   * Connects and asks `address` for a snapshot. Resolves once the node has named the snapshot and the
   * payload header has arrived.
   * @throws ReplicationAuthError for refused credentials or rights, ReplicationStreamError otherwise.
   */
  static async open(
    address: NodeAddress,
    credentials: Credentials,
    options: ReplicationOptions = {},
  ): Promise<ReplicationStream> {
    const o = { handshakeTimeoutMs: 5000, stallTimeoutMs: 60_000, ...options };
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    // The socket's read callback is set before the stream that handles the reads exists.
    const holder: { stream?: ReplicationStream } = {};
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({
        host: address.host,
        port: address.port,
        onread: {
          buffer: readBuffer,
          // Nothing is sent before the stream exists, so nothing arrives before either.
          callback: (n: number): boolean =>
            holder.stream ? holder.stream.onRead(readBuffer.subarray(0, n)) : true,
        },
      });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ReplicationStreamError(`cannot connect to ${formatAddress(address)}: timed out`));
      }, o.handshakeTimeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (err) => {
        clearTimeout(timer);
        reject(new ReplicationStreamError(`cannot connect to ${formatAddress(address)}: ${err.message}`));
      });
    });
    socket.setNoDelay(true);
    const stream = new ReplicationStream(socket, address, o);
    holder.stream = stream;
    socket.on("error", (err) => stream.onEnd(`the connection to ${stream.where()} failed: ${err.message}`));
    socket.on("close", () => stream.onEnd(`${stream.where()} closed the connection`));
    try {
      await stream.handshake(credentials);
      return stream;
    } catch (err) {
      stream.destroy();
      throw err;
    }
  }

  /** What the node said about the snapshot (after `open`). */
  get snapshot(): SnapshotOrigin {
    return this.origin!;
  }

  /** Payload bytes received so far. */
  get bytesReceived(): number {
    return this.received;
  }

  /** Closes the connection (the node then drops this replica). */
  destroy(): void {
    clearTimeout(this.stallTimer);
    this.socket.destroy();
  }

  private where(): string {
    return formatAddress(this.address);
  }

  /** Called by the socket for every read; returning false pauses the socket. */
  private onRead(view: Buffer): boolean {
    this.lastActivity = Date.now();
    if (this.phase === "ready") {
      // Payload that came before anyone took it: kept until `pipe`, reading stopped meanwhile.
      this.backlog.push(Buffer.from(view));
      return false;
    }
    if (this.phase === "handshake") {
      this.acc = this.acc.length === 0 ? Buffer.from(view) : Buffer.concat([this.acc, view]);
      this.wake();
      return true;
    }
    if (this.phase === "payload") {
      if (this.paused) {
        // A read that was already under way when the sink filled up: kept (copied) for the drain.
        this.backlog.push(Buffer.from(view));
        return false;
      }
      this.armStall();
      try {
        return this.deliver(view);
      } catch (err) {
        this.fail(err as Error);
        return false;
      }
    }
    return false;
  }

  private onEnd(why: string): void {
    if (this.ended) return;
    this.ended = why;
    this.wake();
    // While reads are held back, the end comes after them: judged once they are delivered.
    if (this.phase === "payload" && !this.paused && this.backlog.length === 0) {
      const what = this.eofMark ? "before the end mark" : `of ${this.origin!.size}`;
      this.fail(
        new ReplicationStreamError(
          `${this.where()} closed the stream after ${this.received} bytes ${what} (${why})`,
          this.received,
        ),
      );
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next reply line, skipping the bare newlines a node sends while it prepares the snapshot. */
  private async line(what: string): Promise<string> {
    // A node waits for a running BGSAVE before it answers PSYNC and starts the payload, sending a
    // newline every second meanwhile: those steps get the stall timeout, counted from the last byte.
    const timeoutMs =
      what === "payload header" || what === "PSYNC reply"
        ? this.options.stallTimeoutMs
        : this.options.handshakeTimeoutMs;
    for (;;) {
      const deadline = this.lastActivity + timeoutMs;
      let skip = 0;
      while (skip < this.acc.length && this.acc[skip] === 0x0a) skip++;
      if (skip > 0) this.acc = this.acc.subarray(skip);
      const end = this.acc.indexOf("\r\n");
      if (end >= 0) {
        const line = this.acc.toString("latin1", 0, end);
        this.acc = this.acc.subarray(end + 2);
        return line;
      }
      if (this.acc.length > 4096)
        throw new ReplicationStreamError(`${this.where()} sent an unexpected ${what}`);
      if (this.ended)
        throw new ReplicationStreamError(`${this.where()} closed the connection while sending the ${what}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new ReplicationStreamError(
          `${this.where()} sent nothing for ${Math.round(timeoutMs / 1000)} s`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async call(args: string[], what: string): Promise<string> {
    this.lastActivity = Date.now();
    this.socket.write(command(...args));
    return this.line(what);
  }

  private async handshake(credentials: Credentials): Promise<void> {
    const where = this.where();
    if (credentials.password) {
      const auth = credentials.username
        ? ["AUTH", credentials.username, credentials.password]
        : ["AUTH", credentials.password];
      const r = await this.call(auth, "AUTH reply");
      if (r.startsWith("-"))
        throw new ReplicationAuthError(
          `${where} refused the credentials of ${credentials.username ?? "the default user"} (${r.slice(1)})`,
        );
    }
    const capa = await this.call(["REPLCONF", "capa", "eof", "capa", "psync2"], "REPLCONF reply");
    if (capa.startsWith("-NOPERM") || capa.startsWith("-NOAUTH"))
      throw new ReplicationAuthError(`${where}: ${capa.slice(1)} (the user needs +replconf +psync)`);
    // Redis 7 lets a replica ask for the snapshot only, so the node does not keep streaming commands.
    // Older versions answer an error, which is harmless: the stream is closed after the payload anyway.
    await this.call(["REPLCONF", "rdb-only", "1"], "REPLCONF reply");
    const psync = await this.call(["PSYNC", "?", "-1"], "PSYNC reply");
    if (psync.startsWith("-NOPERM") || psync.startsWith("-NOAUTH"))
      throw new ReplicationAuthError(`${where}: ${psync.slice(1)} (the user needs +psync)`);
    const m = /^\+FULLRESYNC (\S+) (\d+)$/.exec(psync);
    if (!m)
      throw new ReplicationStreamError(`${where} cannot give a snapshot now: ${psync.replace(/^[-+]/, "")}`);
    const header = await this.line("payload header");
    const eof = /^\$EOF:(.{40})$/.exec(header);
    const bulk = /^\$(\d+)$/.exec(header);
    if (eof) this.eofMark = Buffer.from(eof[1], "latin1");
    else if (!bulk)
      throw new ReplicationStreamError(`${where} sent an unexpected payload header: ${header.slice(0, 60)}`);
    // Nobody takes the payload until `pipe`: stop reading (the rest waits in TCP, not in memory).
    this.phase = "ready";
    this.socket.pause();
    this.origin = {
      replicationId: m[1],
      replicationOffset: Number(m[2]),
      transfer: eof ? "eof" : "bulk",
      size: bulk ? Number(bulk[1]) : undefined,
    };
  }

  /**
   * Delivers the RDB to `sink`, piece by piece, ending exactly at its last byte; resolves when all of it
   * has been taken.
   * @throws ReplicationStreamError when the node stops or stalls before the end, or whatever the sink throws.
   */
  pipe(sink: PayloadSink): Promise<void> {
    this.sink = sink;
    this.phase = "payload";
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
      // Bytes that came with or after the payload header, in pieces no larger than a read.
      const first = this.acc;
      this.acc = Buffer.alloc(0);
      const pieces: Buffer[] = [];
      for (let i = 0; i < first.length; i += READ_BUFFER_BYTES)
        pieces.push(first.subarray(i, i + READ_BUFFER_BYTES));
      this.backlog.unshift(...pieces);
      this.paused = false;
      this.drainBacklog();
    });
  }

  /** Delivers what was kept while reading was stopped, then reads again unless the sink filled up. */
  private drainBacklog(): void {
    while (this.backlog.length > 0 && !this.paused && this.phase === "payload") {
      const next = this.backlog.shift()!;
      try {
        this.deliver(next);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
    }
    if (this.paused || this.phase !== "payload") return;
    if (this.ended) {
      this.onEndDuringPayload();
      return;
    }
    this.armStall();
    this.socket.resume();
  }

  private onEndDuringPayload(): void {
    const why = this.ended!;
    this.ended = undefined;
    this.onEnd(why);
  }

  /** Hands `view` to the sink; returns false (pausing the socket) when the sink is full. */
  private deliver(view: Buffer): boolean {
    const sink = this.sink!;
    let room = true;
    const give = (chunk: Buffer) => {
      if (chunk.length === 0) return;
      this.received += chunk.length;
      if (!sink.write(chunk)) room = false;
    };
    const mark = this.eofMark;
    if (!mark) {
      const size = this.origin!.size!;
      const take = Math.min(view.length, size - this.received);
      give(view.subarray(0, take));
      if (this.received === size) this.finish();
    } else if (view.length >= 40) {
      give(this.held);
      this.held = Buffer.alloc(0);
      if (!room) {
        // The sink filled up on the held bytes: this read waits (copied) until it drains.
        this.backlog.unshift(Buffer.from(view));
        this.pauseUntilDrained();
        return false;
      }
      give(view.subarray(0, view.length - 40));
      this.held = Buffer.from(view.subarray(view.length - 40));
      if (this.held.equals(mark)) this.finish();
    } else {
      const joined = Buffer.concat([this.held, view]);
      const cut = Math.max(0, joined.length - 40);
      give(joined.subarray(0, cut));
      this.held = joined.subarray(cut);
      if (this.held.length === 40 && this.held.equals(mark)) this.finish();
    }
    if (this.phase !== "payload") return false;
    if (!room) this.pauseUntilDrained();
    return room;
  }

  /** The sink is full: stop reading (TCP then stops the node) until it drains. */
  private pauseUntilDrained(): void {
    this.paused = true;
    clearTimeout(this.stallTimer);
    // Returning false from the read callback stops the handle; pausing the stream as well keeps Node
    // from starting it again on its own.
    this.socket.pause();
    this.sink!.drained().then(
      () => {
        if (this.phase !== "payload") return;
        this.paused = false;
        this.drainBacklog();
      },
      (err: Error) => this.fail(err),
    );
  }

  private armStall(): void {
    clearTimeout(this.stallTimer);
    if (this.paused || this.phase !== "payload") return;
    this.stallTimer = setTimeout(() => {
      this.fail(
        new ReplicationStreamError(
          `${this.where()} sent nothing for ${Math.round(this.options.stallTimeoutMs / 1000)} s`,
          this.received,
        ),
      );
    }, this.options.stallTimeoutMs);
  }

  private finish(): void {
    this.phase = "done";
    clearTimeout(this.stallTimer);
    this.socket.destroy();
    this.settle?.resolve();
  }

  private fail(err: Error): void {
    if (this.phase !== "payload") return;
    this.phase = "done";
    clearTimeout(this.stallTimer);
    this.socket.destroy();
    this.settle?.reject(err);
  }
}
