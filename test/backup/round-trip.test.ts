// Backups and restores through the CLI as the CronJob and the restore Job run it, on the harness's
// Sentinel set (1 primary, 2 replicas, 3 sentinels) and s3rver: a dataset with every Redis type comes
// back key by key (type, value, TTL) for appendonly yes and no; the data-directory sidecar method; the bad
// input that must be one line and exit 2; list, status, prune, verify and drill on a history of backups.
import { CopyObjectCommand } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Redis from "ioredis";
import { RedisSet } from "../../harness/redis-set";
import { backupIdAt } from "../../jobs/store/backup-id";
import { getBytes, getJson, listObjects, putJson } from "../../jobs/store/s3";
import type { RedisBackupManifest } from "../../jobs/redis-backup/manifest";
import { BUCKET, cronEnv, holdfast, logLines } from "./cli";
import {
  compareSnapshots,
  DATASET_DBS,
  fillEveryType,
  liveCounts,
  snapshotDataset,
  type KeySnapshot,
} from "../../harness/redis-dataset";
import { S3Server } from "../../harness/s3";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { testEngine } from "../../harness/engine";

const engine = testEngine();

jest.setTimeout(300_000);

const PATTERNS = ["*:emotives:*", "*:metadata:*"];

let set: RedisSet;
let s3: S3Server;
let work: string;
let admin: Redis;
const servers: StandaloneRedis[] = [];

beforeAll(async () => {
  [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-round-trip-"));
  admin = set.connect(await set.waitForHealthy(), "admin");
  await admin.connect();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.cleanup()));
  await Promise.all([set?.cleanup(), s3?.cleanup()]);
  if (work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
});

async function manifestOf(prefix: string, id: string): Promise<RedisBackupManifest> {
  return getJson<RedisBackupManifest>(s3.client(), BUCKET, `${prefix}/redis/${id}/manifest.json`);
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listObjects(s3.client(), BUCKET, prefix)) keys.push(o.key);
  return keys.sort();
}

/** A stock redis-server on `dir` (its data folder `dir/data`), as the pod would run after the restore. */
async function serveRestored(dir: string, appendonly: boolean): Promise<Redis> {
  const r = await StandaloneRedis.start([`appendonly ${appendonly ? "yes" : "no"}`], dir);
  servers.push(r);
  return r.client();
}

function newDataDir(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, "data"), { recursive: true });
  return dir;
}

describe("a dataset with every Redis type", () => {
  let expected: Map<string, KeySnapshot>;
  let snapshotAt: number;
  let functions: unknown;
  let id: string;
  const prefix = "dev";
  /** Keys of db0 in the dataset (the engine decides: hash field TTLs and vector sets where it has them). */
  const db0Keys = () => [...expected.keys()].filter((k) => k.startsWith("0:")).length;

  beforeAll(async () => {
    await fillEveryType(admin);
    await admin.call("WAIT", "2", "10000");
    expected = await snapshotDataset(admin);
    snapshotAt = Date.now();
    functions = await admin.call("FUNCTION", "LIST", "WITHCODE");
  });

  it("is backed up from a replica, with the counts of exactly the RDB stored", async () => {
    const r = await holdfast(
      [
        "backup",
        "redis",
        "--pattern",
        PATTERNS[0],
        "--pattern",
        PATTERNS[1],
        "--reason",
        "pre-training",
        "--json",
      ],
      cronEnv(set, s3.env, prefix),
    );
    expect(r.stderr).not.toMatch(/"level":"(warn|error)"/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    id = out.id;
    const m = await manifestOf(prefix, id);
    const primary = await set.waitForHealthy();
    const replicaPorts = set.data.filter((d) => d !== primary).map((d) => d.port);
    expect(m.source.role).toBe("replica");
    expect(replicaPorts).toContain(Number(m.source.address.split(":")[1]));
    expect(m.source.primary).toBe(`127.0.0.1:${primary.port}`);
    const live = await liveCounts(admin, PATTERNS);
    expect(Object.fromEntries(Object.entries(m.dataset.databases).map(([db, d]) => [db, d.keys]))).toEqual(
      live.keys,
    );
    expect(
      Object.fromEntries(Object.entries(m.dataset.databases).map(([db, d]) => [db, d.patterns])),
    ).toEqual(live.patterns);
    expect(m.dataset.keys).toBe(expected.size);
    const total = (p: string) => Object.values(live.patterns).reduce((n, d) => n + d[p], 0);
    expect(m.dataset.patterns).toEqual({
      "*:emotives:*": total("*:emotives:*"),
      "*:metadata:*": total("*:metadata:*"),
    });
    expect(m).toMatchObject({
      reason: "pre-training",
      method: "replication",
      redis: { engine: engine.writes.engine, rdbVersion: engine.writes.rdbVersion },
    });
    expect(m.redis.version).toMatch(engine.writes.version);
    expect(m.checks).toEqual([
      `sha256: ${m.objects["dump.rdb"].sha256}`,
      `crc64: ok (${m.objects["dump.rdb"].crc64})`,
      `scan: ok (RDB ${engine.writes.rdbVersion}, ${expected.size} keys)`,
    ]);
    expect(m.info.persistence.aof_enabled).toBe("1");
    expect(Object.keys(m.info)).toEqual(
      expect.arrayContaining(["server", "replication", "persistence", "memory", "keyspace"]),
    );
    expect(m.source.replicationOffset).toBeGreaterThan(0);
    const rdb = await getBytes(s3.client(), BUCKET, m.objects["dump.rdb"].key);
    expect(rdb.length).toBe(m.objects["dump.rdb"].size);
    expect(createHash("sha256").update(rdb).digest("hex")).toBe(m.objects["dump.rdb"].sha256);
    expect(await keysUnder(`${prefix}/redis/${id}/`)).toEqual([
      `${prefix}/redis/${id}/dump.rdb`,
      `${prefix}/redis/${id}/manifest.json`,
    ]);
    expect(s3.incompleteUploads(BUCKET)).toEqual([]);
  });

  it("is restored key by key, TTLs and functions included, for appendonly yes", async () => {
    const dir = newDataDir("aof-yes");
    const r = await holdfast(
      ["restore", "redis", "--backup", id, "--data-dir", path.join(dir, "data")],
      cronEnv(set, s3.env, prefix),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`restored backup ${id} into .* \\(appendonly yes, verified by a throw-away redis-server`),
    );
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(r.stdout).toMatch(/ok {4}the throw-away redis-server loaded the RDB as it downloaded/);
    expect(r.stdout).toMatch(new RegExp(`ok {4}DBSIZE of db0: ${db0Keys()} \\(backup: ${db0Keys()}\\)`));
    expect(fs.readdirSync(path.join(dir, "data")).sort()).toEqual(["appendonlydir", "dump.rdb"]);
    expect(fs.readdirSync(path.join(dir, "data", "appendonlydir")).sort()).toEqual([
      "appendonly.aof.1.base.rdb",
      "appendonly.aof.1.incr.aof",
      "appendonly.aof.manifest",
    ]);
    const restored = await serveRestored(dir, true);
    const problems = compareSnapshots(
      expected,
      await snapshotDataset(restored),
      Date.now() - snapshotAt + 2000,
    );
    expect(problems).toEqual([]);
    expect(await restored.call("FUNCTION", "LIST", "WITHCODE")).toEqual(functions);
    // The restored server keeps writing its AOF: a write survives its restart.
    await restored.set("after:restore", "1");
    expect(String(await restored.info("persistence"))).toMatch(/aof_enabled:1/);
  });

  it("is restored key by key for appendonly no (dump.rdb), verified by loading the placed layout", async () => {
    const dir = newDataDir("aof-no");
    const r = await holdfast(
      [
        "restore",
        "redis",
        "--backup",
        "latest",
        "--data-dir",
        path.join(dir, "data"),
        "--appendonly",
        "no",
        "--verify",
        "layout",
      ],
      cronEnv(set, s3.env, prefix),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok {4}the server loaded dump.rdb \(appendonly no\)/);
    expect(fs.readdirSync(path.join(dir, "data"))).toEqual(["dump.rdb"]);
    const restored = await serveRestored(dir, false);
    expect(
      compareSnapshots(expected, await snapshotDataset(restored), Date.now() - snapshotAt + 2000),
    ).toEqual([]);
  });

  it("would be lost by the hand-run 'place dump.rdb in the data directory' with appendonly yes", async () => {
    const dir = newDataDir("trap");
    const m = await manifestOf(prefix, id);
    fs.writeFileSync(
      path.join(dir, "data", "dump.rdb"),
      await getBytes(s3.client(), BUCKET, m.objects["dump.rdb"].key),
    );
    const stock = await serveRestored(dir, true);
    for (const db of DATASET_DBS) {
      await stock.select(db);
      expect(await stock.dbsize()).toBe(0);
    }
  });

  it("is not restored into a directory a redis-server is running in", async () => {
    const dir = newDataDir("running");
    const running = await StandaloneRedis.start([], dir);
    servers.push(running);
    const r = await holdfast(
      ["restore", "redis", "--backup", id, "--data-dir", path.join(dir, "data")],
      cronEnv(set, s3.env, prefix),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /holdfast: a redis-server \(pid \d+\) is running in .*: stop it before restoring/,
    );
  });

  it("is verified by `holdfast verify` with a full load", async () => {
    const r = await holdfast(["verify", "--backup", id], cronEnv(set, s3.env, prefix));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`redis ${id}: OK`));
    expect(r.stdout).toMatch(new RegExp(`ok {4}DBSIZE of db0: ${db0Keys()} \\(backup: ${db0Keys()}\\)`));
    expect(r.stdout).toMatch(/ok {4}keys matching \*:metadata:\* in db5: 50 \(backup: 50\)/);
  });
});

describe("the data-directory method (a sidecar, BGSAVE and copy)", () => {
  it("backs up dump.rdb and the AOF files after a BGSAVE, and the restore serves the same keys", async () => {
    const primary = await set.waitForHealthy();
    await admin.set("sidecar:marker", "written before the BGSAVE");
    const expected = await snapshotDataset(admin);
    const dataDir = path.join(primary.dir, "data");
    const env = cronEnv(set, s3.env, "sidecar", {
      REDIS_USERNAME: "admin",
      REDIS_PASSWORD: set.password("admin"),
    });
    const r = await holdfast(
      [
        "backup",
        "redis",
        "--data-dir",
        dataDir,
        "--redis",
        `127.0.0.1:${primary.port}`,
        "--reason",
        "sidecar",
        "--json",
      ],
      { ...env, HOLDFAST_SENTINEL: "", HOLDFAST_MASTER_NAME: "" },
    );
    expect(r.code).toBe(0);
    const m = await manifestOf("sidecar", JSON.parse(r.stdout).id);
    expect(m.method).toBe("data-dir");
    const names = Object.keys(m.objects);
    expect(names).toEqual(expect.arrayContaining(["dump.rdb", "aof/appendonly.aof.manifest"]));
    expect(names.filter((n) => /^aof\/appendonly\.aof\.\d+\.base\.rdb$/.test(n))).toHaveLength(1);
    expect(names.filter((n) => /^aof\/appendonly\.aof\.\d+\.incr\.aof$/.test(n)).length).toBeGreaterThan(0);
    const manifestText = await getBytes(s3.client(), BUCKET, m.objects["aof/appendonly.aof.manifest"].key);
    expect(manifestText.toString()).toBe(
      fs.readFileSync(path.join(dataDir, "appendonlydir", "appendonly.aof.manifest"), "utf8"),
    );
    const dir = newDataDir("sidecar");
    const restore = await holdfast(
      ["restore", "redis", "--backup", "latest", "--data-dir", path.join(dir, "data")],
      env,
    );
    expect(restore.code).toBe(0);
    const restored = await serveRestored(dir, true);
    expect(compareSnapshots(expected, await snapshotDataset(restored), 60_000)).toEqual([]);
  });

  it("refuses, exit 2, when the user may not run BGSAVE (the stack's backup user)", async () => {
    const primary = await set.waitForHealthy();
    const r = await holdfast(
      [
        "backup",
        "redis",
        "--data-dir",
        path.join(primary.dir, "data"),
        "--redis",
        `127.0.0.1:${primary.port}`,
      ],
      { ...cronEnv(set, s3.env, "sidecar"), HOLDFAST_SENTINEL: "" },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/NOPERM/);
  });
});

describe("bad input is one line on stderr and exit code 2", () => {
  // An empty data directory of this file's own: "." (the checkout) is the working directory of the
  // redis-servers other test files start, and the restore rightly refuses a directory a server runs in.
  const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-bad-input-"));
  afterAll(() => fs.rmSync(emptyDir, { recursive: true, force: true }));
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      "a malformed backup id",
      ["restore", "redis", "--backup", "yesterday", "--data-dir", emptyDir],
      {},
      /"yesterday" is not a backup id/,
    ],
    [
      "an unknown backup id",
      ["restore", "redis", "--backup", "20200101T000000Z", "--data-dir", emptyDir],
      {},
      /no backup 20200101T000000Z in s3:\/\/holdfast-backups\/dev\/redis\//,
    ],
    [
      "an unknown id to verify",
      ["verify", "--backup", "20200101T000000Z"],
      {},
      /no backup 20200101T000000Z in/,
    ],
    [
      "a prefix without backups",
      ["restore", "redis", "--backup", "latest", "--data-dir", emptyDir],
      { HOLDFAST_PREFIX: "empty" },
      /there is no backup in s3:\/\/holdfast-backups\/empty\/redis\//,
    ],
    ["an empty bucket name", ["list", "--bucket", ""], {}, /--bucket must not be empty/],
    [
      "a bucket that does not exist",
      ["list"],
      { HOLDFAST_BUCKET: "no-such-bucket" },
      /bucket no-such-bucket does not exist/,
    ],
    [
      "an unreachable S3 endpoint",
      ["list"],
      { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1" },
      /cannot reach the S3 endpoint/,
    ],
    [
      "wrong S3 keys",
      ["status"],
      { AWS_ACCESS_KEY_ID: "NOBODY" },
      /access to bucket holdfast-backups is denied|not valid/,
    ],
    [
      "a wrong Redis password",
      ["backup", "redis"],
      { REDIS_PASSWORD: "wrong" },
      /refused the backup user's credentials .*REDIS_USERNAME/,
    ],
    [
      "a wrong sentinel password",
      ["backup", "redis"],
      { SENTINEL_PASSWORD: "wrong" },
      /refused the sentinel credentials/,
    ],
    [
      "unreachable sentinels",
      ["backup", "redis", "--sentinel", "127.0.0.1:1"],
      {},
      /cannot reach any sentinel at 127.0.0.1:1/,
    ],
    [
      "a master name the sentinels do not know",
      ["backup", "redis", "--master-name", "nope"],
      {},
      /do not know a master named "nope"/,
    ],
    [
      "a data dir that is a file",
      ["restore", "redis", "--backup", "latest", "--data-dir", __filename],
      {},
      /is not a directory/,
    ],
    [
      "a data dir that does not exist",
      ["restore", "redis", "--backup", "latest", "--data-dir", "/no/such/dir"],
      {},
      /--data-dir \/no\/such\/dir is not a directory/,
    ],
    ["an unknown source", ["backup", "redis", "--source", "any"], {}, /--source must be replica or primary/],
    ["an unknown store", ["list", "--store", "mysql"], {}, /--store must be redis or lancedb, got "mysql"/],
    ["a malformed max age", ["status", "--max-age", "soon"], {}, /--max-age must look like/],
    ["a bad retention count", ["prune", "--keep-last", "many"], {}, /--keep-last must be a whole number/],
  ];
  it.each(cases)("%s", async (_what, args, env, message) => {
    const before = await keysUnder("");
    const r = await holdfast(args, cronEnv(set, s3.env, "dev", env));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(message) });
    const lines = r.stderr
      .trim()
      .split("\n")
      .filter((l) => !l.startsWith("{"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^holdfast: /);
    expect(await keysUnder("")).toEqual(before);
  });
});

describe("list, status, prune, verify and drill on a history of backups", () => {
  const prefix = "ops";
  let ids: string[];
  const DAY = 86_400_000;

  /** Copies committed backup `from` as if taken at `at` (a history without waiting days for it). */
  async function cloneAs(from: string, at: Date, reason = "scheduled"): Promise<string> {
    const id = backupIdAt(at);
    const m = await manifestOf(prefix, from);
    const key = `${prefix}/redis/${id}/dump.rdb`;
    await s3.client().send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: key,
        CopySource: `${BUCKET}/${m.objects["dump.rdb"].key}`,
      }),
    );
    await putJson(s3.client(), BUCKET, `${prefix}/redis/${id}/manifest.json`, {
      ...m,
      id,
      reason,
      startedAt: at.toISOString(),
      completedAt: new Date(at.getTime() + 1000).toISOString(),
      objects: { "dump.rdb": { ...m.objects["dump.rdb"], key } },
    });
    return id;
  }

  beforeAll(async () => {
    const r = await holdfast(
      ["backup", "redis", "--json", "--reason", "scheduled"],
      cronEnv(set, s3.env, prefix),
    );
    expect(r.code).toBe(0);
    const fresh = JSON.parse(r.stdout).id as string;
    const now = Date.now();
    ids = [fresh];
    // Ten days of daily backups at 02:00, and three more on one day.
    for (let d = 1; d <= 10; d++) {
      const day = new Date(now - d * DAY);
      day.setUTCHours(2, 0, 0, 0);
      ids.push(await cloneAs(fresh, day));
    }
    const busy = new Date(now - 3 * DAY);
    for (const h of [5, 9, 13]) {
      busy.setUTCHours(h, 0, 0, 0);
      ids.push(await cloneAs(fresh, new Date(busy), "pre-training"));
    }
    ids.sort().reverse();
    // Folders without a manifest: an abandoned one (3 days old) and one that may still be running.
    for (const at of [new Date(now - 3 * DAY - 60_000), new Date(now - 60_000)])
      await putJson(s3.client(), BUCKET, `${prefix}/redis/${backupIdAt(at)}/dump.rdb`, { partial: true });
  });

  it("list shows the committed backups, newest first, as a table and as JSON", async () => {
    const text = await holdfast(["list"], cronEnv(set, s3.env, prefix));
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^STORE +ID +STATE +COMPLETED +AGE +SIZE +KEYS\/ROWS +REASON$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(ids);
    const json = await holdfast(["list", "--json"], cronEnv(set, s3.env, prefix));
    const rows = JSON.parse(json.stdout);
    expect(rows.map((b: { id: string }) => b.id)).toEqual(ids);
    expect(rows[0]).toMatchObject({
      store: "redis",
      id: ids[0],
      state: "committed",
      reason: "scheduled",
      items: expect.any(Number),
    });
    expect(rows[0].sizeBytes).toBeGreaterThan(0);
    expect(rows[rows.length - 1].ageSeconds).toBeGreaterThan(9 * 86_400);
  });

  it("status exits 1 when the newest backup is older than --max-age, or there is none", async () => {
    const ok = await holdfast(["status", "--max-age", "24h"], cronEnv(set, s3.env, prefix));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`redis +${ids[0]} .* ok`));
    await new Promise((r) => setTimeout(r, 1100));
    const stale = await holdfast(["status", "--max-age", "1s", "--json"], cronEnv(set, s3.env, prefix));
    expect(stale.code).toBe(1);
    expect(JSON.parse(stale.stdout)[0]).toMatchObject({ store: "redis", ok: false });
    const none = await holdfast(["status", "--store", "redis"], cronEnv(set, s3.env, "nothing-here"));
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/STALE: no backup/);
  });

  it("prune --dry-run says what it would delete and deletes nothing", async () => {
    const before = await keysUnder(`${prefix}/`);
    const r = await holdfast(
      ["prune", "--dry-run", "--keep-last", "3", "--keep-daily", "5", "--json"],
      cronEnv(set, s3.env, prefix),
    );
    expect(r.code).toBe(0);
    const [report] = JSON.parse(r.stdout);
    expect(report.dryRun).toBe(true);
    expect(await keysUnder(`${prefix}/`)).toEqual(before);
    expect(report.deleted.length).toBeGreaterThan(0);
  });

  it("prune keeps the newest N and one per day, deletes the rest manifest first, and removes abandoned folders", async () => {
    const r = await holdfast(
      ["prune", "--keep-last", "3", "--keep-daily", "5", "--json"],
      cronEnv(set, s3.env, prefix),
    );
    expect(r.code).toBe(0);
    const [report] = JSON.parse(r.stdout);
    const kept = report.kept
      .map((k: { id: string }) => k.id)
      .sort()
      .reverse();
    // The newest three whatever their age, then the newest of each of five days.
    expect(kept.slice(0, 3)).toEqual(ids.slice(0, 3));
    const days = new Set(kept.map((id: string) => id.slice(0, 8)));
    expect(days.size).toBe(kept.length - (kept.length - days.size));
    const remaining = new Set((await keysUnder(`${prefix}/redis/`)).map((k) => k.split("/")[2]));
    for (const id of kept) expect(remaining.has(id)).toBe(true);
    for (const id of ids.filter((x) => !kept.includes(x))) expect(remaining.has(id)).toBe(false);
    // The abandoned folder went, the one that may still be running stayed.
    expect(remaining.size).toBe(kept.length + 1);
    expect(report.deleted.length).toBe(ids.length - kept.length + 1);
  });

  it("drill verifies the newest backup of each store and reports", async () => {
    const r = await holdfast(["drill", "--json"], cronEnv(set, s3.env, prefix));
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.stores[0]).toMatchObject({
      store: "redis",
      ok: true,
      newest: { id: ids[0] },
      verification: { ok: true },
    });
    expect(logLines(r.stderr).some((l) => l.msg === "verifying")).toBe(true);
    const text = await holdfast(["drill", "--max-age", "1s"], cronEnv(set, s3.env, prefix));
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/restore drill of s3:\/\/holdfast-backups\/ops\/: FAILED/);
  });
});
