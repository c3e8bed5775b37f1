// The faults the backup and restore must survive, with real processes: the Sentinel set of the harness
// (1 primary, 2 replicas, 3 sentinels), s3rver on loopback, the CLI as a subprocess.
// - The node being streamed from is killed mid-backup: the backup completes from another node, or with
//   --attempts 1 fails with exit 1; either way no manifest and no incomplete multipart upload is left.
// - S3 goes away mid-upload: exit 1, no manifest; the next run succeeds.
// - One byte of a stored RDB flipped: restore refuses and leaves the data directory untouched; verify
//   reports it.
// - A restore killed with SIGKILL at every step: re-running finishes, and the data the directory held
//   before is kept aside, once, byte for byte; a byte of the staged RDB changed in between is caught by
//   the re-run, which downloads it again.
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Redis from "ioredis";
import { RedisSet, type PodProcess } from "../../harness/redis-set";
import { waitFor } from "../../harness/processes";
import { getJson, listObjects } from "../../jobs/store/s3";
import type { RedisBackupManifest } from "../../jobs/redis-backup/manifest";
import { BUCKET, cronEnv, holdfast, jsonError, logLines, startHoldfast } from "./cli";
import { liveCounts } from "../../harness/redis-dataset";
import { treeDigest } from "./files";
import { S3Server } from "../../harness/s3";
import { StandaloneRedis } from "../../harness/standalone-redis";

jest.setTimeout(300_000);

const MiB = 1024 * 1024;
const PREFIX = "faults";
const UPLOAD = ["--part-size", "5MiB", "--upload-concurrency", "2"];

let set: RedisSet;
let s3: S3Server;
let admin: Redis;
let work: string;
let oldData: StandaloneRedis;
let keyCount: number;
const servers: StandaloneRedis[] = [];

beforeAll(async () => {
  [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-faults-"));
  admin = set.connect(await set.waitForHealthy(), "admin");
  await admin.connect();
  // About 48 MB of incompressible values: a stream long enough to be interrupted in the middle.
  for (let i = 0; i < 480; i += 40) {
    const p = admin.pipeline();
    for (let j = i; j < i + 40; j++) p.set(`kb${j % 7}:emotives:${j}`, randomBytes(100_000));
    await p.exec();
  }
  await admin.hset("kb1:metadata:p1", { tag: "kept" });
  await admin.set("ttl:key", "v", "EX", 3600);
  await admin.call("WAIT", "2", "20000");
  keyCount = await admin.dbsize();
  // What a data directory held before a restore: an RDB and an AOF of another dataset.
  oldData = await StandaloneRedis.start(["appendonly yes"]);
  const c = oldData.client();
  for (let i = 0; i < 100; i++) await c.set(`old:${i}`, `previous value ${i}`);
  await oldData.save();
  await oldData.stop(true);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.cleanup()));
  await Promise.all([set?.cleanup(), s3?.cleanup(), oldData?.cleanup()]);
  if (work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => cronEnv(set, s3.env, PREFIX, extra);

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listObjects(s3.client(), BUCKET, prefix)) keys.push(o.key);
  return keys.sort();
}

function manifestOf(id: string): Promise<RedisBackupManifest> {
  return getJson<RedisBackupManifest>(s3.client(), BUCKET, `${PREFIX}/redis/${id}/manifest.json`);
}

/** Starts a backup whose upload S3 holds after 10 MiB, and waits until the stream is stopped mid-way. */
async function backupHeldMidStream(args: string[] = []) {
  const { partBytes } = await s3.state();
  await s3.hold(partBytes + 10 * MiB);
  const run = startHoldfast(["backup", "redis", ...UPLOAD, "--json", ...args], env());
  await waitFor("S3 to hold the upload mid-stream", async () => (await s3.state()).waiting >= 1, 60_000);
  const started = logLines(run.stderr()).find((l) => l.msg === "streaming the snapshot");
  expect(started).toBeDefined();
  const source = set.data.find((d) => `127.0.0.1:${d.port}` === started!.source)!;
  return { run, source, id: String(started!.backup) };
}

async function restart(pod: PodProcess): Promise<void> {
  await set.startData(pod.ordinal);
  await set.waitForHealthy(60_000);
}

describe("backup faults", () => {
  it("the node streamed from is killed mid-backup: the backup completes from another node, nothing is left of the first attempt", async () => {
    const { run, source } = await backupHeldMidStream();
    expect(source.server).toBeDefined();
    await set.kill(source);
    await s3.release();
    const r = await run.done;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const id = JSON.parse(r.stdout).id as string;
    const m = await manifestOf(id);
    expect(m.source.address).not.toBe(`127.0.0.1:${source.port}`);
    expect(m.dataset.keys).toBe(keyCount);
    const failed = logLines(r.stderr).find((l) => l.msg === "the snapshot from this node failed");
    expect(failed).toMatchObject({ node: `127.0.0.1:${source.port}` });
    expect(Number(failed!.bytes)).toBeGreaterThan(0);
    expect(s3.incompleteUploads(BUCKET)).toEqual([]);
    expect(await keysUnder(`${PREFIX}/redis/${id}/`)).toEqual([
      `${PREFIX}/redis/${id}/dump.rdb`,
      `${PREFIX}/redis/${id}/manifest.json`,
    ]);
    expect((await holdfast(["verify", "--backup", id], env())).code).toBe(0);
    await restart(source);
  });

  it("with --attempts 1 it fails with exit 1 instead, leaving no manifest and no incomplete upload", async () => {
    const { run, source, id } = await backupHeldMidStream(["--attempts", "1"]);
    await set.kill(source);
    await s3.release();
    const r = await run.done;
    expect(r.code).toBe(1);
    const error = jsonError(r.stderr);
    expect(error).toMatchObject({ kind: "failure", exitCode: 1 });
    expect(error.message).toMatch(new RegExp(`^backup ${id} failed: 127.0.0.1:${source.port}: .*closed`));
    expect(error.state).toMatch(
      /^no manifest was written, so backup \S+ does not exist; nothing was left in the bucket/,
    );
    expect(await keysUnder(`${PREFIX}/redis/${id}/`)).toEqual([]);
    expect(s3.incompleteUploads(BUCKET)).toEqual([]);
    await restart(source);
  });

  it("S3 goes away mid-upload: exit 1 and no manifest; the next run succeeds", async () => {
    const { run, id } = await backupHeldMidStream();
    await s3.kill();
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(jsonError(r.stderr).message).toMatch(
      new RegExp(
        `^backup ${id} failed while streaming from .*: uploading part \\d+ of ${PREFIX}/redis/${id}/dump.rdb failed`,
      ),
    );
    expect(r.stderr).toMatch(
      /could not be reached to abort the incomplete multipart upload \w+ of s3:\/\/holdfast-backups\/faults\/redis\/\S+\/dump.rdb/,
    );
    await s3.resume();
    expect(await keysUnder(`${PREFIX}/redis/${id}/`)).toEqual([]);
    const next = await holdfast(["backup", "redis", ...UPLOAD, "--json"], env());
    expect({ code: next.code, stderr: next.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const nextId = JSON.parse(next.stdout).id as string;
    expect((await manifestOf(nextId)).dataset.keys).toBe(keyCount);
    expect((await holdfast(["list", "--json"], env())).stdout).not.toMatch(id);
    expect((await holdfast(["verify", "--backup", nextId], env())).code).toBe(0);
  });
});

describe("backup source", () => {
  it("is the primary only when asked, or when no replica is healthy, and the log says so", async () => {
    const primary = await set.waitForHealthy();
    const asked = await holdfast(["backup", "redis", "--source", "primary", "--json"], env());
    expect(asked.code).toBe(0);
    expect((await manifestOf(JSON.parse(asked.stdout).id)).source).toMatchObject({
      role: "primary",
      address: `127.0.0.1:${primary.port}`,
    });
    const replicas = set.data.filter((d) => d !== primary);
    await Promise.all(replicas.map((r) => set.kill(r)));
    try {
      const r = await holdfast(["backup", "redis", "--json"], env());
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      expect((await manifestOf(JSON.parse(r.stdout).id)).source.role).toBe("primary");
      const logs = logLines(r.stderr);
      expect(logs.filter((l) => l.msg === "not a backup source").map((l) => l.node)).toEqual(
        expect.arrayContaining(replicas.map((x) => `127.0.0.1:${x.port}`)),
      );
      expect(logs.some((l) => l.level === "warn" && /no healthy replica/.test(String(l.msg)))).toBe(true);
    } finally {
      for (const r of replicas) await set.startData(r.ordinal);
      await set.waitForHealthy(60_000);
    }
  });
});

describe("restore faults", () => {
  let id: string;
  let manifest: RedisBackupManifest;

  beforeAll(async () => {
    // A restore needs no stream long enough to interrupt: 6 of the 48 MB of incompressible values stay,
    // which a restore downloads, checks, loads and places as it would 48, in a fraction of the time.
    const primary = set.connect(await set.waitForHealthy(60_000), "admin");
    await primary.connect();
    const p = primary.pipeline();
    for (let j = 60; j < 480; j++) p.del(`kb${j % 7}:emotives:${j}`);
    await p.exec();
    await primary.call("WAIT", "2", "20000");
    expect(await primary.dbsize()).toBe(keyCount - 420);
    const r = await holdfast(["backup", "redis", "--json", "--pattern", "*:emotives:*"], env());
    expect(r.code).toBe(0);
    id = JSON.parse(r.stdout).id;
    manifest = await manifestOf(id);
  });

  /** A data directory holding the old dataset, as a pod's volume before the restore. */
  function volume(name: string): string {
    const dir = path.join(work, name, "data");
    fs.cpSync(oldData.dataDir, dir, { recursive: true });
    return dir;
  }

  /** Checks a finished restore: the backup is served, the old data kept aside once, nothing else left. */
  async function expectRestored(dir: string, original: Record<string, string>): Promise<void> {
    expect(fs.readdirSync(dir).sort()).toEqual(["appendonlydir", "dump.rdb", "holdfast-aside"]);
    const aside = fs.readdirSync(path.join(dir, "holdfast-aside"));
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/^\d{8}T\d{6}Z-pre-restore$/);
    expect(treeDigest(path.join(dir, "holdfast-aside", aside[0]))).toEqual(original);
    const r = await StandaloneRedis.start(["appendonly yes"], path.dirname(dir));
    servers.push(r);
    const counts = await liveCounts(r.client(), ["*:emotives:*"], [0]);
    expect(counts.keys).toEqual({ "0": manifest.dataset.keys });
    expect(counts.patterns["0"]["*:emotives:*"]).toBe(manifest.dataset.patterns["*:emotives:*"]);
    expect(await r.client().get("old:1")).toBeNull();
    await r.stop(true);
  }

  it("one byte of the stored RDB flipped: restore refuses and leaves the directory untouched; verify reports it", async () => {
    const stored = path.join(s3.dataDir, BUCKET, PREFIX, "redis", id, "dump.rdb._S3rver_object");
    const bytes = fs.readFileSync(stored);
    const at = Math.floor(bytes.length / 2);
    bytes[at] ^= 0x01;
    fs.writeFileSync(stored, bytes);
    try {
      const dir = volume("flipped");
      const before = treeDigest(dir);
      const r = await holdfast(["restore", "redis", "--backup", id, "--data-dir", dir], env());
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `holdfast: backup ${id} is damaged: .*sha256 [0-9a-f]{64}, the manifest says ${manifest.objects["dump.rdb"].sha256}`,
        ),
      );
      expect(r.stderr).toMatch(/holdfast: .* was not touched/);
      expect(treeDigest(dir)).toEqual(before);
      const v = await holdfast(["verify", "--backup", id], env());
      expect(v.code).toBe(1);
      expect(v.stdout).toMatch(new RegExp(`redis ${id}: FAILED`));
      expect(v.stdout).toMatch(/FAIL {2}dump.rdb is intact and matches the manifest: .*(checksum|sha256)/);
    } finally {
      bytes[at] ^= 0x01;
      fs.writeFileSync(stored, bytes);
    }
    expect((await holdfast(["verify", "--backup", id], env())).code).toBe(0);
  });

  const points: [string, string, string[]][] = [
    ["restore-loaded", "the server loading as it downloads holds the dataset", []],
    ["restore-downloaded", "after the download and its verification", []],
    ["restore-aside-entry", "between moving two entries aside", []],
    ["restore-aside", "after moving the old dataset aside", []],
    ["restore-place", "while placing the new dataset", []],
    ["restore-downloaded", "after the download, --verify layout", ["--verify", "layout"]],
    ["restore-verify", "before the layout load, --verify layout", ["--verify", "layout"]],
    ["restore-loaded", "while the layout load holds the dataset, --verify layout", ["--verify", "layout"]],
  ];
  it.each(points)(
    "killed with SIGKILL at %s (%s): re-running finishes, the old data is kept aside",
    async (point, _when, extra) => {
      const dir = volume(`${point}${extra.join("")}`);
      const original = treeDigest(dir);
      const args = ["restore", "redis", "--backup", id, "--data-dir", dir, ...extra];
      const killed = await holdfast(args, env({ HOLDFAST_FAILPOINTS: point }));
      expect(killed.signal).toBe("SIGKILL");
      const pidFile = path.join(dir, "holdfast-restore", "verify", "holdfast-scratch-redis.pid");
      const orphan = fs.existsSync(pidFile)
        ? Number(JSON.parse(fs.readFileSync(pidFile, "utf8")).pid)
        : undefined;
      if (point === "restore-loaded") expect(orphan).toBeGreaterThan(0);
      const again = await holdfast(args, env());
      expect(again.stderr).not.toMatch(/holdfast: /);
      expect(again.code).toBe(0);
      if (orphan) {
        const stat = fs.existsSync(`/proc/${orphan}/stat`)
          ? fs.readFileSync(`/proc/${orphan}/stat`, "utf8")
          : "";
        expect(stat === "" || / Z /.test(stat)).toBe(true);
      }
      await expectRestored(dir, original);
    },
  );

  it.each(["restore-aside", "restore-place"])(
    "a byte of the staged RDB changed after a SIGKILL at %s: the re-run checks all of it, downloads it again, and Redis serves the backup",
    async (point) => {
      const dir = volume(`staged-flipped-${point}`);
      const original = treeDigest(dir);
      const args = ["restore", "redis", "--backup", id, "--data-dir", dir];
      expect((await holdfast(args, env({ HOLDFAST_FAILPOINTS: point }))).signal).toBe("SIGKILL");
      const staged = path.join(dir, "holdfast-restore", "backup.rdb");
      const fd = fs.openSync(staged, "r+");
      try {
        const at = Math.floor(fs.fstatSync(fd).size / 2);
        const byte = Buffer.alloc(1);
        fs.readSync(fd, byte, 0, 1, at);
        byte[0] ^= 0x01;
        fs.writeSync(fd, byte, 0, 1, at);
      } finally {
        fs.closeSync(fd);
      }
      const again = await holdfast(args, env());
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      await expectRestored(dir, original);
      expect(
        logLines(again.stderr).find((l) => /staged RDB is not the verified backup/.test(String(l.msg))),
      ).toMatchObject({
        backup: id,
        problem: expect.stringMatching(/sha256 [0-9a-f]{64}, the manifest says/),
      });
    },
  );

  it("refuses to restore another backup over an interrupted restore, and says how to finish it", async () => {
    const dir = volume("another");
    const original = treeDigest(dir);
    const args = ["restore", "redis", "--data-dir", dir];
    expect(
      (await holdfast([...args, "--backup", id], env({ HOLDFAST_FAILPOINTS: "restore-aside" }))).signal,
    ).toBe("SIGKILL");
    const other = (JSON.parse((await holdfast(["list", "--json"], env())).stdout) as { id: string }[])
      .map((b) => b.id)
      .find((x) => x !== id)!;
    const refused = await holdfast([...args, "--backup", other], env());
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      new RegExp(
        `an interrupted restore of backup ${id} is in ${dir} .*finish it first by re-running with --backup ${id}`,
      ),
    );
    expect((await holdfast([...args, "--backup", id], env())).code).toBe(0);
    await expectRestored(dir, original);
  });

  it("killed with SIGKILL from outside while downloading: re-running with `latest` finishes it", async () => {
    const dir = volume("external-kill");
    const original = treeDigest(dir);
    await s3.hold(Number.MAX_SAFE_INTEGER, true);
    const run = startHoldfast(["restore", "redis", "--backup", "latest", "--data-dir", dir], env());
    await waitFor("the download to start", async () => (await s3.state()).waiting >= 1);
    run.child.kill("SIGKILL");
    expect((await run.done).signal).toBe("SIGKILL");
    await s3.release();
    // Until the old dataset is moved aside, the directory holds it as it was (plus the staging folder).
    const during = treeDigest(dir);
    for (const [p, digest] of Object.entries(original)) expect(during[p]).toBe(digest);
    const again = await holdfast(["restore", "redis", "--backup", "latest", "--data-dir", dir], env());
    expect(again.code).toBe(0);
    await expectRestored(dir, original);
  });
});
