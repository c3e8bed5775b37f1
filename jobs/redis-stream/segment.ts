// One segment of the replication stream as it is stored: the bytes a primary sent its replicas between
// two replication offsets, with what a restore needs to trust and cut them. An object is
//
//   HFSEG/2 <sha256 of everything after this line>\n
//   <header, one line of JSON>\n
//   <payload: the stream's bytes from offset `start` (exclusive) to `end` (inclusive)>
//
// The first line's hash is the segment's hash; the next segment's header names it as `prev`, so a
// missing, replaced or altered segment breaks the chain. Segments of one chain sit under
// `<prefix>/redis/stream/<chain>/<start offset>.seg` (both zero-padded, so the keys sort by offset) and
// are written create-only: one segment per offset, never replaced.
//
// The header's marks (one per command: tens of thousands in a busy second) are packed into one base64
// string (HFSEG/2): parsed as JSON arrays (HFSEG/1, still read) they cost a restore more than the
// segment's SHA-256. A restore takes most segments whole, by their furthest and latest marks, and reads
// the marks one by one only of the segment it cuts.
import { createHash } from "crypto";

/** The format tag of the first line of the segments written. */
export const SEGMENT_FORMAT = "HFSEG/2";
/** The format of the first segments: marks as a JSON array of pairs (read, no longer written). */
export const SEGMENT_FORMAT_V1 = "HFSEG/1";

/**
 * A segment's safe points, in offset order: for each, the end of a command relative to the segment's
 * `start` and when its last byte arrived relative to `firstAt` (ms). Held packed, 8 bytes a mark
 * (the offset as an unsigned and the time as a signed 32-bit little-endian number); written into the
 * header as base64.
 */
export class Marks {
  /** The largest offset and the latest time among the marks (-1 and -Infinity for none). */
  readonly furthest: number = -1;
  readonly latest: number = -Infinity;
  /** Whether the offsets rise from one mark to the next, all above 0. */
  private readonly rising: boolean = true;

  private constructor(private readonly packed: Buffer) {
    let before = 0;
    for (let i = 0; i < this.count; i++) {
      const o = this.offset(i);
      const at = this.at(i);
      if (o <= before) this.rising = false;
      if (o > this.furthest) this.furthest = o;
      if (at > this.latest) this.latest = at;
      before = o;
    }
  }

  /** Packs `[offset - start, ms - firstAt]` pairs. @throws RangeError for values out of 32 bits */
  static of(pairs: readonly (readonly [number, number])[]): Marks {
    const packed = Buffer.alloc(pairs.length * 8);
    for (let i = 0; i < pairs.length; i++) {
      packed.writeUInt32LE(pairs[i][0], i * 8);
      packed.writeInt32LE(pairs[i][1], i * 8 + 4);
    }
    return new Marks(packed);
  }

  /**
   * Reads the header's base64 back, checked: whole marks, offsets rising within the payload.
   * @throws SegmentError
   */
  static decode(text: unknown, length: number, key: string): Marks {
    const bad = (why: string) => new SegmentError(`${key} has unreadable marks in its header: ${why}`);
    if (typeof text !== "string" || text.length % 4 !== 0) throw bad("not base64");
    const packed = Buffer.from(text, "base64");
    // The decoder skips what is not base64: then fewer bytes come out than the length says.
    const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
    if (packed.length !== (text.length / 4) * 3 - padding) throw bad("not base64");
    if (packed.length % 8 !== 0) throw bad(`${packed.length} bytes is not a whole number of marks`);
    const marks = new Marks(packed);
    if (!marks.rising || marks.furthest > length)
      throw bad(`their offsets do not rise from 1 to at most the payload's ${length} bytes`);
    return marks;
  }

  /** How many there are. */
  get count(): number {
    return this.packed.length / 8;
  }

  /** Mark `i`'s end of command, relative to the segment's start. */
  offset(i: number): number {
    return this.packed.readUInt32LE(i * 8);
  }

  /** When mark `i`'s last byte arrived, relative to the segment's firstAt (ms). */
  at(i: number): number {
    return this.packed.readInt32LE(i * 8 + 4);
  }

  /** The header's form: base64. */
  toJSON(): string {
    return this.packed.toString("base64");
  }
}

/** What a segment's header records. */
export interface SegmentHeader {
  /** The chain (a run of the stream without a gap) the segment belongs to. */
  chain: number;
  /** The replication id the bytes were sent under. */
  replid: string;
  /** Replication offset before the first byte (the previous segment's `end`, or the chain's base). */
  start: number;
  /** Replication offset after the last byte. */
  end: number;
  /** When the first and last bytes were received (ms since the epoch). */
  firstAt: number;
  lastAt: number;
  /** The hash of the previous segment of the chain; null for the chain's first. */
  prev: string | null;
  /** The database selected at `start` (-1: not known, the stream has not said). */
  db: number;
  /** The points a replay may stop at (a command ended, no transaction open) and when they arrived. */
  marks: Marks;
}

/** A decoded segment. */
export interface Segment {
  header: SegmentHeader;
  payload: Buffer;
  /** The segment's hash (the first line's). */
  sha256: string;
}

/** A segment that cannot be trusted. */
export class SegmentError extends Error {}

/** Encodes a segment; resolves to the object's bytes and its hash. */
export function encodeSegment(header: SegmentHeader, payload: Buffer): { body: Buffer; sha256: string } {
  return encodeSegmentParts(header, [payload]);
}

/**
 * Encodes a segment whose payload is `parts` one after the other, copying them once, into the object
 * (the stream's pieces go straight into the body: no joined payload is made first).
 */
export function encodeSegmentParts(header: SegmentHeader, parts: Buffer[]): { body: Buffer; sha256: string } {
  const length = parts.reduce((n, p) => n + p.length, 0);
  if (length !== header.end - header.start)
    throw new Error(`payload of ${length} bytes for offsets ${header.start}..${header.end}`);
  const headerLine = Buffer.from(JSON.stringify(header) + "\n");
  const hash = createHash("sha256").update(headerLine);
  for (const p of parts) hash.update(p);
  const sha256 = hash.digest("hex");
  const first = Buffer.from(`${SEGMENT_FORMAT} ${sha256}\n`);
  return {
    body: Buffer.concat([first, headerLine, ...parts], first.length + headerLine.length + length),
    sha256,
  };
}

/**
 * Decodes and checks a segment object.
 * @throws SegmentError when its hash, header or size is not right.
 */
export function decodeSegment(body: Buffer, key = "the segment"): Segment {
  const s = decodeSegmentPieces([body], key);
  return { ...s, payload: s.payload.length === 1 ? s.payload[0] : Buffer.concat(s.payload) };
}

/** A decoded segment whose payload is left in the pieces the object arrived in (views, no copy). */
export interface SegmentPieces {
  header: SegmentHeader;
  payload: Buffer[];
  sha256: string;
}

/** Views of bytes `from` to `to` of `pieces` taken as one run of bytes. */
export function bytesOf(pieces: Buffer[], from: number, to = Infinity): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const p of pieces) {
    const start = Math.max(from - at, 0);
    const end = Math.min(to - at, p.length);
    if (end > start) out.push(p.subarray(start, end));
    at += p.length;
    if (at >= to) break;
  }
  return out;
}

/** Where the first newline at or after `from` is in `pieces` taken as one run of bytes; -1: none. */
function newlineIn(pieces: Buffer[], from: number): number {
  let at = 0;
  for (const p of pieces) {
    if (at + p.length > from) {
      const i = p.indexOf(0x0a, Math.max(from - at, 0));
      if (i >= 0) return at + i;
    }
    at += p.length;
  }
  return -1;
}

/**
 * Decodes and checks a segment object that arrived in `pieces` (as a download's chunks), without joining
 * them: only its first line and header are copied out.
 * @throws SegmentError when its hash, header or size is not right.
 */
export function decodeSegmentPieces(pieces: Buffer[], key = "the segment"): SegmentPieces {
  const nl = newlineIn(pieces, 0);
  const first = nl > 0 && nl < 80 ? Buffer.concat(bytesOf(pieces, 0, nl)).toString("latin1") : "";
  const m = /^HFSEG\/([12]) ([0-9a-f]{64})$/.exec(first);
  if (!m)
    throw new SegmentError(`${key} does not start with a ${SEGMENT_FORMAT} (or ${SEGMENT_FORMAT_V1}) line`);
  const hash = createHash("sha256");
  for (const p of bytesOf(pieces, nl + 1)) hash.update(p);
  const sha256 = hash.digest("hex");
  if (sha256 !== m[2]) throw new SegmentError(`${key} does not match its SHA-256 (altered or damaged)`);
  const hl = newlineIn(pieces, nl + 1);
  let header: SegmentHeader;
  try {
    if (hl < 0) throw new Error("no end of header");
    header = parseHeader(Buffer.concat(bytesOf(pieces, nl + 1, hl)).toString("utf8"), m[1] === "1", key);
  } catch (err) {
    if (err instanceof SegmentError) throw err;
    throw new SegmentError(`${key} has an unreadable header`);
  }
  const payload = bytesOf(pieces, hl + 1);
  const length = payload.reduce((n, p) => n + p.length, 0);
  if (length !== header.end - header.start)
    throw new SegmentError(`${key} holds ${length} bytes for offsets ${header.start}..${header.end}`);
  return { header, payload, sha256 };
}

/**
 * Parses a header line and checks its marks (a cut reads them): base64 (HFSEG/2) or, from the first
 * format (`v1`), an array of pairs of numbers.
 * @throws SyntaxError for a line that is not JSON, SegmentError for marks that are not readable
 */
function parseHeader(text: string, v1: boolean, key: string): SegmentHeader {
  const header = JSON.parse(text) as Omit<SegmentHeader, "marks"> & { marks: unknown };
  const marks = v1
    ? Marks.of(pairsOf(header.marks, key))
    : Marks.decode(header.marks, header.end - header.start, key);
  return { ...header, marks };
}

/** The first format's marks when they are an array of pairs of numbers. @throws SegmentError */
function pairsOf(marks: unknown, key: string): [number, number][] {
  const pairs =
    Array.isArray(marks) &&
    marks.every((m) => Array.isArray(m) && Number.isFinite(m[0]) && Number.isFinite(m[1]));
  if (!pairs) throw new SegmentError(`${key} has unreadable marks in its header`);
  return marks as [number, number][];
}

/** The folder of the stream under a Redis layout prefix (`<prefix>/redis/`). */
export function streamPrefix(redisPrefix: string): string {
  return `${redisPrefix}stream/`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** The folder of chain `chain`. */
export function chainPrefix(redisPrefix: string, chain: number): string {
  return `${streamPrefix(redisPrefix)}${pad(chain, 6)}/`;
}

/** The key of the segment of `chain` starting at offset `start`. */
export function segmentKey(redisPrefix: string, chain: number, start: number): string {
  return `${chainPrefix(redisPrefix, chain)}${pad(start, 20)}.seg`;
}

/** The key of a chain's record (written once, when the chain begins). */
export function chainRecordKey(redisPrefix: string, chain: number): string {
  return `${chainPrefix(redisPrefix, chain)}chain.json`;
}

/** Reads a segment key back: its chain and start offset; undefined for other keys. */
export function parseSegmentKey(
  redisPrefix: string,
  key: string,
): { chain: number; start: number } | undefined {
  const rest = key.startsWith(streamPrefix(redisPrefix)) ? key.slice(streamPrefix(redisPrefix).length) : "";
  const m = /^(\d{6})\/(\d{20})\.seg$/.exec(rest);
  return m ? { chain: Number(m[1]), start: Number(m[2]) } : undefined;
}

/** Why a chain began. */
export type ChainCause = "first" | "full-resync";

/** The record of a chain: where it starts and which base anchors it. */
export interface ChainRecord {
  format: "holdfast.redis-stream-chain/1";
  chain: number;
  /** Replication id and offset the chain starts at. */
  replid: string;
  offset: number;
  /** The backup whose snapshot stands at `offset` (taken by the stream at a full resync), if any. */
  base?: string;
  /** When the chain began (ISO time). */
  startedAt: string;
  cause: ChainCause;
}

/** A break in a chain found by `checkChain`. */
export interface ChainBreak {
  /** The segment (its start offset) where the chain breaks. */
  at: number;
  problem: string;
}

/**
 * Checks that headers follow each other: offsets contiguous from `offset`, each `prev` the hash of the
 * one before. `segments` are in offset order. Returns the first break, or undefined.
 * @param first the `prev` the first segment must have: null (the default) for a chain's first segment;
 *   a check that starts inside a chain passes the first segment's own.
 */
export function checkChain(
  offset: number,
  segments: { header: SegmentHeader; sha256: string }[],
  first: string | null = null,
): ChainBreak | undefined {
  let end = offset;
  let prev = first;
  for (const s of segments) {
    const h = s.header;
    if (h.start !== end)
      return {
        at: h.start,
        problem:
          h.start > end
            ? `the stream from offset ${end} to ${h.start} is missing`
            : `a segment starts at offset ${h.start}, inside the one before (ends at ${end})`,
      };
    if (h.prev !== prev)
      return {
        at: h.start,
        problem: `the segment at offset ${h.start} does not follow the one before (hash)`,
      };
    end = h.end;
    prev = s.sha256;
  }
  return undefined;
}

/**
 * The mark of a segment that ends exactly at replication offset `offset` (a safe point: a command ended
 * there, no transaction open), with when its last byte arrived; undefined when no mark ends there.
 */
export function markAt(header: SegmentHeader, offset: number): { offset: number; at: number } | undefined {
  const marks = header.marks;
  const want = offset - header.start;
  let lo = 0;
  let hi = marks.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const o = marks.offset(mid);
    if (o === want) return { offset, at: header.firstAt + marks.at(mid) };
    if (o < want) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/**
 * The last safe cut of a segment that `accept` takes, stopping at the first mark it refuses: offset and
 * arrival, or undefined. `accept` must take every point below one it takes (a limit on the offset, or
 * on the time): then a segment whose furthest offset and latest time it takes is taken whole without
 * reading its marks one by one.
 */
export function lastMark(
  header: SegmentHeader,
  accept: (offset: number, at: number) => boolean,
): { offset: number; at: number } | undefined {
  // One mark per command or so: no object per mark, only for the one found.
  const marks = header.marks;
  const point = (i: number) => ({ offset: header.start + marks.offset(i), at: header.firstAt + marks.at(i) });
  if (marks.count > 0 && accept(header.start + marks.furthest, header.firstAt + marks.latest))
    return point(marks.count - 1);
  let found = -1;
  for (let i = 0; i < marks.count; i++) {
    if (!accept(header.start + marks.offset(i), header.firstAt + marks.at(i))) break;
    found = i;
  }
  return found < 0 ? undefined : point(found);
}
