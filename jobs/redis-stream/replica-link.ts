// The stream's connection to a primary, as a replica that never serves: authenticate, declare the
// capabilities of a Redis 7 replica (`capa eof psync2`), ask to continue from an offset it holds
// (`PSYNC <replid> <offset+1>`) or for everything (`PSYNC ? -1`), take the snapshot of a full
// resynchronisation (either form, `$<len>` or `$EOF:<mark>`) into a sink, and then hand every piece of
// the command stream on with the time it arrived. It acknowledges, once a second, the offset the caller
// says is durable, so `WAIT` on the primary counts only what is in the bucket.
import * as net from "net";
import { formatAddress, type Credentials, type NodeAddress } from "../redis/client";
import type { PayloadSink } from "../redis-backup/replication/stream";
import { encodeCommand } from "./resp";

/** The node refused the credentials or the user's rights. */
export class LinkAuthError extends Error {}

/** The link broke or the node answered something unexpected: try again, maybe elsewhere. */
export class LinkError extends Error {}

/** Where to continue from: the replication id and offset of the last byte held. */
export interface ResumePoint {
  replid: string;
  offset: number;
}

/** What the node answered to PSYNC. */
export type SyncReply =
  { kind: "continue"; replid: string } | { kind: "full"; replid: string; offset: number; size?: number };

/** Receives the command stream. */
export interface StreamHandler {
  /** A piece of the stream (owned by the handler) and when it arrived. */
  data(piece: Buffer, receivedAt: number): void;
  /** The link ended (always called once, after `run` started). */
  ended(why: string): void;
}

type Phase = "handshake" | "payload" | "stream" | "closed";

/** One replication link to one node. */
export class ReplicaLink {
  private phase: Phase = "handshake";
  private acc: Buffer = Buffer.alloc(0);
  private waiter?: () => void;
  private endedWhy?: string;
  private handler?: StreamHandler;
  private ackTimer?: NodeJS.Timeout;
  private stallTimer?: NodeJS.Timeout;
  private lastByte = Date.now();
  private payloadLeft = 0;
  private eofMark?: Buffer;
  private payloadDone?: { resolve: () => void; reject: (e: Error) => void };
  private sink?: PayloadSink;
  private held: Buffer = Buffer.alloc(0);

  private constructor(
    private readonly socket: net.Socket,
    readonly address: NodeAddress,
    private readonly stallMs: number,
  ) {}

  /**
   * Connects, authenticates and asks to sync from `from` (undefined: everything).
   * @throws LinkAuthError, LinkError.
   */
  static async open(
    address: NodeAddress,
    credentials: Credentials,
    from: ResumePoint | undefined,
    stallMs = 60_000,
  ): Promise<{ link: ReplicaLink; reply: SyncReply }> {
    const where = formatAddress(address);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: address.host, port: address.port });
      const t = setTimeout(() => {
        s.destroy();
        reject(new LinkError(`cannot connect to ${where}: timed out`));
      }, 5000);
      s.once("connect", () => {
        clearTimeout(t);
        resolve(s);
      });
      s.once("error", (e) => {
        clearTimeout(t);
        reject(new LinkError(`cannot connect to ${where}: ${e.message}`));
      });
    });
    socket.setNoDelay(true);
    const link = new ReplicaLink(socket, address, stallMs);
    socket.on("data", (d: Buffer) => link.onData(d));
    socket.on("error", (e) => link.onEnd(`the connection to ${where} failed: ${e.message}`));
    socket.on("close", () => link.onEnd(`${where} closed the connection`));
    try {
      const reply = await link.handshake(credentials, from);
      return { link, reply };
    } catch (err) {
      link.close();
      throw err;
    }
  }

  private where(): string {
    return formatAddress(this.address);
  }

  private onData(d: Buffer): void {
    this.lastByte = Date.now();
    if (this.phase === "stream") this.handler!.data(d, this.lastByte);
    else if (this.phase === "payload") this.deliver(d);
    else if (this.phase === "handshake") {
      this.acc = this.acc.length === 0 ? d : Buffer.concat([this.acc, d]);
      const w = this.waiter;
      this.waiter = undefined;
      w?.();
    }
  }

  private onEnd(why: string): void {
    if (this.endedWhy) return;
    this.endedWhy = why;
    clearInterval(this.ackTimer);
    clearInterval(this.stallTimer);
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
    if (this.phase === "payload") this.payloadDone?.reject(new LinkError(`${why} during the snapshot`));
    if (this.phase === "stream") this.handler?.ended(why);
    this.phase = "closed";
  }

  private async line(timeoutMs: number): Promise<string> {
    for (;;) {
      let skip = 0;
      while (skip < this.acc.length && this.acc[skip] === 0x0a) skip++;
      if (skip > 0) {
        this.acc = this.acc.subarray(skip);
        this.lastByte = Date.now();
      }
      const e = this.acc.indexOf("\r\n");
      if (e >= 0) {
        const l = this.acc.toString("latin1", 0, e);
        this.acc = this.acc.subarray(e + 2);
        return l;
      }
      if (this.endedWhy) throw new LinkError(`${this.endedWhy} during the handshake`);
      const left = this.lastByte + timeoutMs - Date.now();
      if (left <= 0) throw new LinkError(`${this.where()} did not answer in ${timeoutMs / 1000} s`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private async call(args: string[], timeoutMs = 5000): Promise<string> {
    this.lastByte = Date.now();
    this.socket.write(encodeCommand(...args));
    return this.line(timeoutMs);
  }

  private async handshake(credentials: Credentials, from: ResumePoint | undefined): Promise<SyncReply> {
    const where = this.where();
    if (credentials.password) {
      const auth = credentials.username
        ? ["AUTH", credentials.username, credentials.password]
        : ["AUTH", credentials.password];
      const r = await this.call(auth);
      if (r.startsWith("-"))
        throw new LinkAuthError(
          `${where} refused the credentials of ${credentials.username ?? "default"}: ${r.slice(1)}`,
        );
    }
    const capa = await this.call(["REPLCONF", "capa", "eof", "capa", "psync2"]);
    if (capa.startsWith("-"))
      throw new LinkAuthError(`${where}: ${capa.slice(1)} (the stream's user needs +psync +replconf +ping)`);
    const psync = await this.call(
      from ? ["PSYNC", from.replid, String(from.offset + 1)] : ["PSYNC", "?", "-1"],
      this.stallMs,
    );
    if (/^-(NOPERM|NOAUTH)/.test(psync)) throw new LinkAuthError(`${where}: ${psync.slice(1)}`);
    const cont = /^\+CONTINUE(?: (\S+))?$/.exec(psync);
    if (cont) return { kind: "continue", replid: cont[1] ?? from!.replid };
    const full = /^\+FULLRESYNC (\S+) (\d+)$/.exec(psync);
    if (!full) throw new LinkError(`${where} cannot sync now: ${psync.replace(/^[-+]/, "")}`);
    const header = await this.line(this.stallMs);
    const eof = /^\$EOF:(.{40})$/.exec(header);
    const bulk = /^\$(\d+)$/.exec(header);
    if (!eof && !bulk) throw new LinkError(`${where} sent an unexpected payload header`);
    if (eof) this.eofMark = Buffer.from(eof[1], "latin1");
    else this.payloadLeft = Number(bulk![1]);
    this.socket.pause();
    return {
      kind: "full",
      replid: full[1],
      offset: Number(full[2]),
      size: bulk ? Number(bulk[1]) : undefined,
    };
  }

  /** After a full reply: delivers the snapshot to `sink`; resolves once its last byte was taken. */
  snapshot(sink: PayloadSink): Promise<void> {
    this.sink = sink;
    this.phase = "payload";
    return new Promise<void>((resolve, reject) => {
      this.payloadDone = { resolve, reject };
      const first = this.acc;
      this.acc = Buffer.alloc(0);
      if (first.length > 0) this.deliver(first);
      if (this.phase === "payload") this.socket.resume();
    });
  }

  private give(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (!this.sink!.write(chunk)) {
      this.socket.pause();
      this.sink!.drained().then(
        () => this.phase === "payload" && this.socket.resume(),
        (e: Error) => this.payloadDone?.reject(e),
      );
    }
  }

  private deliver(d: Buffer): void {
    let rest: Buffer = Buffer.alloc(0);
    if (!this.eofMark) {
      const take = Math.min(d.length, this.payloadLeft);
      this.give(d.subarray(0, take));
      this.payloadLeft -= take;
      if (this.payloadLeft > 0) return;
      rest = d.subarray(take);
    } else {
      const joined = this.held.length ? Buffer.concat([this.held, d]) : d;
      // The mark ends the payload; bytes after it are the command stream.
      const at = joined.indexOf(this.eofMark);
      if (at < 0) {
        const cut = Math.max(0, joined.length - 40);
        this.give(joined.subarray(0, cut));
        this.held = Buffer.from(joined.subarray(cut));
        return;
      }
      this.give(joined.subarray(0, at));
      rest = joined.subarray(at + 40);
    }
    this.phase = "handshake"; // until `stream`: the command stream waits in `acc`
    this.acc = Buffer.from(rest);
    this.socket.pause();
    this.payloadDone!.resolve();
  }

  /**
   * Starts handing the command stream to `handler`; acknowledges `durable()` once a second.
   * A link that receives nothing for the stall time is closed (the primary pings every 10 s).
   */
  stream(handler: StreamHandler, durable: () => number): void {
    this.handler = handler;
    this.phase = "stream";
    const ack = () => {
      if (this.phase === "stream") this.socket.write(encodeCommand("REPLCONF", "ACK", String(durable())));
    };
    ack();
    this.ackTimer = setInterval(ack, 1000);
    this.stallTimer = setInterval(() => {
      if (Date.now() - this.lastByte > this.stallMs) {
        this.onEnd(`${this.where()} sent nothing for ${this.stallMs / 1000} s`);
        this.socket.destroy();
      }
    }, 1000);
    if (this.endedWhy) {
      handler.ended(this.endedWhy);
      return;
    }
    if (this.acc.length > 0) handler.data(this.acc, Date.now());
    this.acc = Buffer.alloc(0);
    this.socket.resume();
  }

  /** Stops reading (the primary then buffers for this replica) or reads again. */
  pause(paused: boolean): void {
    if (paused) this.socket.pause();
    else if (this.phase === "stream") this.socket.resume();
  }

  /** Closes the link. */
  close(): void {
    clearInterval(this.ackTimer);
    clearInterval(this.stallTimer);
    this.socket.destroy();
  }
}
