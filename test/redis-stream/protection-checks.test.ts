// What status, verify and drill say of continuous protection, on the harness's Sentinel set and s3rver
// with `stream redis` running as its Deployment would: status reports the newest durable command and
// the lag (and exits 1 once the stream has stopped for longer than --max-lag); verify checks every
// segment of the newest chain and reports one flipped byte or one missing segment as damaged (exit 1),
// leaving the bucket as it was; drill replays the chain to its newest durable command into a throw-away
// server and loads what it saved, with every key written.
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { RedisSet } from "../../harness/redis-set";
import { S3Server } from "../../harness/s3";
import { getBytes, listObjects } from "../../jobs/store/s3";
import { BUCKET, holdfast } from "../backup/cli";
import type { CliRun } from "../backup/cli";
import { startStream, streamEnv, waitDurable } from "./support";

jest.setTimeout(240_000);

let set: RedisSet;
let s3: S3Server;
let env: Record<string, string>;
let stream: CliRun;
let written: number;
const prefix = "checks";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  await s3.createBucket(BUCKET);
  env = streamEnv(set, s3.env, prefix);
  stream = startStream(env);
  await waitDurable(env, 0);
  const admin = set.connect(await set.waitForHealthy(), "admin");
  await admin.connect();
  for (let batch = 0; batch < 10; batch++) {
    const p = admin.pipeline();
    for (let i = 0; i < 100; i++) p.set(`k:${batch}:${i}`, String(i));
    p.select(3);
    p.hset(`h:${batch}`, { batch: String(batch) });
    p.select(0);
    await p.exec();
    await new Promise((r) => setTimeout(r, 150));
  }
  written = 1010;
  await waitDurable(env, Date.now());
});
afterAll(async () => {
  stream?.child.kill("SIGKILL");
  await Promise.all([set?.cleanup(), s3?.cleanup()]);
});

/** Every object of the bucket and its bytes. */
async function bucket(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const o of listObjects(s3.client(), BUCKET, `${prefix}/`))
    out.set(o.key, (await getBytes(s3.client(), BUCKET, o.key)).toString("base64"));
  return out;
}

describe("with the stream running", () => {
  it("status reports the newest durable command and the lag, in text and JSON", async () => {
    const r = await holdfast(["status", "--store", "redis", "--json"], env);
    expect(r.code).toBe(0);
    const [redis] = JSON.parse(r.stdout) as Json[];
    expect(redis.stream).toMatchObject({ chain: 1, ok: true, gaps: [] });
    expect(redis.stream.lagSeconds).toBeLessThan(30);
    expect(Date.parse(redis.stream.newest)).toBeGreaterThan(Date.now() - 30_000);
    expect(redis.stream.segments).toBeGreaterThan(3);
    const text = await holdfast(["status", "--store", "redis"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^redis stream: chain 1, newest durable command \S+Z \([\d.]+ s behind now\)/m,
    );
  });

  it("drill replays the newest chain to its newest durable command and loads every key", async () => {
    const r = await holdfast(["drill", "--store", "redis", "--json"], env);
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Json;
    expect(out.ok).toBe(true);
    expect(out.stream).toMatchObject({ ok: true, chain: 1 });
    const names = (out.stream.checks as Json[]).map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "every segment up to the newest durable command is intact",
        "the throw-away server can load the base's engine",
        "the stream replayed in full",
        "a fresh server loads the replayed dataset with the same keys",
      ]),
    );
    const loaded = (out.stream.checks as Json[]).find((c) => c.name.startsWith("a fresh server"));
    expect(loaded!.detail).toBe(`${written} keys in 2 databases`);
    const text = await holdfast(["drill", "--store", "redis"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^redis stream to-offset \d+ \(newest durable command\): OK/m);
  });
});

describe("with the stream stopped", () => {
  let keys: string[];

  beforeAll(async () => {
    stream.child.kill("SIGTERM");
    await stream.done;
    keys = [...(await bucket()).keys()].filter((k) => k.endsWith(".seg")).sort();
    expect(keys.length).toBeGreaterThan(3);
  });

  it("verify --stream only checks every segment of the newest chain", async () => {
    const r = await holdfast(["verify", "--stream", "only", "--json"], env);
    expect(r.code).toBe(0);
    const [chain] = JSON.parse(r.stdout) as Json[];
    expect(chain).toMatchObject({ id: "stream chain 1", ok: true, segments: keys.length });
    expect(chain.checks.map((c: Json) => c.name)).toEqual([
      "the chain's record is readable",
      "its base is a committed backup standing at the chain's start",
      "every segment matches its SHA-256",
      "the segments follow each other (offsets contiguous, each names the one before)",
    ]);
  });

  it("status exits 1 once the newest durable command is older than --max-lag", async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const r = await holdfast(["status", "--store", "redis", "--max-lag", "1s"], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/STALE: the newest durable command is [\d.]+ s old/);
  });

  it("a flipped byte is reported as damaged (exit 1) by verify and drill; the bucket is left as it was", async () => {
    const key = keys[Math.floor(keys.length / 2)];
    const body = await getBytes(s3.client(), BUCKET, key);
    const bad = Buffer.from(body);
    bad[bad.length - 2] ^= 0x01;
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bad }));
    try {
      const before = await bucket();
      const r = await holdfast(["verify", "--json"], env);
      expect(r.code).toBe(1);
      const chain = (JSON.parse(r.stdout) as Json[]).find((x) => x.id === "stream chain 1")!;
      expect(chain.ok).toBe(false);
      const hash = chain.checks.find((c: Json) => c.name === "every segment matches its SHA-256");
      expect(hash).toMatchObject({ ok: false });
      expect(hash.detail).toMatch(
        new RegExp(`1 of ${keys.length} damaged: ${key} does not match its SHA-256`),
      );
      // The backup (the chain's base) itself is fine.
      expect((JSON.parse(r.stdout) as Json[]).find((x) => x.store === "redis" && x.id !== chain.id)!.ok).toBe(
        true,
      );
      const d = await holdfast(["drill", "--store", "redis", "--json"], env);
      expect(d.code).toBe(1);
      expect(JSON.parse(d.stdout).stream).toMatchObject({ ok: false });
      expect(await bucket()).toEqual(before);
    } finally {
      await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    }
  });

  it("a missing segment is reported as damaged (exit 1)", async () => {
    const key = keys[Math.floor(keys.length / 2)];
    const start = Number(/(\d{20})\.seg$/.exec(key)![1]);
    await s3.client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const r = await holdfast(["verify", "--stream", "only"], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL {2}the segments follow each other .*: the stream from offset (\d+) to \d+ is missing/,
    );
    expect(r.stdout).toContain(`from offset ${start} to`);
  });
});
