// What a Redis backup is, as every command sees it, tried the way an unlucky operator or an attacker
// would, with real processes: the harness's Sentinel set, s3rver on loopback (with S3's create-only
// writes, see harness/s3rver.js) and the CLI as a subprocess.
// - Four backups started at the same moment (a manual backup beside the CronJob) get four ids, and each
//   manifest describes its own RDB; no backup writes over another's objects.
// - The newest backup damaged (its manifest not JSON, of an unknown format, its RDB gone, its RDB key
//   pointing into another stack): list marks it, status, drill and `restore --backup latest` use the
//   older good one, `verify` and `restore` of it exit 1 "damaged", and prune keeps both.
// - An RDB whose checksum is wrong (its SHA-256 in the manifest matching) is refused as damaged, naming
//   the checksum; a bad id with control characters is echoed escaped.
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Redis from "ioredis";
import { backupStoreLayout } from "../../core/store-layout";
import { objectKey, type RedisBackupManifest, writeManifest } from "../../jobs/redis-backup/manifest";
import { MultipartUpload } from "../../jobs/redis-backup/transfer/upload";
import { getBytes, getJson, listObjects, ObjectExistsError } from "../../jobs/store/s3";
import { RedisSet } from "../../harness/redis-set";
import { S3Server } from "../../harness/s3";
import { BUCKET, cronEnv, holdfast, logLines } from "./cli";
import { treeDigest } from "./files";

jest.setTimeout(600_000);

let set: RedisSet;
let s3: S3Server;
let admin: Redis;
let work: string;
/** Marks the start of an incompressible value in the RDB, so a test can change a byte inside it. */
const MARKER = Buffer.from("holdfast-test-marker-5f1c9e0d");

beforeAll(async () => {
  [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-catalogue-"));
  admin = set.connect(await set.waitForHealthy(), "admin");
  await admin.connect();
  const p = admin.pipeline();
  for (let i = 0; i < 300; i++) p.set(`kb${i % 5}:emotives:${i}`, `value ${i}`);
  p.hset("kb1:metadata:p1", { tag: "kept" });
  p.set("blob", Buffer.concat([MARKER, randomBytes(64 * 1024)]));
  await p.exec();
  await admin.call("WAIT", "2", "20000");
});

afterAll(async () => {
  await Promise.all([set?.cleanup(), s3?.cleanup()]);
  if (work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
});

const env = (prefix: string, extra: Record<string, string> = {}) => cronEnv(set, s3.env, prefix, extra);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listObjects(s3.client(), BUCKET, prefix)) keys.push(o.key);
  return keys.sort();
}

function manifestOf(prefix: string, id: string): Promise<RedisBackupManifest> {
  return getJson<RedisBackupManifest>(s3.client(), BUCKET, `${prefix}/redis/${id}/manifest.json`);
}

/** Writes over an object the way a person with bucket rights (or bit rot) could: no create-only header. */
async function overwrite(key: string, body: string | Buffer): Promise<void> {
  await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

/** Takes one backup with the CLI, as the CronJob does; resolves to its id. */
async function backup(prefix: string): Promise<string> {
  const r = await holdfast(["backup", "redis", "--json"], env(prefix));
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  return JSON.parse(r.stdout).id as string;
}

function emptyDir(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

describe("backups started at the same moment", () => {
  it("four concurrent backups get four ids, and each manifest describes its own RDB", async () => {
    const prefix = "same-moment";
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => holdfast(["backup", "redis", "--json"], env(prefix))),
    );
    for (const r of runs)
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const outs = runs.map((r) => JSON.parse(r.stdout) as { id: string; key: string; sha256: string });
    const ids = outs.map((o) => o.id);
    expect(new Set(ids).size).toBe(4);
    const folders = new Set((await keysUnder(`${prefix}/redis/`)).map((k) => k.split("/")[2]));
    expect([...folders].sort()).toEqual([...ids].sort());
    for (const o of outs) {
      expect(sha256(await getBytes(s3.client(), BUCKET, o.key))).toBe(o.sha256);
      expect((await manifestOf(prefix, o.id)).objects["dump.rdb"]).toMatchObject({
        key: o.key,
        sha256: o.sha256,
      });
    }
    const list = JSON.parse((await holdfast(["list", "--json"], env(prefix))).stdout) as { id: string }[];
    expect(list.map((b) => b.id).sort()).toEqual([...ids].sort());
  });

  it("a manifest or an RDB is never written over an existing one: S3 refuses, the object stays as it was", async () => {
    const prefix = "create-only";
    const id = await backup(prefix);
    const layout = backupStoreLayout(prefix);
    const m = await manifestOf(prefix, id);
    await expect(writeManifest(s3.client(), BUCKET, layout, { ...m, reason: "replaced" })).rejects.toThrow(
      ObjectExistsError,
    );
    expect((await manifestOf(prefix, id)).reason).toBe("manual");

    const rdbKey = objectKey(layout, id, "dump.rdb");
    const before = await getBytes(s3.client(), BUCKET, rdbKey);
    const upload = await MultipartUpload.start({ client: s3.client(), bucket: BUCKET, key: rdbKey });
    await upload.write(Buffer.from("REDIS0011 another backup's bytes"));
    await expect(upload.complete()).rejects.toThrow(
      `${rdbKey} already exists in the bucket; it was not overwritten`,
    );
    expect(await upload.abort()).toBe(true);
    expect(await getBytes(s3.client(), BUCKET, rdbKey)).toEqual(before);
    expect(s3.incompleteUploads(BUCKET)).toEqual([]);
  });
});

describe("the newest backup damaged: every command agrees on what it is and on latest", () => {
  /** A stack's backup the damage below points another stack's manifest at. */
  let other: { prefix: string; manifest: RedisBackupManifest };

  beforeAll(async () => {
    const prefix = "other-stack";
    other = { prefix, manifest: await manifestOf(prefix, await backup(prefix)) };
  });

  const damages: [string, (prefix: string, id: string) => Promise<void>, RegExp][] = [
    [
      "its manifest is not valid JSON",
      (prefix, id) => overwrite(`${prefix}/redis/${id}/manifest.json`, "{ not json"),
      /the manifest of backup \S+ is not valid JSON/,
    ],
    [
      "its manifest has a format this version does not know",
      async (prefix, id) => {
        const m = await manifestOf(prefix, id);
        await overwrite(
          `${prefix}/redis/${id}/manifest.json`,
          JSON.stringify({ ...m, format: "holdfast.redis-backup/9" }),
        );
      },
      /has format "holdfast.redis-backup\/9", which this version does not know/,
    ],
    [
      "its dump.rdb is gone",
      (prefix, id) =>
        s3
          .client()
          .send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${prefix}/redis/${id}/dump.rdb` }))
          .then(() => undefined),
      /dump.rdb is missing/,
    ],
    [
      "its manifest points dump.rdb into another stack's backup",
      async (prefix, id) => {
        const m = await manifestOf(prefix, id);
        const theirs = other.manifest;
        await overwrite(
          `${prefix}/redis/${id}/manifest.json`,
          JSON.stringify({ ...m, objects: theirs.objects, dataset: theirs.dataset }),
        );
      },
      /puts dump.rdb at "other-stack\/redis\/\S+\/dump.rdb", outside its own backup/,
    ],
  ];

  it.each(damages.map((d, i) => [...d, i] as const))("when %s", async (_what, damage, problem, i) => {
    const prefix = `damaged-${i}`;
    const older = await backup(prefix);
    const newer = await backup(prefix);
    await damage(prefix, newer);
    const e = env(prefix);

    // list: both, the newer marked damaged with what is wrong.
    const listed = JSON.parse((await holdfast(["list", "--json"], e)).stdout);
    expect(listed).toEqual([
      expect.objectContaining({
        store: "redis",
        id: newer,
        state: "damaged",
        problem: expect.stringMatching(problem),
      }),
      expect.objectContaining({ store: "redis", id: older, state: "committed" }),
    ]);
    const text = (await holdfast(["list"], e)).stdout;
    expect(text).toMatch(new RegExp(`^redis +${newer.replace(/\./g, "\\.")} +DAMAGED`, "m"));
    expect(text).toMatch(new RegExp(`redis ${newer.replace(/\./g, "\\.")} is DAMAGED: .*`));

    // status and drill: the older one is the newest good backup.
    const status = JSON.parse((await holdfast(["status", "--store", "redis", "--json"], e)).stdout);
    expect(status[0]).toMatchObject({ store: "redis", ok: true, newest: { id: older } });
    const drill = await holdfast(["drill", "--store", "redis", "--json"], e);
    expect(drill.code).toBe(0);
    expect(JSON.parse(drill.stdout).stores[0]).toMatchObject({
      newest: { id: older },
      verification: { id: older, ok: true },
    });

    // verify of the damaged one: a failed check (exit 1), not an unknown backup (exit 2).
    const verify = await holdfast(["verify", "--backup", newer], e);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(new RegExp(`redis ${newer.replace(/\./g, "\\.")}: FAILED`));
    expect(verify.stdout).toMatch(/FAIL {2}the backup is committed and intact: damaged: /);

    // restore: latest is the older one, and says so; the damaged one is refused, nothing touched.
    const latest = emptyDir(`${prefix}-latest`);
    const restored = await holdfast(["restore", "redis", "--backup", "latest", "--data-dir", latest], e);
    expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(restored.stdout).toMatch(new RegExp(`^restored backup ${older.replace(/\./g, "\\.")} into`));
    expect(logLines(restored.stderr).find((l) => /skips damaged/.test(String(l.msg)))).toMatchObject({
      backup: older,
      damaged: [expect.stringContaining(newer)],
    });
    const refusedDir = emptyDir(`${prefix}-refused`);
    const refused = await holdfast(["restore", "redis", "--backup", newer, "--data-dir", refusedDir], e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(`holdfast: backup ${newer.replace(/\./g, "\\.")} is damaged: `),
    );
    expect(refused.stderr).toMatch(problem);
    expect(fs.readdirSync(refusedDir)).toEqual([]);

    // prune keeping one: keeps the older (good) one, never deletes the damaged one.
    const pruned = await holdfast(["prune", "--keep-last", "1", "--keep-daily", "0", "--json"], e);
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)[0]).toMatchObject({
      kept: [{ id: older, reasons: ["last"] }],
      deleted: [],
      damaged: [{ id: newer, problem: expect.stringMatching(problem) }],
    });
    const folders = new Set((await keysUnder(`${prefix}/redis/`)).map((k) => k.split("/")[2]));
    expect([...folders].sort()).toEqual([older, newer].sort());
    expect(
      JSON.parse((await holdfast(["status", "--store", "redis", "--json"], e)).stdout)[0].newest.id,
    ).toBe(older);
  });
});

describe("messages name the real cause", () => {
  it("an RDB whose own checksum is wrong (its SHA-256 in the manifest matching) is refused as damaged", async () => {
    const prefix = "bad-crc";
    const id = await backup(prefix);
    const stored = path.join(s3.dataDir, BUCKET, prefix, "redis", id, "dump.rdb._S3rver_object");
    const bytes = fs.readFileSync(stored);
    const at = bytes.indexOf(MARKER);
    expect(at).toBeGreaterThan(0);
    bytes[at + MARKER.length + 1000] ^= 0x01;
    fs.writeFileSync(stored, bytes);
    const m = await manifestOf(prefix, id);
    m.objects["dump.rdb"].sha256 = sha256(bytes);
    await overwrite(`${prefix}/redis/${id}/manifest.json`, JSON.stringify(m));

    const dir = emptyDir("bad-crc");
    fs.writeFileSync(path.join(dir, "dump.rdb"), "the dataset before the restore");
    const before = treeDigest(dir);
    const r = await holdfast(["restore", "redis", "--backup", id, "--data-dir", dir], env(prefix));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `holdfast: backup ${id.replace(/\./g, "\\.")} is damaged: a redis-server refuses to load its RDB: .*checksum`,
        "i",
      ),
    );
    expect(r.stderr).not.toMatch(/Connection is closed/);
    expect(r.stderr).toMatch(/was not touched/);
    expect(treeDigest(dir)).toEqual(before);
  });

  it("restore --dry-run names the backup and what would move aside, and touches nothing", async () => {
    const prefix = "dry-run";
    const id = await backup(prefix);
    const dir = emptyDir("dry-run");
    fs.writeFileSync(path.join(dir, "dump.rdb"), "the dataset before the restore");
    const before = treeDigest(dir);
    const objects = await keysUnder(`${prefix}/`);
    const r = await holdfast(
      ["restore", "redis", "--backup", "latest", "--data-dir", dir, "--dry-run"],
      env(prefix),
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`would restore backup ${id} into ${dir}`);
    expect(r.stdout).toMatch(/would move dump\.rdb into .*holdfast-aside/);
    expect(r.stdout).toContain("nothing was changed (--dry-run)");
    const json = await holdfast(
      ["restore", "redis", "--backup", id, "--data-dir", dir, "--dry-run", "--json"],
      env(prefix),
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ dryRun: true, id, movedAside: ["dump.rdb"] });
    expect(treeDigest(dir)).toEqual(before);
    expect(await keysUnder(`${prefix}/`)).toEqual(objects);
  });

  it("control characters in a bad id are echoed escaped, never raw", async () => {
    const bad = "2026\u001b[2J\u0007\u009b";
    for (const args of [
      ["restore", "redis", "--backup", bad, "--data-dir", work],
      ["verify", "--backup", bad],
      ["restore", "lancedb", "--backup", bad, "--data-dir", work],
    ]) {
      const r = await holdfast(args, env("dev"));
      expect({ args: args.slice(0, 2), code: r.code }).toEqual({ args: args.slice(0, 2), code: 2 });
      expect(r.stderr).toContain('holdfast: "2026\\u001b[2J\\u0007\\u009b" is not a backup id');
      expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/); // eslint-disable-line no-control-regex
    }
  });
});
