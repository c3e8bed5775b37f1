// Reading a chain's segments ahead of the one being checked: a restore takes them strictly in order,
// but the bucket answers several GETs at once, so while segment i is checked and written, up to
// `MAX_AHEAD` segments (and at most `MAX_AHEAD_BYTES` of them, by the sizes the listing gave) after it
// are already on their way. One segment is always fetched, however large: the bound never stalls the
// plan. A fetch that fails is reported when its segment is taken, not before (and never unhandled).
import type { StoreLocation } from "../store/catalog";
import { readSegmentPieces } from "./chain-store";
import type { SegmentPieces } from "./segment";

/** Segments fetched at most ahead of the one taken (with it: the GETs in flight at once). */
export const MAX_AHEAD = 4;
/** Bytes of segments held at most ahead of the one taken (a chain's segments are up to 8 MiB each). */
export const MAX_AHEAD_BYTES = 48 * 1024 * 1024;

/** A chain's segments, read in order with a bounded window of reads ahead. */
export class FetchAhead {
  private readonly pending = new Map<number, Promise<SegmentPieces>>();
  private next = 0;

  constructor(
    private readonly at: StoreLocation,
    private readonly segments: { key: string; size: number }[],
  ) {}

  /** Bytes of the segments fetched and not yet taken. */
  private held(): number {
    let n = 0;
    for (const i of this.pending.keys()) n += this.segments[i].size;
    return n;
  }

  /** Starts the reads the window allows after `from` (always `from` itself). */
  private fill(from: number): void {
    if (this.next < from) this.next = from;
    while (this.next < this.segments.length && this.next < from + MAX_AHEAD) {
      const size = this.segments[this.next].size;
      if (this.pending.size > 0 && this.held() + size > MAX_AHEAD_BYTES) break;
      const f = readSegmentPieces(this.at, this.segments[this.next].key);
      // Awaited when taken; this keeps a failure of a read never taken from being unhandled.
      f.catch(() => undefined);
      this.pending.set(this.next++, f);
    }
  }

  /**
   * Segment `i` (taken in order: 0, 1, 2, ...), read and checked, its payload in the chunks it arrived
   * in (readSegmentPieces).
   * @throws SegmentError when it is damaged or not where its key says.
   */
  async take(i: number): Promise<SegmentPieces> {
    this.fill(i);
    const f = this.pending.get(i)!;
    this.pending.delete(i);
    try {
      return await f;
    } finally {
      this.fill(i + 1);
    }
  }
}
