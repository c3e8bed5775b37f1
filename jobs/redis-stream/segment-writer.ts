// Turns the command stream of one replication link into segments: pieces are buffered with the time
// they arrived, cut at the last safe point (whole commands, no open transaction) once the oldest
// buffered byte is `segmentMs` old or `segmentBytes` are buffered, each naming the hash of the one before,
// and written to the bucket up to `uploads` at a time. Writes that fail are retried (the link is paused
// while too much waits), so a slow bucket delays segments but loses none. The durable position only
// moves over segments that are durable with every one before them: a segment written while an earlier
// one is still being retried waits for it before it counts.
import { log } from "../cli/log";
import type { StoreLocation } from "../store/catalog";
import { putSegment, SegmentConflictError } from "./chain-store";
import { RespReader } from "./resp";
import { encodeSegmentParts, Marks, segmentKey, type SegmentHeader } from "./segment";

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
  /** Pause the link while this many bytes wait for the bucket. Default 32 MiB. */
  maxBuffered: number;
  /** Segments written to the bucket at once. Default 4. */
  uploads: number;
}

/** A closed segment on its way to the bucket. */
interface Pending {
  key: string;
  header: SegmentHeader;
  /** Its bytes; dropped once the bucket holds them. */
  body?: Buffer;
  size: number;
  sha256: string;
  end: ChainPosition;
  started: boolean;
  written: boolean;
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
  /** Closed segments not yet durable (with every one before them), in chain order. */
  private queue: Pending[] = [];
  /** Bytes of the bodies held for the bucket. */
  private queuedBytes = 0;
  private readonly writing = new Set<Promise<void>>();
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
    this.limits = {
      segmentMs: 1000,
      segmentBytes: 8 * 2 ** 20,
      maxBuffered: 32 * 2 ** 20,
      uploads: 4,
      ...limits,
    };
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
    // The payload's pieces go into the segment's body as they are (one copy); the rest is copied out
    // so the pieces it came from can be freed.
    const payload: Buffer[] = [];
    const rest: Buffer[] = [];
    let taken = 0;
    for (const p of this.pieces) {
      const n = Math.min(p.length, length - taken);
      if (n > 0) payload.push(n === p.length ? p : p.subarray(0, n));
      if (n < p.length) rest.push(p.subarray(Math.max(0, n)));
      taken += Math.max(0, n);
    }
    const restBytes = this.bytes - length;
    const marks = Marks.of(this.marks.map(([o, t]) => [o - start, t - this.firstAt] as const));
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
    const { body, sha256 } = encodeSegmentParts(header, payload);
    const end: ChainPosition = { ...this.closed, offset: last[0], prev: sha256, db: last[2] };
    const key = segmentKey(this.at.layout.redis, header.chain, start);
    this.queue.push({ key, header, body, size: body.length, sha256, end, started: false, written: false });
    this.queuedBytes += body.length;
    this.closed = end;
    this.pieces = restBytes > 0 ? [Buffer.concat(rest, restBytes)] : [];
    this.bytes = restBytes;
    this.firstAt = restBytes > 0 ? last[1] : 0;
    this.marks = [];
    if (this.queuedBytes > this.limits.maxBuffered) this.pause(true);
    this.startWrites();
  }

  /**
   * Starts writes of queued segments while fewer than `uploads` are under way, only among the first
   * `uploads` not yet durable: a segment the bucket keeps refusing holds back at most `uploads - 1`
   * written after it (what a restart must look behind, see `resumePoint`).
   */
  private startWrites(): void {
    for (const s of this.queue.slice(0, this.limits.uploads)) {
      if (this.writing.size >= this.limits.uploads || this.failure) return;
      if (s.started) continue;
      s.started = true;
      const w: Promise<void> = this.write(s).finally(() => {
        this.writing.delete(w);
        this.startWrites();
      });
      this.writing.add(w);
    }
  }

  /** Writes one segment, retrying until the bucket holds it (or another writer's segment is there). */
  private async write(s: Pending): Promise<void> {
    let delay = 200;
    while (!this.failure) {
      try {
        await putSegment(this.at, s.key, s.body!, s.sha256);
        break;
      } catch (err) {
        if (err instanceof SegmentConflictError) {
          this.failure = err;
          return;
        }
        log.warn("writing a segment failed; retrying", { key: s.key, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
    if (this.failure) return;
    s.written = true;
    s.body = undefined;
    this.queuedBytes -= s.size;
    if (this.queuedBytes <= this.limits.maxBuffered / 2) this.pause(false);
    // Durable: the written segments at the head of the chain, none after a hole.
    while (this.queue[0]?.written) {
      const d = this.queue.shift()!;
      this.durablePos = d.end;
      this.onDurable({ key: d.key, header: d.header, durableAt: Date.now() });
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
    while (this.writing.size > 0) await Promise.all([...this.writing]);
    if (this.failure) throw this.failure;
    return this.durable;
  }
}
