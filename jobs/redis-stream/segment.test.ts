// The segment format and the chain: a segment decodes to what was encoded; one flipped byte anywhere,
// a missing segment or one out of order is found; keys sort by offset; the cut points of a header.
import {
  bytesOf,
  checkChain,
  decodeSegment,
  decodeSegmentPieces,
  encodeSegment,
  lastMark,
  markAt,
  Marks,
  parseSegmentKey,
  segmentKey,
  SegmentError,
  type SegmentHeader,
} from "./segment";
import { createHash } from "crypto";
import { encodeCommand, RespReader } from "./resp";

const REPLID = "a".repeat(40);

function segment(start: number, payload: Buffer, prev: string | null) {
  const header: SegmentHeader = {
    chain: 1,
    replid: REPLID,
    start,
    end: start + payload.length,
    firstAt: 1_700_000_000_000,
    lastAt: 1_700_000_000_900,
    prev,
    db: 0,
    marks: Marks.of([[payload.length, 900]]),
  };
  return { header, ...encodeSegment(header, payload) };
}

/** The header of a segment at offset 100 of `length` bytes with the given marks (offset, ms after firstAt). */
function headerAt100(length: number, marks: [number, number][]): SegmentHeader {
  return { ...segment(100, Buffer.alloc(length), null).header, marks: Marks.of(marks) };
}

describe("a segment", () => {
  const payload = encodeCommand("SET", "k", "v");

  it("decodes to its header and payload, with its hash", () => {
    const s = segment(100, payload, null);
    const d = decodeSegment(s.body);
    expect(d.header).toEqual(s.header);
    expect(d.payload.equals(payload)).toBe(true);
    expect(d.sha256).toBe(s.sha256);
  });

  it("reads its marks as written, and is refused when they are unreadable", () => {
    const s = segment(100, payload, null);
    s.header.marks = Marks.of([
      [3, -2],
      [payload.length, 900],
    ]);
    const d = decodeSegment(encodeSegment(s.header, payload).body);
    expect([0, 1].map((i) => [d.header.marks.offset(i), d.header.marks.at(i)])).toEqual([
      [3, -2],
      [payload.length, 900],
    ]);
    expect(d.header.marks.count).toBe(2);
    expect(JSON.parse(JSON.stringify(d.header))).toEqual(JSON.parse(JSON.stringify(s.header)));
    // Marks that are not whole, not base64, not rising or beyond the payload, hashed as the stream
    // would have hashed them: refused.
    const packed = (pairs: [number, number][]) => Marks.of(pairs).toJSON();
    for (const marks of [
      packed([[3, 0]]).slice(0, 8),
      "not base64!",
      7,
      packed([
        [5, 0],
        [5, 1],
      ]),
      packed([[0, 0]]),
      packed([[payload.length + 1, 0]]),
    ])
      expect(() => decodeSegment(encodeSegment({ ...s.header, marks } as never, payload).body)).toThrow(
        /unreadable marks/,
      );
  });

  it("of the first format (marks as JSON pairs) is still read, and refused when its marks are not pairs", () => {
    const v1 = (marks: unknown) => {
      const header = { ...segment(100, payload, null).header, marks };
      const rest = Buffer.concat([Buffer.from(JSON.stringify(header) + "\n"), payload]);
      const sha = createHash("sha256").update(rest).digest("hex");
      return Buffer.concat([Buffer.from(`HFSEG/1 ${sha}\n`), rest]);
    };
    const d = decodeSegment(v1([[payload.length, 900]]));
    expect([d.header.marks.count, d.header.marks.offset(0), d.header.marks.at(0)]).toEqual([
      1,
      payload.length,
      900,
    ]);
    expect(d.payload.equals(payload)).toBe(true);
    for (const marks of [[["3", 0]], [[3]], 7, { a: 1 }])
      expect(() => decodeSegment(v1(marks))).toThrow(SegmentError);
  });

  it("is refused when any one byte is flipped", () => {
    const s = segment(100, payload, null);
    for (let i = 0; i < s.body.length; i++) {
      const bad = Buffer.from(s.body);
      bad[i] ^= 0x01;
      expect(() => decodeSegment(bad)).toThrow(SegmentError);
    }
  });

  it("decodes the same from the chunks it arrived in, cut anywhere, and is refused the same when damaged", () => {
    const s = segment(100, Buffer.concat([payload, encodeCommand("SET", "k2", "v".repeat(200))]), null);
    const whole = decodeSegment(s.body);
    for (let i = 1; i < s.body.length; i += 3)
      for (const size of [1, 7, 64]) {
        const chunks = [s.body.subarray(0, i)];
        for (let j = i; j < s.body.length; j += size) chunks.push(s.body.subarray(j, j + size));
        const d = decodeSegmentPieces(chunks);
        expect(d.header).toEqual(whole.header);
        expect(d.sha256).toBe(whole.sha256);
        expect(Buffer.concat(d.payload).equals(whole.payload)).toBe(true);
        expect(Buffer.concat(bytesOf(d.payload, 5, 20)).equals(whole.payload.subarray(5, 20))).toBe(true);
      }
    for (const i of [0, 40, 80, s.body.length - 1]) {
      const bad = Buffer.from(s.body);
      bad[i] ^= 0x01;
      expect(() => decodeSegmentPieces([bad.subarray(0, 50), bad.subarray(50)])).toThrow(SegmentError);
    }
  });

  it("cannot be encoded with a payload that does not fit its offsets", () => {
    expect(() => encodeSegment({ ...segment(0, payload, null).header, end: 3 }, payload)).toThrow();
  });
});

describe("keys", () => {
  it("sort by offset and read back", () => {
    const keys = [9, 10, 1_000_000_000_000, 0].map((o) => segmentKey("p/redis/", 2, o));
    expect([...keys].sort()).toEqual([0, 9, 10, 1_000_000_000_000].map((o) => segmentKey("p/redis/", 2, o)));
    expect(parseSegmentKey("p/redis/", keys[2])).toEqual({ chain: 2, start: 1_000_000_000_000 });
    expect(parseSegmentKey("p/redis/", "p/redis/stream/000002/chain.json")).toBeUndefined();
  });
});

describe("a chain", () => {
  const a = segment(100, Buffer.from("*1\r\n$4\r\nPING\r\n"), null);
  const b = segment(a.header.end, encodeCommand("SET", "x", "1"), a.sha256);
  const c = segment(b.header.end, encodeCommand("DEL", "x"), b.sha256);

  it("holds when offsets follow and each names the hash of the one before", () => {
    expect(checkChain(100, [a, b, c])).toBeUndefined();
  });

  it("breaks at a missing segment", () => {
    expect(checkChain(100, [a, c])).toEqual({
      at: c.header.start,
      problem: `the stream from offset ${b.header.start} to ${c.header.start} is missing`,
    });
  });

  it("breaks at a segment that does not name its predecessor", () => {
    const forged = segment(b.header.end, encodeCommand("DEL", "x"), "f".repeat(64));
    expect(checkChain(100, [a, b, forged])?.problem).toMatch(/does not follow/);
  });

  it("breaks when it does not start at the base's offset", () => {
    expect(checkChain(90, [a, b])?.problem).toMatch(/from offset 90 to 100 is missing/);
  });

  it("checked from inside (a backup's offset), holds with the first segment's own prev, and still breaks after it", () => {
    expect(checkChain(b.header.start, [b, c], b.header.prev)).toBeUndefined();
    expect(checkChain(b.header.start, [b, c])?.problem).toMatch(/does not follow/);
    const forged = segment(b.header.end, encodeCommand("DEL", "x"), "f".repeat(64));
    expect(checkChain(b.header.start, [b, forged], b.header.prev)?.problem).toMatch(/does not follow/);
  });
});

describe("cut points", () => {
  it("are the last mark the limit accepts", () => {
    const h = headerAt100(30, [
      [10, 0],
      [20, 500],
      [30, 900],
    ]);
    expect(lastMark(h, (_o, at) => at <= h.firstAt + 600)).toEqual({ offset: 120, at: h.firstAt + 500 });
    expect(lastMark(h, (o) => o <= 129)).toEqual({ offset: 120, at: h.firstAt + 500 });
    expect(lastMark(h, (o) => o <= 105)).toBeUndefined();
    expect(lastMark(h, (o) => o <= 130)).toEqual({ offset: 130, at: h.firstAt + 900 });
  });

  it("stop at the first mark refused even when a later one arrived earlier (a clock set back)", () => {
    const h = headerAt100(30, [
      [10, 0],
      [20, 900],
      [30, 500],
    ]);
    expect(lastMark(h, (_o, at) => at <= h.firstAt + 600)).toEqual({ offset: 110, at: h.firstAt });
    expect(lastMark(h, (_o, at) => at <= h.firstAt + 900)).toEqual({ offset: 130, at: h.firstAt + 500 });
  });
});

describe("the mark at an offset", () => {
  const h = headerAt100(40, [
    [10, 0],
    [20, 500],
    [25, 600],
    [40, 900],
  ]);

  it("is found exactly, with when it arrived", () => {
    expect(markAt(h, 110)).toEqual({ offset: 110, at: h.firstAt });
    expect(markAt(h, 125)).toEqual({ offset: 125, at: h.firstAt + 600 });
    expect(markAt(h, 140)).toEqual({ offset: 140, at: h.firstAt + 900 });
  });

  it("is none between marks, at the segment's start or past its end", () => {
    for (const offset of [100, 111, 124, 139, 141]) expect(markAt(h, offset)).toBeUndefined();
  });
});

describe("the RESP reader", () => {
  it("finds command ends across pieces, SELECT and transactions", () => {
    const stream = Buffer.concat([
      encodeCommand("SELECT", "3"),
      encodeCommand("MULTI"),
      encodeCommand("SET", "a", "x".repeat(100)),
      encodeCommand("EXEC"),
      encodeCommand("PING"),
    ]);
    const r = new RespReader();
    const ends = [];
    for (let i = 0; i < stream.length; i += 7) ends.push(...r.feed(stream.subarray(i, i + 7)));
    expect(ends.map((e) => [e.name, e.safe])).toEqual([
      ["SELECT", true],
      ["MULTI", false],
      ["SET", false],
      ["EXEC", true],
      ["PING", true],
    ]);
    expect(ends[4].end).toBe(stream.length);
    expect(r.state).toEqual({ db: 3, inMulti: false });
    expect(r.partial).toBe(0);
  });

  it("refuses bytes that are not RESP", () => {
    expect(() => new RespReader().feed(Buffer.from("*2\r\n:1\r\n"))).toThrow(/bulk string/);
  });
});
