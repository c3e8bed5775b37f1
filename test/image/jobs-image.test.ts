// The jobs image, built (npm run image:test builds it first) and run the way Kubernetes runs it: read-only
// root filesystem, tmpfs /tmp, as uid 999 (the Redis pods' user) and as an arbitrary uid with group 0
// (OpenShift's restricted profile), on the host's network. Each user backs up the harness's loopback
// Sentinel set into s3rver, restores it into a mounted folder that a redis-server then serves (the RDB
// byte for byte, every key by value and TTL), backs up and restores a LanceDB folder, verifies and drills
// the backups, gets a one-line exit 2 for bad input, and is stopped (docker stop) in the middle of a
// backup: it exits on SIGTERM without waiting for the kill and leaves no manifest. The stack commands,
// with a Pulumi CLI but no Automation API in the image, say in one line to pass --outputs.
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Redis from "ioredis";
import { RedisSet } from "../../harness/redis-set";
import { S3Server } from "../../harness/s3";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { waitFor } from "../../harness/processes";
import { handOver } from "../../harness/container-job";
import {
  compareSnapshots,
  fillEveryType,
  snapshotDataset,
  type KeySnapshot,
} from "../../harness/redis-dataset";
import { getBytes, getJson, listObjects } from "../../jobs/store/s3";
import type { RedisBackupManifest } from "../../jobs/redis-backup/manifest";
import { BUCKET, cronEnv } from "../backup/cli";
import { buildDatabase, expectedRows, tableRows } from "../lancedb/support";
import { dockerStop, runImage } from "./run-image";

jest.setTimeout(600_000);

const MiB = 1024 * 1024;
const VERSION = (
  JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
    version: string;
  }
).version;

let set: RedisSet;
let s3: S3Server;
let admin: Redis;
let work: string;
let lancedbSource: string;
let lancedbIds: Record<string, number[]>;
let expected: Map<string, KeySnapshot>;
let snapshotAt: number;
const servers: StandaloneRedis[] = [];

beforeAll(async () => {
  [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-image-"));
  admin = set.connect(await set.waitForHealthy(), "admin");
  await admin.connect();
  await fillEveryType(admin);
  // About 12 MB of incompressible values: a stream of three 5 MiB parts, so a backup can be stopped mid-way.
  await admin.select(0);
  const p = admin.pipeline();
  for (let i = 0; i < 120; i++) p.set(`kb0:emotives:blob:${i}`, randomBytes(100_000));
  await p.exec();
  await admin.call("WAIT", "2", "20000");
  expected = await snapshotDataset(admin);
  snapshotAt = Date.now();
  lancedbSource = path.join(work, "lancedb-source");
  lancedbIds = await buildDatabase(lancedbSource, 500);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.cleanup()));
  admin?.disconnect();
  await Promise.all([set?.cleanup(), s3?.cleanup()]);
  if (work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
});

/** A folder of the host that the container's user owns, as a pod's volume is (fsGroup or a chown). */
function volume(name: string, user: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  const [uid, gid] = user.split(":").map(Number);
  fs.chownSync(dir, uid, gid);
  return dir;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listObjects(s3.client(), BUCKET, prefix)) keys.push(o.key);
  return keys.sort();
}

// 999: the Redis pods' user. 1000740000:0: an arbitrary uid of group 0, as OpenShift assigns it.
describe.each([["999:999"], ["1000740000:0"]])("the image as uid:gid %s", (user) => {
  const prefix = `image-${user.split(":")[0]}`;
  const env = () => cronEnv(set, s3.env, prefix);
  let redisBackup: string;

  it("prints its version, on a read-only root filesystem", async () => {
    const r = await runImage(["--version"], { user });
    expect(r).toMatchObject({ code: 0, stdout: `holdfast ${VERSION}\n`, stderr: "" });
  });

  it("answers bad input with one line and exit 2", async () => {
    const r = await runImage(["backup", "redis", "--source", "somewhere"], { user, env: env() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^holdfast: [^\n]*source[^\n]*\n$/);
  });

  it("backs up the Sentinel set into S3, manifest last, the RDB as stored", async () => {
    const r = await runImage(["backup", "redis", "--json"], { user, env: env() });
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    redisBackup = String(JSON.parse(r.stdout).id);
    const m = await getJson<RedisBackupManifest>(
      s3.client(),
      BUCKET,
      `${prefix}/redis/${redisBackup}/manifest.json`,
    );
    const rdb = await getBytes(s3.client(), BUCKET, m.objects["dump.rdb"].key);
    expect(createHash("sha256").update(rdb).digest("hex")).toBe(m.objects["dump.rdb"].sha256);
    expect(m.dataset.keys).toBe(expected.size);
  });

  it("restores it into a mounted data directory that a redis-server then serves, byte for byte", async () => {
    const dir = path.join(work, `redis-restore-${prefix}`);
    const data = volume(`redis-restore-${prefix}/data`, user);
    const r = await runImage(
      ["restore", "redis", "--backup", redisBackup, "--data-dir", "/data", "--appendonly", "no"],
      { user, env: env(), mounts: { [data]: "/data" } },
    );
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(fs.readdirSync(data)).toEqual(["dump.rdb"]);
    const m = await getJson<RedisBackupManifest>(
      s3.client(),
      BUCKET,
      `${prefix}/redis/${redisBackup}/manifest.json`,
    );
    const stored = await getBytes(s3.client(), BUCKET, m.objects["dump.rdb"].key);
    expect(fs.readFileSync(path.join(data, "dump.rdb")).equals(stored)).toBe(true);
    const served = await StandaloneRedis.start(["appendonly no"], dir);
    servers.push(served);
    const problems = compareSnapshots(
      expected,
      await snapshotDataset(served.client()),
      Date.now() - snapshotAt + 5000,
    );
    expect(problems).toEqual([]);
  });

  it("backs up a LanceDB folder and restores it into another, every row back", async () => {
    // The application's volume, written by the application as the user the backup job runs as
    // (LanceDB writes its files readable by their owner only).
    const source = path.join(work, `lancedb-source-${prefix}`);
    fs.cpSync(lancedbSource, source, { recursive: true });
    handOver([source], user);
    const b = await runImage(["backup", "lancedb", "--data-dir", "/lancedb", "--json"], {
      user,
      env: env(),
      mounts: { [source]: "/lancedb:ro" },
    });
    expect({ code: b.code, stderr: b.code === 0 ? "" : b.stderr }).toEqual({ code: 0, stderr: "" });
    const target = volume(`lancedb-restore-${prefix}`, user);
    const r = await runImage(["restore", "lancedb", "--backup", "latest", "--data-dir", "/lancedb"], {
      user,
      env: env(),
      mounts: { [target]: "/lancedb" },
    });
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    for (const table of ["docs", "events", "legacy"])
      expect(await tableRows(target, table)).toEqual(expectedRows(lancedbIds[table]));
  });

  it("verifies and drills both stores' latest backups", async () => {
    const v = await runImage(["verify", "--backup", "latest"], { user, env: env() });
    expect({ code: v.code, stderr: v.code === 0 ? "" : v.stderr }).toEqual({ code: 0, stderr: "" });
    expect(v.stdout).toMatch(/redis/);
    expect(v.stdout).toMatch(/lancedb/);
    const d = await runImage(["drill", "--max-age", "1h"], { user, env: env() });
    expect({ code: d.code, stderr: d.code === 0 ? "" : d.stderr }).toEqual({ code: 0, stderr: "" });
  });

  it("stops on docker stop in the middle of a backup: no manifest, no wait for the kill", async () => {
    const name = `holdfast-image-test-${prefix}-${process.pid}`;
    const before = await keysUnder(`${prefix}/redis/`);
    const { partBytes } = await s3.state();
    await s3.hold(partBytes + 5 * MiB);
    try {
      const run = runImage(["backup", "redis", "--part-size", "5MiB", "--upload-concurrency", "1"], {
        user,
        env: env(),
        name,
      });
      await waitFor("S3 to hold the upload mid-stream", async () => (await s3.state()).waiting >= 1, 120_000);
      const seconds = dockerStop(name, 20);
      const r = await run;
      // tini passes SIGTERM on; the CLI ends at once (128 + 15), long before docker's SIGKILL (137).
      expect(r.code).toBe(143);
      expect(seconds).toBeLessThan(10);
    } finally {
      await s3.release();
    }
    const after = (await keysUnder(`${prefix}/redis/`)).filter((k) => !before.includes(k));
    expect(after.filter((k) => k.endsWith("manifest.json"))).toEqual([]);
  });
});

it("leaves the Automation API out: the stack commands say in one line to pass --outputs", async () => {
  // A Pulumi CLI on PATH (a stand-in that answers `pulumi version`), so the CLI reaches for the API.
  const bin = path.join(work, "pulumi");
  fs.writeFileSync(bin, "#!/bin/sh\necho v3.200.0\n", { mode: 0o755 });
  const r = await runImage(["stack", "list", "--stack", "dev"], {
    user: "999:999",
    mounts: { [bin]: "/usr/local/sbin/pulumi:ro" },
  });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(
    /^holdfast: the Pulumi Automation API \(@pulumi\/pulumi\) is not installed here[^\n]*--outputs FILE[^\n]*\n$/,
  );
});
