// RDBs that real servers write or still load and that the backup got wrong, each through the CLI on a
// standalone server of the engine under test and s3rver: a server with more than 16 databases, an RDB
// the backup cannot use, empty keys Redis drops on load, an unreachable --redis.
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { getJson } from "../../jobs/store/s3";
import type { RedisBackupManifest } from "../../jobs/redis-backup/manifest";
import { BUCKET, holdfast } from "./cli";
import { Crc64 } from "../../jobs/redis-backup/rdb/crc64";
import { takeSnapshotOnDisk } from "../../jobs/redis-backup/backup/data-dir-backup";
import { compareSnapshots, fillEveryType, liveCounts, snapshotDataset } from "../../harness/redis-dataset";
import { len, len64, RdbWriter, str } from "./rdb-writer";
import { S3Server } from "../../harness/s3";
import { waitFor } from "../../harness/processes";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { engineRoot, testEngine } from "../../harness/engine";

jest.setTimeout(180_000);

let s3: S3Server;
let work: string;
const servers: StandaloneRedis[] = [];

beforeAll(async () => {
  s3 = await S3Server.start();
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-rdb-defects-"));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.cleanup()));
  await s3?.cleanup();
  if (work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
});

async function server(config: string[] = [], dir?: string): Promise<StandaloneRedis> {
  const r = await StandaloneRedis.start(config, dir);
  servers.push(r);
  return r;
}

/** The environment of a sidecar's backup of `r`'s directory (the default user may BGSAVE). */
function env(prefix: string): Record<string, string> {
  return {
    ...s3.env,
    HOLDFAST_BUCKET: BUCKET,
    HOLDFAST_PREFIX: prefix,
    HOLDFAST_SENTINEL: "",
    REDIS_USERNAME: "",
  };
}

function backupArgs(r: StandaloneRedis, ...extra: string[]): string[] {
  return ["backup", "redis", "--data-dir", r.dataDir, "--redis", `127.0.0.1:${r.port}`, "--json", ...extra];
}

async function manifest(prefix: string, id: string): Promise<RedisBackupManifest> {
  return getJson<RedisBackupManifest>(s3.client(), BUCKET, `${prefix}/redis/${id}/manifest.json`);
}

it("a server with databases 64 and keys in db 40 is verified and restored (the throw-away server gets 41 databases)", async () => {
  const r = await server(["databases 64"]);
  const c = r.client();
  await c.select(40);
  await c.set("db40:emotives:a", "1");
  await c.hset("db40:metadata:a", { f: "v" });
  await c.select(0);
  await c.set("db0:key", "0");
  const expected = await snapshotDataset(c, [0, 40]);
  const b = await holdfast(backupArgs(r), env("dbs"));
  expect(b.code).toBe(0);
  const id = JSON.parse(b.stdout).id;
  expect(Object.keys((await manifest("dbs", id)).dataset.databases)).toEqual(["0", "40"]);
  const v = await holdfast(["verify", "--store", "redis", "--backup", id], env("dbs"));
  expect(v.stdout).toMatch(/ok {4}DBSIZE of db40: 2 \(backup: 2\)/);
  expect(v.code).toBe(0);
  const target = path.join(work, "dbs");
  fs.mkdirSync(path.join(target, "data"), { recursive: true });
  const restore = await holdfast(
    ["restore", "redis", "--backup", id, "--data-dir", path.join(target, "data")],
    env("dbs"),
  );
  expect(restore.stderr).toMatch(/holds keys in db40: the Redis that serves .* needs databases 41 or more/);
  expect(restore.code).toBe(0);
  const served = await server(["databases 64", "appendonly yes"], target);
  expect(compareSnapshots(expected, await snapshotDataset(served.client(), [0, 40]), 60_000)).toEqual([]);
});

it("a dump.rdb the backup cannot use ends with its reason, not EBADF, and leaves no backup", async () => {
  const r = await server();
  // A value of 4 MiB, then a byte no RDB type has: the scanner stops in the middle of the file.
  const rdb = new RdbWriter(10)
    .select(0)
    .key(0, "big", str(randomBytes(4 << 20)))
    .raw(Buffer.from([30]))
    .finish();
  fs.writeFileSync(path.join(r.dataDir, "dump.rdb"), rdb);
  const b = await holdfast(backupArgs(r, "--skip-bgsave"), env("bad"));
  expect(b.stderr).not.toMatch(/EBADF|unexpected failure/);
  expect(b.stderr).toMatch(/unknown RDB type or opcode 30 \(at byte 41943\d\d of the RDB\)/);
  expect(b.code).toBe(1);
  const list = await holdfast(["list", "--store", "redis", "--json"], env("bad"));
  expect(JSON.parse(list.stdout)).toEqual([]);
});

it("an S3 outage mid-transfer says so, not EBADF", async () => {
  const r = await server();
  await r.client().set("big", randomBytes(12 << 20));
  await r.save();
  await s3.hold(0);
  const run = holdfast(backupArgs(r, "--skip-bgsave", "--part-size", "5MiB"), env("outage"));
  try {
    // The bucket goes away once the backup is uploading (a part waits at the bucket).
    await waitFor("a part upload waiting at the bucket", async () => (await s3.state()).waiting > 0, 60_000);
    await s3.kill();
    const b = await run;
    expect(b.stderr).toMatch(/S3/);
    expect(b.stderr).not.toMatch(/EBADF|unexpected failure/);
    expect(b.code).toBe(1);
  } finally {
    await run;
    await s3.resume();
  }
});

it("empty keys Redis drops on load are not counted, and the backup says so", async () => {
  const dir = path.join(work, "empty");
  fs.mkdirSync(path.join(dir, "data"), { recursive: true });
  // An RDB of a server that kept empty collections (a bug of old releases): Redis 7+ drops them on load.
  const rdb = new RdbWriter(9)
    .select(0)
    .key(0, "kept", str("v"))
    .key(1, "empty:list", len(0))
    .key(2, "empty:set", len(0))
    .key(4, "kb1:metadata:empty", len(0))
    .key(4, "kb1:metadata:full", len(1), str("f"), str("v"))
    .finish();
  fs.writeFileSync(path.join(dir, "data", "dump.rdb"), rdb);
  const r = await server([], dir);
  expect(await r.client().dbsize()).toBe(2);
  const b = await holdfast(backupArgs(r, "--skip-bgsave", "--pattern", "*:metadata:*"), env("empty"));
  expect(b.stderr).not.toMatch(/holdfast:/);
  expect(b.code).toBe(0);
  expect(b.stderr).toMatch(/the RDB holds empty keys; Redis drops them when it loads it/);
  const m = await manifest("empty", JSON.parse(b.stdout).id);
  expect(m.dataset.databases["0"]).toMatchObject({ keys: 2, empty: 3, patterns: { "*:metadata:*": 1 } });
  expect(m.checks).toContain("scan: ok (RDB 9, 2 keys, 3 empty keys a load drops)");
  const v = await holdfast(["verify", "--store", "redis", "--backup", m.id], env("empty"));
  expect(v.code).toBe(0);
});

it("--data-dir with --redis unreachable is bad input: exit 2, naming the address", async () => {
  const dir = path.join(work, "nobody");
  fs.mkdirSync(dir, { recursive: true });
  const b = await holdfast(["backup", "redis", "--data-dir", dir, "--redis", "127.0.0.1:1"], env("nobody"));
  expect(b.stderr.trim().split("\n")).toHaveLength(1);
  expect(b.stderr).toMatch(/cannot reach the Redis of --redis 127\.0\.0\.1:1/);
  expect(b.code).toBe(2);
});

describe("an RDB format this Holdfast does not know", () => {
  it("is backed up byte for byte, counted by a load in the same engine, and restored", async () => {
    const r = await server();
    const c = r.client();
    await fillEveryType(c);
    const expected = await snapshotDataset(c);
    // The scanner is made to know RDB 1 to 9 only: today's engine writes a format "newer" than it.
    const b = await holdfast(backupArgs(r, "--pattern", "*:emotives:*"), {
      ...env("unknown"),
      HOLDFAST_RDB_SCANNER_MAX: "9",
    });
    expect(b.code).toBe(0);
    const m = await manifest("unknown", JSON.parse(b.stdout).id);
    const live = await liveCounts(c, ["*:emotives:*"]);
    expect(m.checks).toEqual([
      `sha256: ${m.objects["dump.rdb"].sha256}`,
      `crc64: ok (${m.objects["dump.rdb"].crc64})`,
      `scan: skipped (RDB version ${m.redis.rdbVersion} unknown to this Holdfast (it reads 1 to 9))`,
      expect.stringMatching(
        new RegExp(
          `^load: ok \\(redis-server loaded it in \\d+ ms; counts are what it holds, ${expected.size} keys\\)$`,
        ),
      ),
    ]);
    expect(Object.fromEntries(Object.entries(m.dataset.databases).map(([db, d]) => [db, d.keys]))).toEqual(
      live.keys,
    );
    expect(
      Object.fromEntries(Object.entries(m.dataset.databases).map(([db, d]) => [db, d.patterns])),
    ).toEqual(live.patterns);
    const target = path.join(work, "unknown");
    fs.mkdirSync(path.join(target, "data"), { recursive: true });
    const restore = await holdfast(
      ["restore", "redis", "--backup", m.id, "--data-dir", path.join(target, "data")],
      { ...env("unknown"), HOLDFAST_RDB_SCANNER_MAX: "9" },
    );
    expect(restore.code).toBe(0);
    const served = await server(["appendonly yes"], target);
    expect(compareSnapshots(expected, await snapshotDataset(served.client()), 60_000)).toEqual([]);
  });

  it("is still backed up when no server here can load it, and the manifest says which checks ran", async () => {
    const r = await server();
    await r.client().set("k", "v");
    const file = await r.save();
    // The same RDB under a version no engine of today reads (RDB 13), its CRC-64 made right again.
    const body = fs.readFileSync(file).subarray(0, -8);
    body.write("0013", 5, "latin1");
    fs.writeFileSync(file, Buffer.concat([body, new Crc64().update(body).bytes()]));
    const b = await holdfast(backupArgs(r, "--skip-bgsave"), env("future"));
    expect(b.code).toBe(0);
    expect(b.stderr).toMatch(/stored byte for byte, but no throw-away server here could load this format/);
    const m = await manifest("future", JSON.parse(b.stdout).id);
    expect(m.redis.rdbVersion).toBe(13);
    expect(m.checks).toEqual([
      `sha256: ${m.objects["dump.rdb"].sha256}`,
      `crc64: ok (${m.objects["dump.rdb"].crc64})`,
      "scan: skipped (RDB version 13 unknown to this Holdfast (it reads 1 to 12))",
      expect.stringMatching(
        /^load: failed \(the backup was written by .* \(RDB 13\); the throw-away server redis-server is .*, which cannot load it/,
      ),
    ]);
    expect(fs.readFileSync(file).equals(Buffer.concat([body, new Crc64().update(body).bytes()]))).toBe(true);
  });
});

/** A server binary that reads older RDBs than the engine under test writes, where this machine has one. */
function olderReader(): string | undefined {
  const e = testEngine();
  if (e.name === "redis8") return path.join(engineRoot(), "bin", "valkey8", "valkey-server");
  if (e.name === "valkey8") return "/usr/bin/redis-server"; // Debian's Redis 7.0: RDB 10
  return undefined;
}

(olderReader() ? it : it.skip)(
  "verify refuses up front a throw-away server that cannot load the backup, naming both engines",
  async () => {
    const r = await server();
    await r.client().set("k", "v");
    const b = await holdfast(backupArgs(r), env("older"));
    expect(b.code).toBe(0);
    const id = JSON.parse(b.stdout).id;
    const v = await holdfast(
      ["verify", "--store", "redis", "--backup", id, "--redis-server", olderReader()!],
      env("older"),
    );
    expect(v.stdout).toMatch(
      /the backup was written by (Redis|Valkey) \S+ \(RDB 1[12]\); the throw-away server \S+ is (Valkey|Redis) \S+, which cannot load it/,
    );
    expect(v.code).toBe(1);
  },
);

it("a backup holding values of a module type the throw-away server lacks is refused clearly, naming the type", async () => {
  const r = await server();
  // A module value (type 7) of module type "holdfastM": its name in 9 characters of 6 bits, then a
  // 10-bit encoding version; one string and the module EOF.
  const charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let id = 0n;
  for (const ch of "holdfastM") id = (id << 6n) | BigInt(charset.indexOf(ch));
  id = (id << 10n) | 1n;
  const rdb = new RdbWriter(10)
    .select(0)
    .key(0, "plain", str("v"))
    .key(7, "mod:key", len64(Number(id >> 32n), Number(id & 0xffffffffn)), len(5), str("module data"), len(0))
    .finish();
  fs.writeFileSync(path.join(r.dataDir, "dump.rdb"), rdb);
  const b = await holdfast(backupArgs(r, "--skip-bgsave"), env("module"));
  expect(b.code).toBe(0);
  const m = await manifest("module", JSON.parse(b.stdout).id);
  expect(m.dataset.modules).toEqual(["holdfastM"]);
  expect(m.dataset.databases["0"].types).toEqual({ string: 1, holdfastM: 1 });
  const v = await holdfast(["verify", "--store", "redis", "--backup", m.id], env("module"));
  expect(v.stdout).toMatch(
    /the backup holds values of module type holdfastM, which the throw-away server redis-server cannot load without the module: give it with --load-module PATH/,
  );
  expect(v.code).toBe(1);
});

it("a BGSAVE that ends in the same second as the save before it is seen done (LASTSAVE counts whole seconds)", async () => {
  const r = await server();
  await r.client().set("k", "v");
  // Just after a second starts: SAVE, then the BGSAVE, both done well within that second.
  await new Promise((res) => setTimeout(res, 1000 - (Date.now() % 1000) + 20));
  await r.client().save();
  const started = Date.now();
  await takeSnapshotOnDisk({ host: "127.0.0.1", port: r.port }, {}, 5000);
  expect(Date.now() - started).toBeLessThan(2000);
});
