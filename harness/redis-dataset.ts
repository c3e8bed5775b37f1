// A dataset with every Redis type and the encodings Redis 7.0 writes for it (int, embstr, raw and
// LZF-compressible strings, binary keys and values, listpack and quicklist lists, intset and hashtable
// sets, listpack and skiplist sorted sets, listpack and hashtable hashes, streams with consumer groups
// and pending entries, keys with TTLs, several databases, a function library), and a key-by-key
// snapshot of a server's data to compare two servers by type, value and TTL.
import { randomBytes } from "crypto";
import type Redis from "ioredis";
import { prng } from "./prng";

/** Databases the dataset writes to. */
export const DATASET_DBS = [0, 1, 5, 15];

/** Patterns a backup's verification counts, plus one that matches keys in several types. */
export const DATASET_PATTERNS = ["*:emotives:*", "*:metadata:*", "kb1:*"];

/** Keys in databases 1, 5 and 15, counted with `count`. */
async function fillOtherDatabases(c: Redis, count: (db: number, n?: number) => void): Promise<void> {
  await c.select(1);
  await c.set("db1:emotives:x", "1");
  await c.hset("db1:hash", { a: "b" });
  await c.set("db1:ttl", "v", "EX", 9000);
  count(1, 3);
  await c.select(5);
  for (let i = 0; i < 50; i++) await c.set(`kb${i}:metadata:m`, `meta-${i}`);
  await c.zadd("db5:zset", 1, "one");
  count(5, 51);
  await c.select(15);
  await c.set("last-db", Buffer.from([1, 2, 3]));
  count(15, 1);
}

/** Strings: integer encodings, embstr, raw, compressible, incompressible, binary, empty. */
function stringFixtures(scale: number): [string | Buffer, string | Buffer][] {
  return [
    ["str:int8", "-7"],
    ["str:int16", "300"],
    ["str:int32", "70000"],
    ["str:int64", "12345678901234"],
    ["str:emb", "short value"],
    ["str:raw", "r".repeat(100)],
    ["str:lzf", "abc".repeat(30_000 * scale)],
    ["str:random", randomBytes(50_000 * scale)],
    ["str:empty", ""],
    [Buffer.from([0, 255, 10, 13, 0x80, 0x7f]), Buffer.from([0, 1, 2, 255, 254, 0, 13, 10])],
    ["", "the empty key"],
    [`key:${"z".repeat(200)}`, "a key name long and regular enough to be LZF-compressed"],
    ["kb2:emotives:p2", JSON.stringify({ joy: 0.7, fear: 0.1 })],
  ];
}

/**
 * Writes the dataset through `c` (a user that may run every data command; DEBUG is used when allowed,
 * to get plain quicklist nodes). Returns the number of keys written per database.
 */
export async function fillEveryType(c: Redis, scale = 1): Promise<Record<number, number>> {
  const rnd = prng(42);
  const counts: Record<number, number> = {};
  const count = (db: number, n = 1) => (counts[db] = (counts[db] ?? 0) + n);
  await c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "200").catch(() => undefined);

  await c.select(0);
  const strings = stringFixtures(scale);
  for (const [k, v] of strings) await c.set(k, v);
  count(0, strings.length);

  // Lists: one small listpack node, many nodes, nodes of plain (large) elements, binary elements.
  await c.rpush("list:small", "a", "b", "c", "1", "2");
  const long = Array.from({ length: 2000 * scale }, (_, i) => `item-${i}`);
  for (let i = 0; i < long.length; i += 500) await c.rpush("list:long", ...long.slice(i, i + 500));
  await c.rpush("list:plain", "p".repeat(300), "q".repeat(5000), "small", randomBytes(1000));
  await c.rpush("kb1:list", Buffer.from([0, 1, 2]), Buffer.from([255]));
  count(0, 4);

  // Sets: intset, a large intset turned hashtable, strings.
  await c.sadd("set:ints", 1, 2, 3, -5, 1_000_000);
  await c.sadd("set:many-ints", ...Array.from({ length: 1000 }, (_, i) => i * 7));
  await c.sadd("set:strs", ...Array.from({ length: 200 }, (_, i) => `member-${i}`));
  await c.sadd("kb1:set", "x", Buffer.from([0, 200]));
  count(0, 4);

  // Sorted sets: listpack, skiplist, infinite and fractional scores.
  await c.zadd("zset:small", 1, "a", 2.5, "b", -3.25, "c");
  const members = Array.from({ length: 500 * scale }, (_, i) => [String(rnd() * 1e6), `m${i}`]).flat();
  await c.zadd("zset:big", ...members);
  await c.zadd("zset:inf", "inf", "top", "-inf", "bottom", "0", "zero", "-3.5e10", "neg");
  await c.zadd("kb1:frequency:p1", 3, "sym1", 9, "sym2");
  count(0, 4);

  // Hashes: listpack, hashtable by count, hashtable by value size, binary fields.
  await c.hset("hash:small", { f1: "v1", f2: "2", f3: "" });
  const fields: Record<string, string> = {};
  for (let i = 0; i < 1000 * scale; i++) fields[`field-${i}`] = `value-${i}`;
  await c.hset("hash:big", fields);
  await c.hset("hash:wide", { big: "w".repeat(500), small: "s" });
  await c.hset("kb1:metadata:p1", { tag: "sunrise", note: "binary\u0000ok" });
  await c.hset("kb1:emotives:p1", { joy: "0.9", anger: "0.05" });
  count(0, 5);

  // Hash fields with their own TTL (Redis 7.4+): a listpack-ex hash, a hashtable hash with field TTLs,
  // and one whose TTLs were all removed again.
  if (await supports(c, "hpexpire")) {
    await c.hset("hfe:small", { a: "1", b: "2", c: "3" });
    await c.call("HPEXPIRE", "hfe:small", "5000000", "FIELDS", "2", "a", "c");
    const many: Record<string, string> = {};
    for (let i = 0; i < 600; i++) many[`f${i}`] = `v${i}`;
    await c.hset("kb1:metadata:hfe", many);
    await c.call("HEXPIRE", "kb1:metadata:hfe", "7200", "FIELDS", "3", "f1", "f2", "f3");
    await c.hset("hfe:persisted", { x: "1" });
    await c.call("HEXPIRE", "hfe:persisted", "600", "FIELDS", "1", "x");
    await c.call("HPERSIST", "hfe:persisted", "FIELDS", "1", "x");
    count(0, 3);
  }

  // Vector sets (Redis 8): a module type built into the server.
  if (await supports(c, "vadd")) {
    for (const [name, vec] of [
      ["p1", [0.1, 0.2, 0.3]],
      ["p2", [-1, 0.5, 2]],
      ["p3", [4, 4, 4]],
    ] as const)
      await c.call("VADD", "vset:points", "VALUES", "3", ...vec.map(String), name);
    count(0, 1);
  }

  // Streams: several listpack nodes, deletions, groups with pending entries and consumers.
  for (let i = 0; i < 300; i++) await c.xadd("stream:events", "*", "n", String(i), "payload", `p${i % 7}`);
  const ids = (await c.xrange("stream:events", "-", "+", "COUNT", 10)).map(([id]) => id);
  await c.xdel("stream:events", ids[3], ids[4]);
  await c.xgroup("CREATE", "stream:events", "g1", "0");
  await c.xgroup("CREATE", "stream:events", "g2", "$");
  await c.xreadgroup("GROUP", "g1", "c1", "COUNT", 20, "STREAMS", "stream:events", ">");
  await c.xreadgroup("GROUP", "g1", "c2", "COUNT", 5, "STREAMS", "stream:events", ">");
  const pending = (await c.xpending("stream:events", "g1", "-", "+", 3)) as [string][];
  await c.xack("stream:events", "g1", ...pending.map((p) => p[0]));
  await c.call("XGROUP", "CREATECONSUMER", "stream:events", "g2", "idle-consumer");
  await c.xgroup("CREATE", "stream:empty", "g", "$", "MKSTREAM");
  count(0, 2);

  // Keys with TTLs, in seconds and milliseconds.
  await c.set("ttl:str", "expiring", "EX", 5000);
  await c.hset("ttl:hash", { a: "1" });
  await c.pexpire("ttl:hash", 4_000_000);
  await c.set("kb3:emotives:ttl", "temporary", "PX", 3_600_000);
  await c.rpush("ttl:list", "x", "y");
  await c.expire("ttl:list", 7200);
  count(0, 4);

  // A function library (functions are saved in the RDB too).
  await c.call(
    "FUNCTION",
    "LOAD",
    "REPLACE",
    "#!lua name=holdfasttest\nredis.register_function('hf_echo', function(keys, args) return args[1] end)",
  );

  await fillOtherDatabases(c, count);
  await c.select(0);
  return counts;
}

/** Whether the server has `command` (HPEXPIRE since Redis 7.4, VADD since Redis 8.0; none in Valkey 8). */
export async function supports(c: Redis, command: string): Promise<boolean> {
  const info = (await c.call("COMMAND", "INFO", command)) as unknown[];
  return Array.isArray(info[0]);
}

/** One key as a snapshot records it. */
export interface KeySnapshot {
  type: string;
  /** Milliseconds to live; -1 without TTL. */
  pttl: number;
  /** The value in a comparable form (buffers as base64). */
  value: unknown;
}

const b64 = (b: Buffer) => b.toString("base64");

const fieldTtlSupport = new WeakMap<Redis, Promise<boolean>>();
function fieldTtls(c: Redis): Promise<boolean> {
  let p = fieldTtlSupport.get(c);
  if (!p) fieldTtlSupport.set(c, (p = supports(c, "hpexpiretime")));
  return p;
}

async function valueOf(c: Redis, key: Buffer, type: string): Promise<unknown> {
  switch (type) {
    case "string":
      return b64((await c.getBuffer(key))!);
    case "list":
      return (await c.lrangeBuffer(key, 0, -1)).map(b64);
    case "set":
      return (await c.smembersBuffer(key)).map(b64).sort();
    case "zset":
      return ((await c.callBuffer("ZRANGE", key, "0", "-1", "WITHSCORES")) as Buffer[]).map(b64);
    case "hash": {
      const flat = (await c.callBuffer("HGETALL", key)) as Buffer[];
      const pairs: string[] = [];
      // Field TTLs as absolute times (they do not move on): -1 for a field without one.
      const fields = flat.filter((_, i) => i % 2 === 0);
      const ttls =
        fields.length > 0 && (await fieldTtls(c))
          ? ((await c.call("HPEXPIRETIME", key, "FIELDS", String(fields.length), ...fields)) as number[])
          : [];
      for (let i = 0; i < flat.length; i += 2)
        pairs.push(`${b64(flat[i])}=${b64(flat[i + 1])}${ttls.length ? `@${ttls[i / 2]}` : ""}`);
      return pairs.sort();
    }
    case "vectorset": {
      const members = ((await c.call("VRANDMEMBER", key, "1000")) as string[]).sort();
      const vectors = [];
      for (const m of members) vectors.push([m, ((await c.call("VEMB", key, m)) as string[]).map(String)]);
      return { card: await c.call("VCARD", key), vectors };
    }
    case "stream": {
      const entries = await c.xrange(key, "-", "+");
      const info = (await c.call("XINFO", "STREAM", key)) as unknown[];
      const field = (name: string) => info[info.indexOf(name) + 1];
      const groups = (await c.call("XINFO", "GROUPS", key)) as unknown[][];
      const groupState = [];
      for (const g of groups) {
        const name = String(g[g.indexOf("name") + 1]);
        const pending = await c.xpending(key, name, "-", "+", 1000);
        const consumers = ((await c.call("XINFO", "CONSUMERS", key, name)) as unknown[][]).map((x) => [
          x[x.indexOf("name") + 1],
          x[x.indexOf("pending") + 1],
        ]);
        groupState.push({
          name,
          lastDelivered: g[g.indexOf("last-delivered-id") + 1],
          entriesRead: g[g.indexOf("entries-read") + 1],
          // Entry, consumer and delivery count (the idle time moves on).
          pending: (pending as unknown[][]).map((p) => [p[0], p[1], p[3]]),
          consumers,
        });
      }
      return {
        entries,
        lastId: field("last-generated-id"),
        maxDeleted: field("max-deleted-entry-id"),
        entriesAdded: field("entries-added"),
        groups: groupState,
      };
    }
    default:
      throw new Error(`snapshot: unexpected type ${type}`);
  }
}

/** Every key of `dbs` with its type, TTL and value, keyed by `<db>:<key as base64>`. */
export async function snapshotDataset(c: Redis, dbs = DATASET_DBS): Promise<Map<string, KeySnapshot>> {
  const out = new Map<string, KeySnapshot>();
  for (const db of dbs) {
    await c.select(db);
    let cursor = "0";
    do {
      const [next, keys] = await c.scanBuffer(cursor, "COUNT", 1000);
      cursor = String(next);
      // The keys of a batch are read concurrently: one connection pipelines their commands.
      await Promise.all(
        keys.map(async (key) => {
          const [type, pttl] = await Promise.all([c.type(key), c.pttl(key)]);
          out.set(`${db}:${b64(key)}`, { type, pttl, value: await valueOf(c, key, type) });
        }),
      );
    } while (cursor !== "0");
  }
  await c.select(0);
  return out;
}

/**
 * Differences between two snapshots, one line each: missing or extra keys, another type or value, or
 * TTLs further apart than `ttlToleranceMs`.
 */
export function compareSnapshots(
  expected: Map<string, KeySnapshot>,
  actual: Map<string, KeySnapshot>,
  ttlToleranceMs: number,
): string[] {
  const problems: string[] = [];
  for (const [key, e] of expected) {
    const a = actual.get(key);
    if (!a) problems.push(`missing ${key}`);
    else if (a.type !== e.type) problems.push(`${key}: type ${a.type}, expected ${e.type}`);
    else if (JSON.stringify(a.value) !== JSON.stringify(e.value)) problems.push(`${key}: value differs`);
    else if (e.pttl < 0 !== a.pttl < 0 || Math.abs(a.pttl - e.pttl) > ttlToleranceMs)
      problems.push(`${key}: pttl ${a.pttl}, expected ${e.pttl}`);
  }
  for (const key of actual.keys()) if (!expected.has(key)) problems.push(`unexpected ${key}`);
  return problems;
}

/** Keys per database and pattern counts of a live server, as SCAN sees them (the operator's check). */
export async function liveCounts(
  c: Redis,
  patterns: string[],
  dbs = DATASET_DBS,
): Promise<{ keys: Record<string, number>; patterns: Record<string, Record<string, number>> }> {
  const keys: Record<string, number> = {};
  const counts: Record<string, Record<string, number>> = {};
  for (const db of dbs) {
    await c.select(db);
    const n = await c.dbsize();
    if (n === 0) continue;
    keys[String(db)] = n;
    counts[String(db)] = {};
    for (const p of patterns) {
      let cursor = "0";
      let total = 0;
      do {
        const [next, found] = await c.scanBuffer(cursor, "MATCH", p, "COUNT", 1000);
        cursor = String(next);
        total += found.length;
      } while (cursor !== "0");
      counts[String(db)][p] = total;
    }
  }
  await c.select(0);
  return { keys, patterns: counts };
}
