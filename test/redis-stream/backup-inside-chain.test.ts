// A restore to a point starts from the newest committed backup that stands inside the chain, not from
// the chain's base: on the harness's Sentinel set and s3rver, with the stream running, writes in two
// databases, a scheduled `backup redis` between them, more writes after it. The plan names the backup
// and its replication offset; the restored data (by the replay, and by the serving server's own load of
// the AOF) holds every write of both phases in both databases, value for value. A point before the
// backup starts from the chain's base; a backup that is damaged is passed over for an older one.
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freePort } from "../../harness/processes";
import { RedisSet } from "../../harness/redis-set";
import { S3Server } from "../../harness/s3";
import type { StandaloneRedis } from "../../harness/standalone-redis";
import Redis from "ioredis";
import { encodeCommand } from "../../jobs/redis-stream/resp";
import { getBytes } from "../../jobs/store/s3";
import { BUCKET, cronEnv, holdfast } from "../backup/cli";
import type { CliRun } from "../backup/cli";
import { restoreAndServe, startStream, stopAll, streamEnv, timeline, waitDurable } from "./support";

jest.setTimeout(240_000);

let set: RedisSet;
let s3: S3Server;
let work: string;
let env: Record<string, string>;
let backupEnv: Record<string, string>;
let stream: CliRun;
const servers: StandaloneRedis[] = [];
const started = new Set<number>();
const prefix = "inside";

/** What was written: key -> value, by database. */
const written: Record<number, Map<string, string>> = { 0: new Map(), 3: new Map() };
/** Moments: after the first phase (before the backup), after the second. */
let afterFirst: number;
let afterSecond: number;
let backupId: string;
let backupOffset: number;
let chainBase: string;

/**
 * Writes `n` keys of `phase` into db 0 and db 3, alternating from `firstDb`. The first phase ends in db 3
 * and the second begins there: the stream selects a database again only when it changes (or after the
 * sentinels' hellos, published in db 0), so a replay from the backup must say which one is selected.
 */
async function writePhase(phase: string, n: number, firstDb: 0 | 3): Promise<void> {
  const db0 = set.appClient();
  const db3 = set.appClient({ db: 3 });
  try {
    for (let i = 0; i < n; i++) {
      const db = i % 2 === 0 ? firstDb : 3 - firstDb;
      const key = `${phase}:${i}`;
      const value = `${phase}-${i}-${"x".repeat(i % 40)}`;
      await (db === 0 ? db0 : db3).set(key, value);
      written[db].set(key, value);
    }
  } finally {
    db0.disconnect();
    db3.disconnect();
  }
}

/** Takes a backup as the CronJob does; its id and the replication offset its manifest records. */
async function takeBackup(): Promise<{ id: string; offset: number }> {
  const r = await holdfast(["backup", "redis", "--json"], backupEnv);
  if (r.code !== 0) throw new Error(`backup exited ${r.code}: ${r.stderr}`);
  const id = JSON.parse(r.stdout).id as string;
  const manifest = JSON.parse(
    (await getBytes(s3.client(), BUCKET, `${prefix}/redis/${id}/manifest.json`)).toString("utf8"),
  );
  expect(manifest.method).toBe("replication");
  return { id, offset: manifest.source.replicationOffset };
}

/** The dry run's plan of a point. */
async function planOf(
  to: number,
): Promise<{ base: string; fromOffset: number; toOffset: number; bytes: number }> {
  const r = await holdfast(
    ["restore", "redis", "--to-time", new Date(to).toISOString(), "--data-dir", work, "--dry-run", "--json"],
    env,
  );
  if (r.code !== 0) throw new Error(`dry run exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Every written key of the given phases, in both databases, compared with what `c` (db 0) serves. */
async function expectPhases(c: Redis, phases: string[]): Promise<void> {
  for (const db of [0, 3]) {
    await c.select(db);
    const keys = [...written[db].keys()].filter((k) => phases.includes(k.split(":")[0]));
    expect(keys.length).toBeGreaterThan(100);
    const got = await c.mget(...keys);
    expect(got.filter((v, i) => v !== written[db].get(keys[i]))).toEqual([]);
    expect(await c.dbsize()).toBe(keys.length);
  }
}

beforeAll(async () => {
  [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-inside-"));
  env = streamEnv(set, s3.env, prefix);
  backupEnv = cronEnv(set, s3.env, prefix);
  stream = startStream(env);
  await waitDurable(env, 0);
  // Each moment is taken 50 ms after the phase's last acknowledgement: a command's time is when it
  // reached the stream, a little after the writer saw its reply.
  await writePhase("first", 400, 0);
  await new Promise((r) => setTimeout(r, 50));
  afterFirst = Date.now();
  await new Promise((r) => setTimeout(r, 50));
  ({ id: backupId, offset: backupOffset } = await takeBackup());
  await writePhase("second", 400, 3);
  await new Promise((r) => setTimeout(r, 50));
  afterSecond = Date.now();
  await waitDurable(env, afterSecond);
  chainBase = (await planOf(afterFirst)).base;
});
afterAll(() => stopAll({ stream, serving: started, servers, set, s3, work }));

describe("a scheduled backup inside the chain", () => {
  it("starts the replay of a later point: the plan names it and its replication offset", async () => {
    const plan = await planOf(afterSecond);
    expect(plan.base).toBe(backupId);
    expect(plan.base).not.toBe(chainBase);
    expect(plan.fromOffset).toBe(backupOffset);
    expect(plan.toOffset).toBeGreaterThan(backupOffset);
    // The replay begins with a SELECT of the database selected at the backup's offset (a one-digit one).
    expect(plan.bytes - (plan.toOffset - plan.fromOffset)).toBe(encodeCommand("SELECT", "3").length);
  });

  it("is shown by the timeline inside its chain, with its offset", async () => {
    const t = await timeline(env);
    expect(t.chains).toHaveLength(1);
    expect(t.chains[0].backups).toEqual([
      { id: backupId, offset: backupOffset, startedAt: expect.any(String) },
    ]);
    const text = await holdfast(["timeline"], env);
    expect(text.stdout).toContain(`  backup ${backupId} at offset ${backupOffset}:`);
  });

  it("a point before it starts from the chain's base", async () => {
    const plan = await planOf(afterFirst);
    expect(plan.base).not.toBe(backupId);
    expect(plan.fromOffset).toBeLessThan(backupOffset);
  });

  /** A restore to `at` into a fresh folder `name`, served by a stock redis-server. */
  const restoreTo = (name: string, at: number) =>
    restoreAndServe(env, work, name, ["--to-time", new Date(at).toISOString()], servers);

  it("replayed from it, the restore holds every write of both phases in both databases", async () => {
    const r = await restoreTo("replayed", afterSecond);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`(base ${backupId} and the stream)`);
    await expectPhases(r.client!, ["first", "second"]);
  });

  it("loaded by the serving server as its AOF (--verify serving), the same", async () => {
    const dataDir = path.join(work, "serving", "data");
    fs.mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const r = await holdfast(
      [
        ...["restore", "redis", "--to-time", new Date(afterSecond).toISOString(), "--data-dir", dataDir],
        ...["--verify", "serving", "--serve-port", String(port), "--json"],
      ],
      env,
    );
    if (r.code === 0) started.add(JSON.parse(r.stdout).serving.pid);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).base).toBe(backupId);
    const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, disconnectTimeout: 0 });
    try {
      await c.connect();
      await expectPhases(c, ["first", "second"]);
    } finally {
      c.disconnect();
    }
  });

  it("a point before it, restored from the chain's base, holds the first phase only", async () => {
    const r = await restoreTo("before", afterFirst);
    expect(r.code).toBe(0);
    await expectPhases(r.client!, ["first"]);
  });

  it("a newer backup that is damaged is passed over for the older one", async () => {
    const newer = await takeBackup();
    expect(newer.offset).toBeGreaterThan(backupOffset);
    const now = Date.now();
    await waitDurable(env, now);
    expect((await planOf(now)).base).toBe(newer.id);
    await s3
      .client()
      .send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${prefix}/redis/${newer.id}/dump.rdb` }));
    expect((await planOf(now)).base).toBe(backupId);
  });
});
