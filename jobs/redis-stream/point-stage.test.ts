// The stream check of a point staged for the serving load, and the AOF folder it is placed as.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { aofManifestText, buildAofDir, DEFAULT_NAMES } from "../redis-backup/aof-layout";
import { StreamCheck, StreamCutError } from "./point-stage";
import { encodeCommand } from "./resp";

const stream = Buffer.concat([
  encodeCommand("SELECT", "0"),
  encodeCommand("SET", "a", "1"),
  encodeCommand("PING"),
  encodeCommand("REPLCONF", "GETACK", "*"),
  encodeCommand("MULTI"),
  encodeCommand("INCR", "a"),
  encodeCommand("EXEC"),
]);

function checked(bytes: Buffer, pieces = 3): { commands: number } {
  const c = new StreamCheck();
  const step = Math.ceil(bytes.length / pieces);
  for (let i = 0; i < bytes.length; i += step) c.write(bytes.subarray(i, i + step));
  return c.finish(bytes.length);
}

describe("StreamCheck", () => {
  it("passes whole commands ending at the cut, in any pieces", () => {
    expect(checked(stream, 1).commands).toBe(7);
    expect(checked(stream, 7)).toEqual(checked(stream, 1));
  });

  it("refuses a cut inside a command", () => {
    expect(() => checked(stream.subarray(0, stream.length - 3))).toThrow(/not a whole command/);
  });

  it("refuses a cut inside MULTI ... EXEC", () => {
    const open = stream.subarray(0, stream.length - encodeCommand("EXEC").length);
    expect(() => checked(open)).toThrow(/inside MULTI/);
  });

  it("refuses bytes that are not RESP, and a size other than the plan's", () => {
    expect(() => checked(Buffer.from("*2\r\n$3\r\nGET\r\n#1\r\nx\r\n"))).toThrow(StreamCutError);
    const c = new StreamCheck();
    c.write(stream);
    expect(() => c.finish(stream.length + 1)).toThrow(/not the plan's/);
  });
});

describe("the AOF folder of a point", () => {
  it("holds the base, the stream as the first incremental file and an empty second one, in its manifest", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-point-aof-"));
    try {
      fs.writeFileSync(path.join(dir, "base.rdb"), "REDIS0011");
      fs.writeFileSync(path.join(dir, "stream.aof"), stream);
      const built = buildAofDir(
        path.join(dir, "place"),
        path.join(dir, "base.rdb"),
        DEFAULT_NAMES,
        path.join(dir, "stream.aof"),
      );
      expect(fs.readdirSync(built).sort()).toEqual([
        "appendonly.aof.1.base.rdb",
        "appendonly.aof.1.incr.aof",
        "appendonly.aof.2.incr.aof",
        "appendonly.aof.manifest",
      ]);
      expect(fs.readFileSync(path.join(built, "appendonly.aof.manifest"), "utf8")).toBe(
        "file appendonly.aof.1.base.rdb seq 1 type b\n" +
          "file appendonly.aof.1.incr.aof seq 1 type i\n" +
          "file appendonly.aof.2.incr.aof seq 2 type i\n",
      );
      expect(aofManifestText(DEFAULT_NAMES, true)).toMatch(/seq 2 type i\n$/);
      expect(fs.readFileSync(path.join(built, "appendonly.aof.1.incr.aof"))).toEqual(stream);
      expect(fs.statSync(path.join(built, "appendonly.aof.2.incr.aof")).size).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
