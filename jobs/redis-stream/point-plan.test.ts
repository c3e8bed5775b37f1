// Where a backup inside a chain stands in the segment that holds the byte after it: at a mark, under
// the segment's replication id, with the database the stream had selected there (the header's, then
// every SELECT up to the offset), whatever pieces the segment arrived in.
import { standing } from "./point-plan";
import { encodeCommand } from "./resp";
import { decodeSegmentPieces, encodeSegment, Marks, type SegmentHeader } from "./segment";

const REPLID = "c".repeat(40);
const commands = [
  encodeCommand("SET", "a", "1"),
  encodeCommand("SELECT", "5"),
  encodeCommand("SET", "b", "2"),
  encodeCommand("PING"),
  encodeCommand("SELECT", "12"),
  encodeCommand("SET", "c", "3"),
];
const payload = Buffer.concat(commands);
/** The end of each command, relative to the segment's start. */
const ends = commands.map((_, i) => commands.slice(0, i + 1).reduce((n, c) => n + c.length, 0));

/** The segment at offset 1000, as a download's chunks of `chunk` bytes. */
function segmentIn(chunk: number, db = 2) {
  const header: SegmentHeader = {
    chain: 1,
    replid: REPLID,
    start: 1000,
    end: 1000 + payload.length,
    firstAt: 1_700_000_000_000,
    lastAt: 1_700_000_000_050,
    prev: null,
    db,
    marks: Marks.of(ends.map((e, i) => [e, i * 10])),
  };
  const { body } = encodeSegment(header, payload);
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunk) pieces.push(body.subarray(i, i + chunk));
  return decodeSegmentPieces(pieces);
}

const anchor = (offset: number, replid = REPLID) => ({ base: {} as never, replid, offset });

describe("a backup's standing in a segment", () => {
  it("is the mark at its offset, with the database selected there", () => {
    for (const chunk of [7, 64, 10_000]) {
      const seg = segmentIn(chunk);
      expect(standing(seg, anchor(1000 + ends[0]))).toEqual({ at: 1_700_000_000_000, db: 2 });
      expect(standing(seg, anchor(1000 + ends[2]))).toEqual({ at: 1_700_000_000_020, db: 5 });
      expect(standing(seg, anchor(1000 + ends[3]))).toEqual({ at: 1_700_000_000_030, db: 5 });
      expect(standing(seg, anchor(1000 + ends[5]))).toEqual({ at: 1_700_000_000_050, db: 12 });
    }
  });

  it("keeps the header's unknown database (-1) until a SELECT says it", () => {
    const seg = segmentIn(64, -1);
    expect(standing(seg, anchor(1000 + ends[0]))?.db).toBe(-1);
    expect(standing(seg, anchor(1000 + ends[1]))?.db).toBe(5);
  });

  it("is none under another replication id, between marks, at the segment's start or past its end", () => {
    const seg = segmentIn(64);
    expect(standing(seg, anchor(1000 + ends[2], "d".repeat(40)))).toBeUndefined();
    expect(standing(seg, anchor(1000 + ends[2] - 1))).toBeUndefined();
    expect(standing(seg, anchor(1000))).toBeUndefined();
    expect(standing(seg, anchor(1000 + payload.length + 1))).toBeUndefined();
  });
});
