// The streaming RDB scanner and Redis's CRC-64, against RDBs redis-server 7.0 writes (every type and
// encoding, LFU/LRU metadata, large values with and without LZF) and against hand-built RDBs of the
// encodings 7.0 only reads (checked with redis-check-rdb), module values and Redis 7.2's types; and
// the glob matcher against SCAN MATCH on a live server.
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DATASET_DBS, DATASET_PATTERNS, fillEveryType, liveCounts } from "../../../harness/redis-dataset";
import {
  intset,
  intStr,
  len,
  len64,
  lzfRepeat,
  RdbWriter,
  str,
  ziplist,
  zipmap,
} from "../../../test/backup/rdb-writer";
import { StandaloneRedis } from "../../../harness/standalone-redis";
import { testEngine } from "../../../harness/engine";
import { Crc64, crc64, storedCrcHex } from "./crc64";
import { globMatch, keyMatcher } from "./glob";
import { RdbCheck, RdbChecksumError } from "./check";
import { RdbFormatError, RdbScanner, type RdbSummary } from "./scanner";

jest.setTimeout(120_000);

function scan(data: Buffer, chunk = data.length, patterns = DATASET_PATTERNS): RdbSummary {
  const s = new RdbScanner({ patterns });
  for (let i = 0; i < data.length; i += chunk) s.write(data.subarray(i, i + chunk));
  return s.end();
}

function scanRandomChunks(data: Buffer, max: number, patterns = DATASET_PATTERNS): RdbSummary {
  const s = new RdbScanner({ patterns });
  let i = 0;
  while (i < data.length) {
    const n = 1 + Math.floor(Math.random() * max);
    s.write(data.subarray(i, i + n));
    i += n;
  }
  return s.end();
}

function checkRdb(file: string): { ok: boolean; keys: number; expires: number; out: string } {
  const r = spawnSync("redis-check-rdb", [file], { encoding: "utf8" });
  const out = r.stdout + r.stderr;
  return {
    ok: /RDB looks OK/.test(out),
    keys: Number(/(\d+) keys read/.exec(out)?.[1] ?? -1),
    expires: Number(/(\d+) expires/.exec(out)?.[1] ?? -1),
    out,
  };
}

describe("crc64", () => {
  it("is Redis's CRC-64 (Jones, reflected): the check value of 123456789", () => {
    expect(crc64(Buffer.from("123456789"))).toBe("e9c6d914c4b8d9ca");
    expect(crc64(Buffer.alloc(0))).toBe("0000000000000000");
  });

  it("gives the same result in pieces of any size and alignment as in one go", () => {
    const data = randomBytes(100_003);
    const whole = crc64(data);
    for (const piece of [1, 3, 7, 16, 17, 4096, 65_537]) {
      const c = new Crc64();
      for (let i = 0; i < data.length; i += piece) c.update(data.subarray(i, i + piece));
      expect(c.hex()).toBe(whole);
    }
    // Views starting at every offset inside a word.
    for (let off = 0; off < 8; off++)
      expect(crc64(Buffer.from(data.subarray(off)))).toBe(crc64(data.subarray(off)));
  });

  it("round-trips through the trailer form Redis stores", () => {
    const c = new Crc64().update(Buffer.from("holdfast"));
    expect(storedCrcHex(c.bytes())).toBe(c.hex());
  });
});

describe("globMatch", () => {
  let redis: StandaloneRedis;
  beforeAll(async () => {
    redis = await StandaloneRedis.start();
  });
  afterAll(() => redis.cleanup());

  it("matches exactly the keys SCAN MATCH returns, binary keys and odd patterns included", async () => {
    const c = redis.client();
    const keys: Buffer[] = [
      "hello",
      "hallo",
      "hxllo",
      "hllo",
      "h*",
      "a",
      "",
      "[",
      "a[",
      "]x",
      "kb1:emotives:x",
      "kb1:metadata:",
      ":emotives:",
      "x\\y",
      "abcabc",
      "\u00e9t\u00e9",
    ].map((k) => Buffer.from(k));
    keys.push(Buffer.from([0xff, 0x41]), Buffer.from([0x80]), Buffer.from([0, 1, 2]));
    for (const k of keys) await c.set(k, "1");
    const patterns = [
      "*",
      "**",
      "?",
      "?*",
      "h?llo",
      "h[ae]llo",
      "h[^e]llo",
      "h[a-b]llo",
      "h[b-a]llo",
      "h\\*",
      "h*",
      "[",
      "a[",
      "\\",
      "*[z-a]*",
      "[\\]]*",
      "*:emotives:*",
      "*:metadata:*",
      "*abc",
      "*\\\\*",
      "[\u0080-\u00ff]*",
      "[^a-z]*",
      "x\\y",
    ];
    for (const p of patterns) {
      const viaScan: string[] = [];
      let cursor = "0";
      do {
        const [next, found] = await c.scanBuffer(cursor, "MATCH", p, "COUNT", 1000);
        cursor = String(next);
        viaScan.push(...found.map((k) => k.toString("hex")));
      } while (cursor !== "0");
      const match = keyMatcher(p);
      const ours = keys.filter((k) => match(k)).map((k) => k.toString("hex"));
      expect({ pattern: p, keys: ours.sort() }).toEqual({ pattern: p, keys: viaScan.sort() });
    }
    expect(globMatch(Buffer.from("a*"), Buffer.from("abc"))).toBe(true);
  });
});

const engine = testEngine();

/** The RDB types each engine writes for fillEveryType's dataset (rdb.h): what the scanner must read. */
const WRITTEN_TYPES: Record<string, number[]> = {
  // string, set, hash (hashtable), zset 2, intset, hash and zset listpacks, quicklist 2, stream 2
  redis7: [0, 2, 4, 5, 11, 16, 17, 18, 19],
  // ... plus hashes with field TTLs (24 hashtable, 25 listpack-ex) and vector sets (7, module)
  redis8: [0, 2, 4, 5, 7, 11, 16, 17, 18, 20, 21, 24, 25],
  valkey8: [0, 2, 4, 5, 11, 16, 17, 18, 20, 21],
};

describe(`RdbScanner on RDBs written by ${engine.name} (${engine.writes.engine}, RDB ${engine.writes.rdbVersion})`, () => {
  let redis: StandaloneRedis;
  let rdb: Buffer;
  let rdbFile: string;

  beforeAll(async () => {
    redis = await StandaloneRedis.start(["stream-node-max-entries 100"]);
    await fillEveryType(redis.client());
    rdbFile = await redis.save("every-type.rdb");
    rdb = fs.readFileSync(rdbFile);
  });
  afterAll(() => redis.cleanup());

  it("counts keys, types, expires and patterns per database as the server does", async () => {
    const c = redis.client();
    const summary = scan(rdb);
    const live = await liveCounts(c, DATASET_PATTERNS);
    expect(Object.fromEntries(Object.entries(summary.databases).map(([db, d]) => [db, d.keys]))).toEqual(
      live.keys,
    );
    expect(Object.fromEntries(Object.entries(summary.databases).map(([db, d]) => [db, d.patterns]))).toEqual(
      live.patterns,
    );
    const keyspace = String(await c.info("keyspace"));
    for (const [db, d] of Object.entries(summary.databases))
      expect(d.expires).toBe(Number(new RegExp(`^db${db}:keys=\\d+,expires=(\\d+)`, "m").exec(keyspace)![1]));
    // Types, key by key.
    const types: Record<string, Record<string, number>> = {};
    for (const db of DATASET_DBS) {
      await c.select(db);
      for (const key of await c.keysBuffer("*")) {
        const t = await c.type(key);
        types[db] = { ...types[db], [t]: (types[db]?.[t] ?? 0) + 1 };
      }
    }
    await c.select(0);
    expect(Object.fromEntries(Object.entries(summary.databases).map(([db, d]) => [db, d.types]))).toEqual(
      types,
    );
    expect(summary.functions).toBe(1);
    expect(summary.aux[`${engine.writes.engine}-ver`]).toMatch(engine.writes.version);
    expect(summary.rdbVersion).toBe(engine.writes.rdbVersion);
    expect(summary.unread).toBeUndefined();
    expect(summary.emptyKeys).toBe(0);
    expect(summary.bytes).toBe(rdb.length);
  });

  it("reads every encoding the engine wrote for the dataset (hash field TTLs and vector sets where it has them)", () => {
    const s = new RdbScanner({ patterns: DATASET_PATTERNS });
    s.write(rdb);
    const summary = s.end();
    const written = Object.keys(s.stats.typeIds)
      .map(Number)
      .sort((a, b) => a - b);
    // Printed for the record of what each engine writes.
    process.stderr.write(`${engine.name} wrote RDB ${summary.rdbVersion} with types ${written.join(", ")}\n`);
    expect(written).toEqual([...WRITTEN_TYPES[engine.name]].sort((a, b) => a - b));
    if (written.includes(25)) {
      expect(summary.databases["0"].fieldExpires).toBe(3);
      expect(summary.modules).toEqual(["vectorset"]);
    }
  });

  it("gives the same summary whatever the chunk sizes", () => {
    const whole = scan(rdb);
    expect(scan(rdb, 1)).toEqual(whole);
    expect(scanRandomChunks(rdb, 13)).toEqual(whole);
    expect(scanRandomChunks(rdb, 70_000)).toEqual(whole);
  });

  it("agrees with redis-check-rdb, and the CRC-64 matches the trailer Redis wrote", () => {
    const check = new RdbCheck({ patterns: DATASET_PATTERNS });
    check.write(rdb);
    const result = check.finish();
    const tool = checkRdb(rdbFile);
    expect(tool.ok).toBe(true);
    expect(result.summary.keys).toBe(tool.keys);
    expect(Object.values(result.summary.databases).reduce((n, d) => n + d.expires, 0)).toBe(tool.expires);
    expect(result.crcPresent).toBe(true);
    expect(result.crc64).toBe(storedCrcHex(rdb.subarray(rdb.length - 8)));
    expect(crc64(rdb.subarray(0, rdb.length - 8))).toBe(result.crc64);
  });

  it("reads LFU frequencies and LRU idle times", async () => {
    const c = redis.client();
    for (const [policy, stat] of [
      ["allkeys-lfu", "freq"],
      ["allkeys-lru", "idle"],
    ] as const) {
      await c.config("SET", "maxmemory-policy", policy);
      const data = fs.readFileSync(await redis.save(`${policy}.rdb`));
      const s = new RdbScanner({ patterns: DATASET_PATTERNS });
      s.write(data);
      expect(s.end().keys).toBe(scan(rdb).keys);
      expect(s.stats[stat]).toBe(scan(rdb).keys);
    }
    await c.config("SET", "maxmemory-policy", "noeviction");
  });

  it("skips large values, LZF-compressed and incompressible, in a stream of 64 KiB chunks", async () => {
    const c = redis.client();
    await c.select(2);
    await c.set("big:compressible", "0123456789abcdef".repeat(400_000));
    await c.set("big:random", randomBytes(6_000_000));
    await c.hset("big:hash", { f: randomBytes(300_000), g: "x".repeat(300_000) });
    await c.set(Buffer.concat([Buffer.from("k:"), Buffer.alloc(5000, "y")]), "key name compressed by LZF");
    await c.select(0);
    const file = await redis.save("large.rdb");
    const data = fs.readFileSync(file);
    const s = new RdbScanner({ patterns: ["big:*", "k:*"] });
    for (let i = 0; i < data.length; i += 65_536) s.write(data.subarray(i, i + 65_536));
    const summary = s.end();
    expect(summary.databases["2"]).toMatchObject({ keys: 4, patterns: { "big:*": 3, "k:*": 1 } });
    expect(s.stats.lzfKeys).toBeGreaterThanOrEqual(2);
    expect(checkRdb(file)).toMatchObject({ ok: true, keys: summary.keys });
    await c.select(2);
    await c.flushdb();
    await c.select(0);
  });
});

describe("RdbScanner on hand-built RDBs", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-rdb-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads the encodings older Redis wrote, as redis-check-rdb 7.0 does", () => {
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const rdb = new RdbWriter(9)
      .aux("redis-ver", "5.0.14")
      .aux("redis-bits", intStr(64))
      .select(0)
      .resize(12, 2)
      .key(0, "plain", str("value"))
      .key(0, "int", intStr(-300))
      .key(0, "int32", intStr(70000))
      .key(0, "lzf", lzfRepeat("a", 100))
      .expireSeconds(inAnHour)
      .key(1, "linked:list", len(3), str("a"), str("b"), intStr(7))
      .key(2, "set:plain", len(2), str("x"), str("y"))
      .key(
        3,
        "zset:old",
        len(3),
        str("m1"),
        Buffer.from([3]),
        Buffer.from("1.5"),
        str("m2"),
        Buffer.from([254]),
        str("m3"),
        Buffer.from([255]),
      )
      .key(4, "hash:plain", len(2), str("f1"), str("v1"), str("f2"), str("v2"))
      .idle(50)
      .key(
        9,
        "hash:zipmap",
        str(
          zipmap([
            ["a", "1"],
            ["b", "2"],
          ]),
        ),
      )
      .key(10, "list:ziplist", str(ziplist(["a", 5, "c"])))
      .freq(5)
      .key(11, "set:intset", str(intset([3, 1, 2, -7])))
      .key(12, "zset:ziplist", str(ziplist(["m", 1, "n", 2])))
      .expireMs(Date.now() + 3_600_000)
      .key(13, "hash:ziplist", str(ziplist(["f", "v", "g", 9])))
      .key(14, "list:quicklist", len(2), str(ziplist(["a", "b"])), str(ziplist(["c"])))
      .select(3)
      .key(5, "zset:binary", len(1), str("m"), Buffer.alloc(8))
      .finish();
    const file = path.join(dir, "old.rdb");
    fs.writeFileSync(file, rdb);
    const tool = checkRdb(file);
    expect(tool).toMatchObject({ ok: true, keys: 15, expires: 2 });
    const check = new RdbCheck({ patterns: ["*:ziplist", "hash:*"] });
    for (let i = 0; i < rdb.length; i += 5) check.write(rdb.subarray(i, i + 5));
    const { summary } = check.finish();
    expect(summary.keys).toBe(tool.keys);
    expect(summary.databases["0"]).toEqual({
      keys: 14,
      expires: 2,
      types: { string: 4, list: 3, set: 2, zset: 2, hash: 3 },
      patterns: { "*:ziplist": 3, "hash:*": 3 },
    });
    expect(summary.databases["3"].keys).toBe(1);
    expect(summary.aux).toMatchObject({ "redis-ver": "5.0.14", "redis-bits": "64" });
  });

  it("skips module values and module aux data, and names their module types", () => {
    // A module type id: 9 name characters of 6 bits, then a 10-bit encoding version.
    const charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let id = 0n;
    for (const ch of "holdfastM") id = (id << 6n) | BigInt(charset.indexOf(ch));
    id = (id << 10n) | 3n;
    const moduleId = len64(Number(id >> 32n), Number(id & 0xffffffffn));
    const float = Buffer.alloc(4);
    const double = Buffer.alloc(8);
    const values = Buffer.concat([
      len(1),
      len(5), // signed int
      len(2),
      len(300), // unsigned int
      len(3),
      float,
      len(4),
      double,
      len(5),
      str("module string"),
      len(0), // EOF
    ]);
    const rdb = new RdbWriter(10)
      .raw(Buffer.from([0xf7]), moduleId, len(2), len(2), len(5), str("aux payload"), len(0))
      .select(0)
      .key(7, "mod:key", moduleId, values)
      .key(0, "after", str("the scanner kept its place"))
      .finish();
    const s = new RdbScanner({ patterns: ["mod:*"] });
    s.write(rdb);
    const summary = s.end();
    expect(summary.modules).toEqual(["holdfastM"]);
    expect(summary.databases["0"]).toMatchObject({
      keys: 2,
      types: { holdfastM: 1, string: 1 },
      patterns: { "mod:*": 1 },
    });
    expect(s.stats.moduleAux).toBe(1);
  });

  it("reads the types Redis 7.2 added (RDB 11): set listpacks and streams with consumer active times", () => {
    const id16 = Buffer.alloc(16, 1);
    const ms = Buffer.alloc(8, 2);
    const rdb = new RdbWriter(11)
      .select(0)
      .key(20, "set:listpack", str(Buffer.from("opaque listpack bytes")))
      .key(
        21,
        "stream:v3",
        len(1),
        str(id16),
        str(Buffer.from("listpack")),
        len(3),
        len(1),
        len(2),
        len(1),
        len(0),
        len(0),
        len(0),
        len(3), // length, ids, entries added
        len(1),
        str("group"),
        len(1),
        len(2),
        len(3), // group, last id, entries read
        len(1),
        id16,
        ms,
        len(1), // one pending entry
        len(1),
        str("consumer"),
        ms,
        ms,
        len(1),
        id16, // one consumer with seen and active times
      )
      .key(0, "after", str("x"))
      .finish();
    const s = new RdbScanner();
    for (let i = 0; i < rdb.length; i++) s.write(rdb.subarray(i, i + 1));
    expect(s.end().databases["0"]).toMatchObject({ keys: 3, types: { set: 1, stream: 1, string: 1 } });
  });

  it("refuses what it cannot read: other files, unknown types, truncation, trailing bytes", () => {
    const good = new RdbWriter(10).select(0).key(0, "k", str("v")).finish();
    const fails = (data: Buffer, message: RegExp) => {
      const s = new RdbScanner();
      expect(() => {
        s.write(data);
        s.end();
      }).toThrow(message);
    };
    fails(Buffer.from("NOTREDIS0010"), /not an RDB file/);
    fails(new RdbWriter(10).select(0).key(30, "k", str("v")).finish(), /unknown RDB type or opcode 30/);
    fails(new RdbWriter(10).select(0).key(6, "k", str("v")).finish(), /unknown RDB type or opcode 6/);
    fails(Buffer.alloc(0), /the RDB is empty/);
    for (let cut = 1; cut < good.length; cut++) fails(good.subarray(0, cut), /ends early|not an RDB/);
    fails(Buffer.concat([good, Buffer.from([0])]), /data after the end/);
    expect(() => {
      const s = new RdbScanner();
      s.write(good);
      s.end();
    }).not.toThrow();
    expect(() => new RdbScanner().write(Buffer.from("REDIS0010\xfe\xc5", "latin1"))).toThrow(RdbFormatError);
  });

  it("rejects a flipped byte wherever it is: by the checksum, or earlier when the structure breaks", () => {
    const rdb = new RdbWriter(10)
      .select(0)
      .key(0, "key", str("a value long enough to flip a byte in"))
      .finish();
    const value = rdb.indexOf("a value");
    for (let at = 0; at < rdb.length; at++) {
      const bad = Buffer.from(rdb);
      bad[at] ^= 0x20;
      const check = new RdbCheck();
      let error: unknown;
      try {
        check.write(bad);
        check.finish();
      } catch (err) {
        error = err;
      }
      if (at >= value && at < rdb.length - 9) expect(error).toBeInstanceOf(RdbChecksumError);
      else expect(error).toBeInstanceOf(Error);
    }
    // A checksum of zero means Redis wrote none (rdbchecksum no): accepted, and reported.
    const unchecked = Buffer.from(rdb);
    unchecked.fill(0, rdb.length - 8);
    const check = new RdbCheck();
    check.write(unchecked);
    expect(check.finish().crcPresent).toBe(false);
  });
});
