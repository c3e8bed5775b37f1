// `holdfast restore redis --verify serving` with real processes: a standalone redis-server backed up by
// the CLI into s3rver, restored into a data directory that holds another dataset, and served by the
// redis-server the restore starts (its own first load is the verification).
// - The dataset is placed byte for byte (the placed RDB's SHA-256 is the manifest's), served on the port
//   only after the checks, the previous dataset kept aside.
// - A backup whose RDB has a byte flipped but whose manifest agrees with it (a backup whose checks were
//   wrong): the serving load refuses it (Redis's CRC-64), the previous dataset is back in place, no server
//   is left.
// - SIGKILL at every step of the serving path (and of the rollback): the re-run finishes it.
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import Redis from "ioredis";
import { freePort } from "../../harness/processes";
import { S3Server } from "../../harness/s3";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { getJson, putJson } from "../../jobs/store/s3";
import type { RedisBackupManifest } from "../../jobs/redis-backup/manifest";
import { liveCounts } from "../../harness/redis-dataset";
import { BUCKET, holdfast, jsonError } from "./cli";
import { treeDigest } from "./files";

jest.setTimeout(300_000);

const PREFIX = "serving";
const PATTERN = "*:emotives:*";

let s3: S3Server;
let source: StandaloneRedis;
let oldData: StandaloneRedis;
let work: string;
let id: string;
let manifest: RedisBackupManifest;
/** Serving servers the restores started: killed at the end. */
const started = new Set<number>();

const env = (extra: Record<string, string> = {}) => ({
  ...s3.env,
  HOLDFAST_BUCKET: BUCKET,
  HOLDFAST_PREFIX: PREFIX,
  ...extra,
});

beforeAll(async () => {
  [s3, source] = await Promise.all([S3Server.start(), StandaloneRedis.start()]);
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-serving-"));
  const c = source.client();
  // About 24 MB of incompressible values, a hash and a key with a TTL.
  for (let i = 0; i < 240; i += 40) {
    const p = c.pipeline();
    for (let j = i; j < i + 40; j++) p.set(`kb${j % 7}:emotives:${j}`, randomBytes(100_000));
    await p.exec();
  }
  await c.hset("kb1:metadata:p1", { tag: "kept" });
  await c.set("ttl:key", "v", "EX", 3600);
  const r = await holdfast(
    [
      ...["backup", "redis", "--data-dir", source.dataDir, "--redis", `127.0.0.1:${source.port}`],
      ...["--pattern", PATTERN, "--json"],
    ],
    env(),
  );
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  id = JSON.parse(r.stdout).id;
  manifest = await getJson(s3.client(), BUCKET, `${PREFIX}/redis/${id}/manifest.json`);
  // What a data directory held before the restore: an RDB and an AOF of another dataset.
  oldData = await StandaloneRedis.start(["appendonly yes"]);
  const o = oldData.client();
  for (let i = 0; i < 100; i++) await o.set(`old:${i}`, `previous value ${i}`);
  await oldData.save();
  await oldData.stop(true);
});

afterAll(async () => {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await Promise.all([s3?.cleanup(), source?.cleanup(), oldData?.cleanup()]);
  if (work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
});

/** A data directory holding the old dataset, as a volume before the restore. */
function volume(name: string): string {
  const dir = path.join(work, name, "data");
  fs.cpSync(oldData.dataDir, dir, { recursive: true });
  return dir;
}

/** The dataset entries of a directory (what the restore moves and places), by digest. */
function dataset(dir: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(treeDigest(dir)).filter(([p]) => /^(dump\.rdb|appendonlydir)/.test(p)),
  );
}

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Runs a serving restore; remembers the server it started. */
async function restore(dir: string, port: number, args: string[] = [], extra: Record<string, string> = {}) {
  const r = await holdfast(
    [
      ...["restore", "redis", "--data-dir", dir, "--verify", "serving", "--serve-port", String(port)],
      ...["--json", ...args],
    ],
    env(extra),
  );
  if (r.code === 0) started.add(JSON.parse(r.stdout).serving.pid);
  return r;
}

/** The serving pid recorded in an interrupted restore's state file. */
function recordedPid(dir: string): number | undefined {
  const state = path.join(dir, "holdfast-restore", "state.json");
  if (!fs.existsSync(state)) return undefined;
  const pid = JSON.parse(fs.readFileSync(state, "utf8")).serving?.pid;
  if (pid) started.add(pid);
  return pid;
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Checks a finished serving restore: served on `port` by `pid`, byte for byte, the old data aside once. */
async function expectServed(dir: string, port: number, pid: number, original: Record<string, string>) {
  expect(alive(pid)).toBe(true);
  expect(fs.readdirSync(dir).sort()).toEqual([
    "appendonlydir",
    "dump.rdb",
    "holdfast-aside",
    "redis-server.log",
  ]);
  expect(sha256(path.join(dir, "dump.rdb"))).toBe(manifest.objects["dump.rdb"].sha256);
  expect(sha256(path.join(dir, "appendonlydir", "appendonly.aof.1.base.rdb"))).toBe(
    manifest.objects["dump.rdb"].sha256,
  );
  const aside = fs.readdirSync(path.join(dir, "holdfast-aside"));
  expect(aside).toHaveLength(1);
  expect(treeDigest(path.join(dir, "holdfast-aside", aside[0]))).toEqual(original);
  const c = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    const counts = await liveCounts(c, [PATTERN], [0]);
    expect(counts.keys).toEqual({ "0": manifest.dataset.keys });
    expect(counts.patterns["0"][PATTERN]).toBe(manifest.dataset.patterns[PATTERN]);
    expect(await c.hget("kb1:metadata:p1", "tag")).toBe("kept");
    expect(await c.get("old:1")).toBeNull();
    expect(/^aof_enabled:1/m.test(await c.info("persistence"))).toBe(true);
    expect(Number((await c.info("server")).match(/^process_id:(\d+)/m)![1])).toBe(pid);
  } finally {
    c.disconnect();
  }
  process.kill(pid, "SIGKILL");
  started.delete(pid);
}

it("restores byte for byte and leaves the server that loaded it serving, its checks in the output", async () => {
  const dir = volume("served");
  const original = dataset(dir);
  const port = await freePort();
  const r = await restore(dir, port, ["--backup", id]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  const out = JSON.parse(r.stdout);
  expect(out).toMatchObject({ id, verification: "serving", serving: { port, pid: expect.any(Number) } });
  const names = (out.checks as { name: string; ok: boolean }[]).map((c) => c.name);
  expect(out.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
  expect(names).toEqual(
    expect.arrayContaining([
      "the RDB's SHA-256 and size equal the manifest's",
      expect.stringMatching(/^the serving redis-server loaded the placed dataset with rdbchecksum yes/),
      "DBSIZE of db0",
      `keys matching ${PATTERN} in db0`,
    ]),
  );
  // The RDB's last fsync ran during the load and ended before the port opened (the handover).
  expect(Object.keys(out.took)).toEqual([
    ...["startup", "open", "prepare", "download", "verify", "place"],
    ...["start", "load", "checks", "sync", "handover", "cleanup"],
  ]);
  await expectServed(dir, port, out.serving.pid, original);
});

/** Stores a copy of the backup whose RDB has one byte flipped and whose manifest agrees with it. */
async function storeFlippedBackup(): Promise<string> {
  // An older id than the backup's, so `latest` still names the good one.
  const other = "20200101T000000.000Z-badbad";
  const stored = path.join(s3.dataDir, BUCKET, PREFIX, "redis", id, "dump.rdb._S3rver_object");
  const bytes = fs.readFileSync(stored);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  const key = `${PREFIX}/redis/${other}/dump.rdb`;
  await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
  const m: RedisBackupManifest = JSON.parse(JSON.stringify(manifest));
  m.id = other;
  m.objects["dump.rdb"] = {
    ...m.objects["dump.rdb"],
    key,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
  await putJson(s3.client(), BUCKET, `${PREFIX}/redis/${other}/manifest.json`, m);
  return other;
}

describe("a backup whose RDB is damaged but whose manifest agrees", () => {
  let bad: string;
  beforeAll(async () => {
    bad = await storeFlippedBackup();
  });

  it("the serving load refuses it (CRC-64), the previous dataset is back in place, no server is left", async () => {
    const dir = volume("flipped");
    const before = treeDigest(dir);
    const port = await freePort();
    const r = await restore(dir, port, ["--backup", bad]);
    expect(r.code).toBe(1);
    const e = jsonError(r.stderr);
    expect(e.message).toMatch(
      new RegExp(
        `backup ${bad} is damaged: the serving redis-server refuses to load its RDB: .*checksum`,
        "i",
      ),
    );
    expect(e.state).toMatch(/the previous dataset is back in place/);
    const after = treeDigest(dir);
    expect(after["redis-server.log"]).toBeDefined();
    delete after["redis-server.log"];
    expect(after).toEqual(before);
    expect(recordedPid(dir)).toBeUndefined();
    expect(
      fs.readdirSync("/proc").filter((p) => {
        try {
          return fs.readlinkSync(`/proc/${p}/cwd`) === dir;
        } catch {
          return false;
        }
      }),
    ).toEqual([]);
  });

  it("killed with SIGKILL while rolling back: the re-run finishes the rollback and reports the failure", async () => {
    const dir = volume("rollback-killed");
    const before = dataset(dir);
    const port = await freePort();
    const killed = await restore(dir, port, ["--backup", bad], {
      HOLDFAST_FAILPOINTS: "restore-rollback-entry",
    });
    expect(killed.signal).toBe("SIGKILL");
    // One entry is back, the other still aside.
    expect(Object.keys(dataset(dir)).length).toBeGreaterThan(0);
    expect(dataset(dir)).not.toEqual(before);
    const again = await restore(dir, port, ["--backup", bad]);
    expect(again.code).toBe(1);
    expect(jsonError(again.stderr).message).toMatch(/interrupted rollback is finished/);
    expect(dataset(dir)).toEqual(before);
    expect(fs.existsSync(path.join(dir, "holdfast-restore"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "holdfast-aside"))).toBe(false);
  });
});

const points: [string, string][] = [
  ["restore-downloaded", "after the download, nothing moved"],
  ["restore-place", "while placing the new dataset"],
  ["restore-serving", "the serving server has loaded, its checks not done"],
  ["restore-handover", "checked, its port not open yet"],
];
it.each(points)(
  "killed with SIGKILL at %s (%s): re-running finishes, the old data is kept aside",
  async (point) => {
    const dir = volume(`killed-${point}`);
    const original = dataset(dir);
    const port = await freePort();
    const args = ["--backup", id];
    const killed = await restore(dir, port, args, { HOLDFAST_FAILPOINTS: point });
    expect(killed.signal).toBe("SIGKILL");
    const earlier = recordedPid(dir);
    if (point === "restore-serving" || point === "restore-handover") {
      expect(earlier).toBeGreaterThan(0);
      expect(alive(earlier!)).toBe(true);
      // Not reachable on its port before the checks have passed and the restore opened it.
      const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null });
      probe.on("error", () => undefined);
      await expect(probe.connect()).rejects.toThrow();
      probe.disconnect();
    }
    const again = await restore(dir, port, args);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const pid = JSON.parse(again.stdout).serving.pid as number;
    // Checked but not yet serving: the same server is handed over; not yet checked: loaded again.
    if (point === "restore-handover") expect(pid).toBe(earlier);
    if (point === "restore-serving") expect(alive(earlier!)).toBe(false);
    await expectServed(dir, port, pid, original);
  },
);
