// The RESP reader's counting fast path reads the stream exactly as `feed` does: the same commands, the
// same database and transaction state, the same partial bytes, the same refusals, in any pieces.
import { encodeCommand, RespError, RespReader } from "./resp";

const stream = Buffer.concat([
  encodeCommand("select", "3"),
  encodeCommand("SET", "k*1", "v\r\n$5\r\n"),
  Buffer.from("\n"),
  Buffer.from("PING\r\n"),
  encodeCommand("Multi"),
  encodeCommand("INCR", "a"),
  encodeCommand("exec"),
  encodeCommand("SELECT", "12"),
  encodeCommand("MULTI"),
  encodeCommand("DEL", "x"),
  encodeCommand("DISCARD"),
  encodeCommand("SET", "b", Buffer.alloc(300, 0x2a).toString("latin1")),
  // Longer than the first join of a command split between pieces (4 KiB): joined further.
  encodeCommand("SET", "big", "x".repeat(20_000)),
  encodeCommand("MULTI"),
  encodeCommand("SET", "c", "1"),
]);

/** What a reader says after `pieces`, by feed or by count. */
function read(pieces: Buffer[], how: "feed" | "count") {
  const r = new RespReader();
  let commands = 0;
  for (const p of pieces) commands += how === "feed" ? r.feed(p).length : r.count(p);
  return { commands, state: r.state, partial: r.partial };
}

function cuts(b: Buffer, at: number[]): Buffer[] {
  const points = [0, ...at, b.length];
  return points.slice(1).map((end, i) => b.subarray(points[i], end));
}

describe("RespReader.count", () => {
  it("counts what feed reads, at every cut of the stream into two pieces and in three", () => {
    for (let i = 0; i <= stream.length; i++) {
      expect(read(cuts(stream, [i]), "count")).toEqual(read(cuts(stream, [i]), "feed"));
      const j = Math.min(stream.length, i + 7);
      expect(read(cuts(stream, [i, j]), "count")).toEqual(read(cuts(stream, [i, j]), "feed"));
    }
    expect(read([stream], "count")).toEqual({ commands: 15, state: { db: 12, inMulti: true }, partial: 0 });
  });

  it("keeps the bytes of a command not yet complete", () => {
    const cut = stream.length - 3;
    const r = read([stream.subarray(0, cut)], "count");
    expect(r.commands).toBe(14);
    expect(r.partial).toBe(cut - (stream.length - encodeCommand("SET", "c", "1").length));
  });

  it("refuses what feed refuses", () => {
    for (const bad of ["*x\r\n", "*2\r\n#3\r\nGET\r\n", "*1\r\n$-1\r\n", "*1\r\n$3x\r\nGET\r\n"]) {
      expect(() => new RespReader().feed(Buffer.from(bad))).toThrow(RespError);
      expect(() => new RespReader().count(Buffer.from(bad))).toThrow(RespError);
    }
  });
});
