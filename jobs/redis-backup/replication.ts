// The RDB of a Redis node over the replication protocol, as `redis-cli --rdb` gets it: authenticate,
// declare the capabilities of a replica that only wants the snapshot (`REPLCONF capa eof`, `REPLCONF
// rdb-only 1`), ask for a full resynchronisation (`PSYNC ? -1`, which also names the replication id and
// offset the snapshot stands for) and read the payload in either form Redis sends it: `$<len>` after a
// disk-based BGSAVE, or `$EOF:<40-byte mark>` ... mark for a diskless one. Chunks are handed on as they
// arrive; the socket is read only as fast as the consumer takes them (backpressure into the upload).
import * as net from "net";
import { formatAddress, type Credentials, type NodeAddress } from "../redis/client";

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

/** One snapshot being received from one node. */
export class ReplicationStream {
  private readonly iterator: AsyncIterator<Buffer>;
  /** Bytes read past the last handshake line: the start of the payload. */
  private leftover: Buffer = Buffer.alloc(0);
  private origin?: SnapshotOrigin;
  private eofMark?: Buffer;
  private stalled?: Error;
  private received = 0;

  private constructor(
    private readonly socket: net.Socket,
    readonly address: NodeAddress,
    private readonly options: Required<ReplicationOptions>,
  ) {
    this.iterator = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

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
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: address.host, port: address.port });
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
    this.socket.destroy();
  }

  private where(): string {
    return formatAddress(this.address);
  }

  /** The next bytes from the socket, bounded by `timeoutMs`; undefined at the end of the stream. */
  private async next(timeoutMs: number): Promise<Buffer | undefined> {
    if (this.leftover.length > 0) {
      const b = this.leftover;
      this.leftover = Buffer.alloc(0);
      return b;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.stalled = new ReplicationStreamError(
          `${this.where()} sent nothing for ${Math.round(timeoutMs / 1000)} s`,
          this.received,
        );
        this.socket.destroy();
        reject(this.stalled);
      }, timeoutMs);
    });
    try {
      const r = await Promise.race([this.iterator.next(), timeout]);
      return r.done ? undefined : r.value;
    } catch (err) {
      if (this.stalled) throw this.stalled;
      throw new ReplicationStreamError(
        `the connection to ${this.where()} failed: ${(err as Error).message}`,
        this.received,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next reply line, skipping the bare newlines a node sends while it prepares the snapshot. */
  private async line(what: string): Promise<string> {
    let acc = Buffer.alloc(0);
    for (;;) {
      const chunk = await this.next(
        what === "payload header" ? this.options.stallTimeoutMs : this.options.handshakeTimeoutMs,
      );
      if (!chunk)
        throw new ReplicationStreamError(`${this.where()} closed the connection while sending the ${what}`);
      acc = Buffer.concat([acc, chunk]);
      while (acc.length > 0 && acc[0] === 0x0a) acc = acc.subarray(1);
      const end = acc.indexOf("\r\n");
      if (end >= 0) {
        this.leftover = acc.subarray(end + 2);
        return acc.toString("latin1", 0, end);
      }
      if (acc.length > 4096) throw new ReplicationStreamError(`${this.where()} sent an unexpected ${what}`);
    }
  }

  private async call(args: string[], what: string): Promise<string> {
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
    this.origin = {
      replicationId: m[1],
      replicationOffset: Number(m[2]),
      transfer: eof ? "eof" : "bulk",
      size: bulk ? Number(bulk[1]) : undefined,
    };
  }

  /**
   * The RDB, chunk by chunk, ending exactly at its last byte.
   * @throws ReplicationStreamError when the node stops before the end.
   */
  async *payload(): AsyncGenerator<Buffer> {
    const mark = this.eofMark;
    const size = this.origin!.size;
    if (!mark) {
      // `$<len>`: exactly len bytes.
      while (this.received < size!) {
        const chunk = await this.next(this.options.stallTimeoutMs);
        if (!chunk)
          throw new ReplicationStreamError(
            `${this.where()} closed the stream after ${this.received} of ${size} bytes`,
            this.received,
          );
        const take = Math.min(chunk.length, size! - this.received);
        this.received += take;
        yield take === chunk.length ? chunk : chunk.subarray(0, take);
      }
      return;
    }
    // `$EOF:<mark>`: the payload ends with the 40-byte mark. The last 40 bytes are held back until it is
    // known whether they are the mark.
    let held = Buffer.alloc(0);
    for (;;) {
      const chunk = await this.next(this.options.stallTimeoutMs);
      if (!chunk) {
        if (held.length === 40 && held.equals(mark)) return;
        throw new ReplicationStreamError(
          `${this.where()} closed the stream after ${this.received} bytes, before the end mark`,
          this.received,
        );
      }
      if (chunk.length >= 40) {
        if (held.length > 0) {
          this.received += held.length;
          yield held;
        }
        const body = chunk.subarray(0, chunk.length - 40);
        held = Buffer.from(chunk.subarray(chunk.length - 40));
        if (body.length > 0) {
          this.received += body.length;
          yield body;
        }
      } else {
        const joined = Buffer.concat([held, chunk]);
        const cut = Math.max(0, joined.length - 40);
        if (cut > 0) {
          this.received += cut;
          yield joined.subarray(0, cut);
        }
        held = joined.subarray(cut);
      }
      if (held.length === 40 && held.equals(mark)) return;
    }
  }
}
