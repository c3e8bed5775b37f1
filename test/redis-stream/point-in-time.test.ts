// Continuous protection on the harness's Sentinel set and s3rver: `stream redis` ships the replication
// stream while a write load runs; an admin's FLUSHALL is undone by a restore to just before it, key by
// key (every write acknowledged before the moment there, none after), by the replay and, with --verify
// serving, by the serving server loading base and stream as its AOF (and a re-run after a kill finishes
// it); a segment with one flipped byte, or one missing, is refused before the data directory is touched.
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import Redis from "ioredis";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freePort } from "../../harness/processes";
import { RedisSet } from "../../harness/redis-set";
import { S3Server } from "../../harness/s3";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { getBytes, listObjects } from "../../jobs/store/s3";
import { BUCKET, holdfast } from "../backup/cli";
import type { CliRun } from "../backup/cli";
import {
  restoreAndServe,
  startStream,
  stopAll,
  streamEnv,
  timeline,
  waitDurable,
  WriteLoad,
} from "./support";

jest.setTimeout(240_000);

let set: RedisSet;
let s3: S3Server;
let work: string;
let env: Record<string, string>;
let stream: CliRun;
const servers: StandaloneRedis[] = [];
/** Serving servers the `--verify serving` restores started: killed at the end. */
const started = new Set<number>();
const prefix = "pitr";

beforeAll(async () => {
  [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-pitr-"));
  env = streamEnv(set, s3.env, prefix);
  stream = startStream(env);
});
afterAll(() => stopAll({ stream, serving: started, servers, set, s3, work }));

describe("an admin's FLUSHALL during a write load", () => {
  const load = () => new WriteLoad(set.appClient());
  let before: number;
  let w: WriteLoad;

  beforeAll(async () => {
    // The stream has taken its base once the timeline shows a chain.
    await waitDurable(env, 0);
    w = load();
    w.start();
    await new Promise((r) => setTimeout(r, 1500));
    // The moment: between two writes, nothing in flight.
    w.pause(true);
    await new Promise((r) => setTimeout(r, 50));
    before = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    const admin = set.connect(await set.waitForHealthy(), "admin");
    await admin.connect();
    await admin.flushall();
    w.pause(false);
    await new Promise((r) => setTimeout(r, 1000));
    await w.stop();
    await waitDurable(env, Date.now());
  });

  it("is undone by a restore to just before it: every write acknowledged before, none after", async () => {
    const r = await restoreAndServe(
      env,
      work,
      "flushall",
      ["--to-time", new Date(before).toISOString()],
      servers,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/restored to-time .* \(base \S+ and the stream\)/);
    expect(r.stdout).toMatch(/ok {4}the stream replayed in full/);
    const c = r.client!;
    const beforeWrites = w.acked.filter((a) => a.ackedAt <= before);
    const afterWrites = w.acked.filter((a) => a.sentAt > before);
    expect(beforeWrites.length).toBeGreaterThan(50);
    expect(afterWrites.length).toBeGreaterThan(50);
    const got = await c.mget(...beforeWrites.map((a) => `w:${a.n}`));
    expect(got.filter((v, i) => v !== String(beforeWrites[i].n))).toEqual([]);
    const after = await c.mget(...afterWrites.map((a) => `w:${a.n}`));
    expect(after.filter((v) => v !== null)).toEqual([]);
    expect(await c.dbsize()).toBe(beforeWrites.length);
  });

  it("with --verify serving, the base and the stream are the serving server's AOF, loaded once: every write acknowledged before, none after", async () => {
    const dataDir = path.join(work, "serving", "data");
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, "dump.rdb"), "the operator's data");
    const port = await freePort();
    const to = new Date(before).toISOString();
    const r = await holdfast(
      [
        ...["restore", "redis", "--to-time", to, "--data-dir", dataDir, "--verify", "serving"],
        ...["--serve-port", String(port), "--json"],
      ],
      env,
    );
    if (r.code === 0) started.add(JSON.parse(r.stdout).serving.pid);
    expect(r.stderr).not.toMatch(/replaying/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const names = out.checks.map((c: { name: string; ok: boolean }) => `${c.ok ? "ok" : "FAILED"} ${c.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ok the base \S+: SHA-256 and size equal its manifest's, its CRC-64/),
        "ok the stream bytes are whole RESP commands up to the cut, no transaction open",
        "ok it read the stream bytes as its AOF's incremental file",
        "ok its log reports no truncated or damaged AOF",
      ]),
    );
    // Placed as the AOF: the base, the stream cut at the point, the empty file Redis appends to.
    const aof = path.join(dataDir, "appendonlydir");
    expect(fs.readdirSync(aof).sort()).toEqual([
      "appendonly.aof.1.base.rdb",
      "appendonly.aof.1.incr.aof",
      "appendonly.aof.2.incr.aof",
      "appendonly.aof.manifest",
    ]);
    expect(fs.existsSync(path.join(dataDir, "holdfast-restore"))).toBe(false);
    // Where its time went, step by step, in order: the steps after the CLI's own add up to its total.
    expect(Object.keys(out.took)).toEqual([
      ...["startup", "open", "prepare", "plan", "base", "sync", "place"],
      ...["start", "load", "checks", "handover", "cleanup"],
    ]);
    const { startup: _startup, open: _open, ...steps } = out.took as Record<string, number>;
    const sum = Object.values(steps).reduce((n, ms) => n + ms, 0);
    expect(Math.abs(sum - out.timings.totalMs)).toBeLessThanOrEqual(12);
    expect(out.took.load).toBeGreaterThan(0);
    // The previous data is kept aside, not deleted.
    const aside = fs.readdirSync(path.join(dataDir, "holdfast-aside"));
    expect(aside.length).toBe(1);
    const kept = path.join(dataDir, "holdfast-aside", aside[0], "dump.rdb");
    expect(fs.readFileSync(kept, "utf8")).toBe("the operator's data");
    const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
    await c.connect();
    try {
      const beforeWrites = w.acked.filter((a) => a.ackedAt <= before);
      const afterWrites = w.acked.filter((a) => a.sentAt > before);
      const got = await c.mget(...beforeWrites.map((a) => `w:${a.n}`));
      expect(got.filter((v, i) => v !== String(beforeWrites[i].n))).toEqual([]);
      const after = await c.mget(...afterWrites.map((a) => `w:${a.n}`));
      expect(after.filter((v) => v !== null)).toEqual([]);
      expect(await c.dbsize()).toBe(beforeWrites.length);
      expect(out.keys).toBe(beforeWrites.length);
    } finally {
      c.disconnect();
    }
  });

  /** A `--verify serving` restore to just before the FLUSHALL into a fresh folder: its arguments and port. */
  async function servingRun(name: string): Promise<{ dataDir: string; port: number; args: string[] }> {
    const dataDir = path.join(work, name, "data");
    fs.mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const args = [
      ...["restore", "redis", "--to-time", new Date(before).toISOString(), "--data-dir", dataDir],
      ...["--verify", "serving", "--serve-port", String(port), "--json"],
    ];
    return { dataDir, port, args };
  }

  /** The server on `port` holds every write acknowledged before the FLUSHALL, and nothing else. */
  async function expectServesBefore(port: number): Promise<void> {
    const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
    await c.connect();
    try {
      const beforeWrites = w.acked.filter((a) => a.ackedAt <= before);
      const got = await c.mget(...beforeWrites.map((a) => `w:${a.n}`));
      expect(got.filter((v, i) => v !== String(beforeWrites[i].n))).toEqual([]);
      expect(await c.dbsize()).toBe(beforeWrites.length);
    } finally {
      c.disconnect();
    }
  }

  it("with --verify serving, killed while the server loads, a re-run of the same command finishes it", async () => {
    const { dataDir, port, args } = await servingRun("serving-killed");
    const killed = await holdfast(args, { ...env, HOLDFAST_FAILPOINTS: "restore-serving" });
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, "holdfast-restore", "state.json"), "utf8"));
    if (state.serving?.pid) started.add(state.serving.pid);
    expect(killed.code).toBeNull();
    expect(state.phase).toBe("serve");
    const r = await holdfast(args, env);
    if (r.code === 0) started.add(JSON.parse(r.stdout).serving.pid);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).resumed).toBe(true);
    await expectServesBefore(port);
  });

  it("with --verify serving, a staged stream altered before the re-run is staged again from the bucket, not placed", async () => {
    const { dataDir, port, args } = await servingRun("serving-altered");
    const killed = await holdfast(args, { ...env, HOLDFAST_FAILPOINTS: "restore-aside" });
    expect(killed.code).toBeNull();
    // One flipped byte in the middle of the staged stream: the re-run compares it with the chain.
    const staged = path.join(dataDir, "holdfast-restore", "stream.aof");
    const bytes = fs.readFileSync(staged);
    bytes[bytes.length >> 1] ^= 0x01;
    fs.writeFileSync(staged, bytes);
    const r = await holdfast(args, env);
    if (r.code === 0) started.add(JSON.parse(r.stdout).serving.pid);
    expect(r.stderr).toMatch(/not the one checked any more; staging them again/);
    expect(r.code).toBe(0);
    await expectServesBefore(port);
  });

  it("--dry-run names the base and segments and touches nothing", async () => {
    const dataDir = path.join(work, "dry");
    fs.mkdirSync(dataDir);
    const to = new Date(before).toISOString();
    const r = await holdfast(
      ["restore", "redis", "--to-time", to, "--dry-run", "--json", "--data-dir", dataDir],
      env,
    );
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.base).toMatch(/^\d{8}T/);
    expect(plan.segments.length).toBeGreaterThan(0);
    expect(Date.parse(plan.lastCommandAt)).toBeLessThanOrEqual(before);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it("a time after the newest durable command is bad input (exit 2)", async () => {
    const r = await restoreAndServe(env, work, "future", ["--to-time", "2099-01-01T00:00:00Z"], servers);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/after the newest durable command/);
  });
});

describe("a damaged chain", () => {
  let keys: string[];
  let dataDir: string;

  beforeAll(async () => {
    stream.child.kill("SIGTERM");
    await stream.done;
    keys = [];
    for await (const o of listObjects(s3.client(), BUCKET, `${prefix}/redis/stream/`))
      if (o.key.endsWith(".seg")) keys.push(o.key);
    keys.sort();
    expect(keys.length).toBeGreaterThan(3);
    dataDir = path.join(work, "damaged", "data");
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, "dump.rdb"), "the operator's data");
  });

  async function refused(extra: string[] = []): Promise<void> {
    const to = new Date(Date.now() - 2000).toISOString();
    const r = await holdfast(["restore", "redis", "--to-time", to, "--data-dir", dataDir, ...extra], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused: /);
    expect(r.stderr).toMatch(/Nothing was touched/);
    expect(fs.readdirSync(dataDir)).toEqual(["dump.rdb"]);
    expect(fs.readFileSync(path.join(dataDir, "dump.rdb"), "utf8")).toBe("the operator's data");
  }

  it("with one flipped byte in a segment is refused, the target untouched", async () => {
    const key = keys[Math.floor(keys.length / 2)];
    const body = await getBytes(s3.client(), BUCKET, key);
    const bad = Buffer.from(body);
    bad[bad.length - 3] ^= 0x20;
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bad }));
    try {
      await refused();
    } finally {
      await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    }
  });

  it("with one flipped byte in a segment is refused with --verify serving too, the target untouched, no server started", async () => {
    const key = keys[Math.floor(keys.length / 2)];
    const body = await getBytes(s3.client(), BUCKET, key);
    const bad = Buffer.from(body);
    bad[bad.length - 3] ^= 0x20;
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bad }));
    try {
      await refused(["--verify", "serving", "--serve-port", String(await freePort())]);
    } finally {
      await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    }
  });

  it("with a missing segment is refused, the target untouched", async () => {
    const key = keys[Math.floor(keys.length / 2)];
    await s3.client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    await refused();
    expect((await timeline(env)).chains.length).toBe(1);
  });
});
