// Turns the command stream of one replication link into segments: pieces are buffered with the time
// they arrived, cut at the last safe point (whole commands, no open transaction) once the oldest
// buffered byte is `segmentMs` old or `segmentBytes` are buffered, and written to the bucket one after
// the other, each naming the hash of the one before. Writes that fail are retried (the link is paused
// while too much waits), so a slow bucket delays segments but loses none.
import { log } from "../cli/log";
import type { StoreLocation } from "../store/catalog";
import { putSegment, SegmentConflictError } from "./chain-store";
import { RespReader } from "./resp";
import { encodeSegment, segmentKey, type SegmentHeader } from "./segment";

/** Where a chain stands: the last byte written (or to be written) and its hash. */
export interface ChainPosition {
  chain: number;
  replid: string;
  /** Replication offset after the last byte. */
  offset: number;
  /** Hash of the last segment; null before the chain's first. */
  prev: string | null;
  /** Database selected at `offset` (-1: unknown). */
  db: number;
}

/** How segments are cut. */
export interface SegmentLimits {
  /** Close a segment once its oldest byte is this old. Default 1000. */
  segmentMs: number;
  /** ... or once this many bytes wait. Default 8 MiB. */
  segmentBytes: number;
  /** Pause the link while this many bytes wait for the bucket. Default 64 MiB. */
  maxBuffered: number;
}

/** A segment durable in the bucket. */
export interface DurableSegment {
  key: string;
  header: SegmentHeader;
  /** When it became durable (ms). */
  durableAt: number;
}

/** Writes the segments of one link. */
export class SegmentWriter {
  private pieces: Buffer[] = [];
  private bytes = 0;
  private firstAt = 0;
  /** Safe cut points in the buffer: [absolute offset, arrival ms, db after]. */
  private marks: [number, number, number][] = [];
  private readonly reader: RespReader;
  /** Position at the end of the last closed segment (written or queued). */
  private closed: ChainPosition;
  private durablePos: ChainPosition;
  private queue: { key: string; header: SegmentHeader; body: Buffer; sha256: string; end: ChainPosition }[] =
    [];
  private queuedBytes = 0;
  private writing?: Promise<void>;
  private timer: NodeJS.Timeout;
  private failure?: Error;
  private readonly limits: SegmentLimits;
  private readonly origin: number;

  constructor(
    private readonly at: StoreLocation,
    from: ChainPosition,
    limits: Partial<SegmentLimits> = {},
    /** Told of every durable segment (logs, metrics). */
    private readonly onDurable: (s: DurableSegment) => void = () => undefined,
    /** Told to stop or resume reading (too much waiting for the bucket). */
    private readonly pause: (paused: boolean) => void = () => undefined,
  ) {
    this.limits = { segmentMs: 1000, segmentBytes: 8 * 2 ** 20, maxBuffered: 64 * 2 ** 20, ...limits };
    this.closed = { ...from };
    this.durablePos = { ...from };
    this.reader = new RespReader({ db: from.db, inMulti: false });
    this.origin = from.offset;
    this.timer = setInterval(
      () => {
        if (this.bytes > 0 && Date.now() - this.firstAt >= this.limits.segmentMs) this.cut();
      },
      Math.max(10, Math.min(100, this.limits.segmentMs / 4)),
    );
  }

  /** The replication offset durable in the bucket. */
  get durable(): ChainPosition {
    return { ...this.durablePos };
  }

  /** Arrival (ms) of the oldest byte received and not yet durable, if any. */
  oldestPending(): number | undefined {
    return this.queue[0]?.header.firstAt ?? (this.bytes > 0 ? this.firstAt : undefined);
  }

  /** A write failed for good (a conflict): the stream must stop. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Takes a piece of the stream. */
  add(piece: Buffer, receivedAt: number): void {
    if (this.bytes === 0) this.firstAt = receivedAt;
    this.pieces.push(piece);
    this.bytes += piece.length;
    // The reader counts bytes from its creation, at offset `origin` of the chain.
    for (const e of this.reader.feed(piece))
      if (e.safe) this.marks.push([this.origin + e.end, receivedAt, e.db]);
    if (this.bytes >= this.limits.segmentBytes) this.cut();
  }

  /** Closes the buffered bytes up to the last safe point into a segment and queues its write. */
  cut(): void {
    const last = this.marks[this.marks.length - 1];
    if (!last) return;
    const start = this.closed.offset;
    const length = last[0] - start;
    const all = Buffer.concat(this.pieces, this.bytes);
    const payload = all.subarray(0, length);
    const restBytes = all.subarray(length);
    const marks = this.marks.map(([o, t]) => [o - start, t - this.firstAt] as [number, number]);
    const header: SegmentHeader = {
      chain: this.closed.chain,
      replid: this.closed.replid,
      start,
      end: last[0],
      firstAt: this.firstAt,
      lastAt: last[1],
      prev: this.closed.prev,
      db: this.closed.db,
      marks,
    };
    const { body, sha256 } = encodeSegment(header, Buffer.from(payload));
    const end: ChainPosition = { ...this.closed, offset: last[0], prev: sha256, db: last[2] };
    this.queue.push({
      key: segmentKey(this.at.layout.redis, header.chain, start),
      header,
      body,
      sha256,
      end,
    });
    this.queuedBytes += body.length;
    this.closed = end;
    this.pieces = restBytes.length > 0 ? [Buffer.from(restBytes)] : [];
    this.bytes = restBytes.length;
    this.firstAt = restBytes.length > 0 ? last[1] : 0;
    this.marks = [];
    if (this.queuedBytes > this.limits.maxBuffered) this.pause(true);
    this.writing ??= this.writeQueue().finally(() => (this.writing = undefined));
  }

  private async writeQueue(): Promise<void> {
    let delay = 200;
    while (this.queue.length > 0 && !this.failure) {
      const s = this.queue[0];
      try {
        await putSegment(this.at, s.key, s.body, s.sha256);
      } catch (err) {
        if (err instanceof SegmentConflictError) {
          this.failure = err;
          return;
        }
        log.warn("writing a segment failed; retrying", { key: s.key, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
        continue;
      }
      delay = 200;
      this.queue.shift();
      this.queuedBytes -= s.body.length;
      this.durablePos = s.end;
      if (this.queuedBytes <= this.limits.maxBuffered / 2) this.pause(false);
      this.onDurable({ key: s.key, header: s.header, durableAt: Date.now() });
    }
  }

  /**
   * Ends the writer: closes what is buffered up to its last safe point (bytes after it, a command not
   * whole, are dropped: the next link sends them again from there) and waits until every segment is
   * durable. Resolves to the position to continue from.
   */
  async finish(): Promise<ChainPosition> {
    clearInterval(this.timer);
    this.cut();
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
    return this.durable;
  }
}
