// `holdfast backup lancedb` and `holdfast restore lancedb` as processes, against a real s3rver and real
// LanceDB datasets: a full round trip of several kinds of tables, a restore over existing content, an
// incremental backup that sends only new files, and tampered snapshots that are refused untouched.
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as lancedb from "@lancedb/lancedb";
import * as path from "path";
import { getBytes, getJson, listObjects } from "../../jobs/store/s3";
import type { SnapshotRecord } from "../../jobs/lancedb/backup/record";
import { S3Server } from "../../harness/s3";
import {
  BUCKET,
  buildDatabase,
  expectedRows,
  holdfast,
  range,
  rowsFor,
  tableRows,
  tempDir,
  treeDigest,
} from "./support";

interface BackupSummary {
  id: string;
  recordKey: string;
  tables: { name: string; version: number; rows: number; uploadedFiles: number; uploadedBytes: number }[];
  uploaded: { files: number; bytes: number };
  reused: { files: number; bytes: number };
}

describe("holdfast backup/restore lancedb", () => {
  let s3: S3Server;
  let work: string;
  let source: string;
  let ids: Record<string, number[]>;
  let first: BackupSummary;

  const objects = async (prefix = "") => {
    const out = new Map<string, number>();
    for await (const o of listObjects(s3.client(), BUCKET, prefix)) out.set(o.key, o.size);
    return out;
  };
  const record = (id: string) =>
    getJson<SnapshotRecord>(s3.client(), BUCKET, `dev/lancedb/snapshots/${id}.json`);

  beforeAll(async () => {
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    work = tempDir("lancedb-backup");
    source = path.join(work, "source");
    ids = await buildDatabase(source);
    // Datasets written by older Lance versions keep a copy of the newest V1 manifest at the top.
    const versions = path.join(source, "legacy.lance", "_versions");
    const newest = fs
      .readdirSync(versions)
      .filter((f) => /^\d+\.manifest$/.test(f))
      .sort((a, b) => parseInt(b) - parseInt(a))[0];
    fs.copyFileSync(path.join(versions, newest), path.join(source, "legacy.lance", "_latest.manifest"));
  });
  afterAll(async () => {
    await s3.cleanup();
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
  });

  it("restores every table (vectors, scalars, indices, deletes, a compaction, V1 names) equal to the source at the captured version", async () => {
    const r = await holdfast(s3, ["backup", "lancedb", "--data-dir", source, "--json"]);
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    first = JSON.parse(r.stdout) as BackupSummary;
    expect(first.tables.map((t) => t.name)).toEqual(["docs", "empty_one", "events", "legacy"]);
    expect(first.reused.files).toBe(0);

    const rec = await record(first.id);
    const docs = rec.tables.find((t) => t.name === "docs")!;
    expect(docs.files.some((f) => f.path.startsWith("_indices/"))).toBe(true);
    expect(docs.files.filter((f) => f.path.startsWith("_versions/"))).toHaveLength(1);
    const legacy = rec.tables.find((t) => t.name === "legacy")!;
    expect(legacy.manifest).toMatch(/^_versions\/\d{1,5}\.manifest$/);
    expect(legacy.latestManifestCopy).toBe(true);
    expect(
      rec.tables.find((t) => t.name === "events")!.files.some((f) => f.path.startsWith("_deletions/")),
    ).toBe(true);
    for (const t of rec.tables) for (const f of t.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);

    const target = path.join(work, "restored");
    fs.mkdirSync(target);
    const restore = await holdfast(s3, ["restore", "lancedb", "--backup", "latest", "--data-dir", target]);
    expect(restore.stderr).not.toMatch(/"level":"error"/);
    expect(restore.code).toBe(0);
    for (const t of rec.tables) {
      const expected = expectedRows(ids[t.name]);
      expect(t.rows).toBe(expected.length);
      expect(await tableRows(source, t.name, t.version)).toEqual(expected);
      expect(await tableRows(target, t.name)).toEqual(expected);
    }
    const db = await lancedb.connect(target);
    expect((await db.tableNames()).sort()).toEqual(["docs", "empty_one", "events", "legacy"]);
    const restoredDocs = await db.openTable("docs");
    expect(await restoredDocs.version()).toBe(docs.version);
    expect((await restoredDocs.listIndices()).map((i) => i.name).sort()).toEqual(["id_idx", "vector_idx"]);
    // The restored vector index answers as the source's does (approximate, so compared, not assumed).
    const probe = expectedRows([4242])[0].vector as number[];
    const search = async (t: lancedb.Table) =>
      (await t.search(probe).limit(5).toArray()).map((row) => Number(row.id));
    const sourceDb = await lancedb.connect(source);
    const sourceDocs = await sourceDb.openTable("docs");
    expect(await search(restoredDocs)).toEqual(await search(sourceDocs));
    sourceDocs.close();
    sourceDb.close();
    restoredDocs.close();
    db.close();
    // The legacy copy is regenerated from the restored manifest.
    expect(fs.readFileSync(path.join(target, "legacy.lance", "_latest.manifest"))).toEqual(
      fs.readFileSync(path.join(target, "legacy.lance", legacy.manifest)),
    );
    // Nothing of the restore is left behind but the tables.
    expect(fs.readdirSync(target).sort()).toEqual([
      "docs.lance",
      "empty_one.lance",
      "events.lance",
      "legacy.lance",
    ]);
  });

  it("restore --dry-run names the snapshot, its tables and what would move aside, and touches nothing", async () => {
    const target = path.join(work, "dry-run");
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "notes.txt"), "kept\n");
    const before = treeDigest(target);
    const r = await holdfast(s3, [
      "restore",
      "lancedb",
      "--backup",
      "latest",
      "--data-dir",
      target,
      "--dry-run",
    ]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^would restore snapshot \S+ into /);
    expect(r.stdout).toMatch(/^ {2}docs +version \d+/m);
    expect(r.stdout).toContain("would move notes.txt into");
    expect(r.stdout).toContain("nothing was changed (--dry-run)");
    const json = await holdfast(s3, [
      "restore",
      "lancedb",
      "--backup",
      first.id,
      "--data-dir",
      target,
      "--dry-run",
      "--json",
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ dryRun: true, id: first.id, movedAside: ["notes.txt"] });
    expect(treeDigest(target)).toEqual(before);
  });

  it("restoring over a directory with content moves that content aside, byte for byte, instead of deleting it", async () => {
    const target = path.join(work, "occupied");
    fs.mkdirSync(target);
    const db = await lancedb.connect(target);
    (await db.createTable("docs", rowsFor(range(0, 20)))).close();
    db.close();
    fs.writeFileSync(path.join(target, "notes.txt"), "kept\n");
    const before = treeDigest(target);

    const r = await holdfast(s3, ["restore", "lancedb", "--backup", first.id, "--data-dir", target]);
    expect(r.code).toBe(0);
    const aside = path.join(target, "holdfast-aside");
    const [kept] = fs.readdirSync(aside);
    expect(kept).toMatch(new RegExp(`^\\d{8}T\\d{6}Z-restore-${first.id}$`));
    expect(treeDigest(path.join(aside, kept))).toEqual(before);
    expect(await tableRows(target, "docs")).toEqual(expectedRows(ids.docs));
    expect(fs.existsSync(path.join(target, "notes.txt"))).toBe(false);
  });

  it("a second backup after 1% more rows sends only the new files (counted by the command and in the bucket)", async () => {
    const before = await objects("dev/lancedb/files/");
    const db = await lancedb.connect(source);
    const docs = await db.openTable("docs");
    const total = Object.values(ids).reduce((n, l) => n + l.length, 0);
    const extra = range(100_000, 100_000 + Math.ceil(total / 100));
    await docs.add(rowsFor(extra));
    ids.docs = [...ids.docs, ...extra];
    docs.close();
    db.close();

    const r = await holdfast(s3, ["backup", "lancedb", "--data-dir", source, "--json"]);
    expect(r.code).toBe(0);
    const second = JSON.parse(r.stdout) as BackupSummary;
    const after = await objects("dev/lancedb/files/");
    const added = [...after.keys()].filter((k) => !before.has(k));
    const addedBytes = added.reduce((n, k) => n + after.get(k)!, 0);
    expect(second.uploaded.files).toBe(added.length);
    expect(second.uploaded.bytes).toBe(addedBytes);
    // Exactly the new version of docs: one data file, its transaction file and its manifest.
    expect(
      added.map((k) => k.replace(/^dev\/lancedb\/files\/docs\.lance\//, "").split("/")[0]).sort(),
    ).toEqual(["_transactions", "_versions", "data"]);
    for (const t of second.tables.filter((t) => t.name !== "docs")) expect(t.uploadedFiles).toBe(0);
    const firstBytes = first.uploaded.bytes;
    expect(second.uploaded.bytes).toBeLessThan(firstBytes * 0.05);
    expect(second.reused.files).toBeGreaterThan(0);

    const rec = await record(second.id);
    const target = path.join(work, "restored-second");
    fs.mkdirSync(target);
    expect(
      (await holdfast(s3, ["restore", "lancedb", "--backup", second.id, "--data-dir", target])).code,
    ).toBe(0);
    expect(await tableRows(target, "docs")).toEqual(expectedRows(ids.docs));
    expect(rec.tables.find((t) => t.name === "docs")!.rows).toBe(ids.docs.length);
  });

  it("refuses a snapshot whose data file has one flipped byte, and writes nothing", async () => {
    const rec = await record(first.id);
    const victim = rec.tables
      .find((t) => t.name === "events")!
      .files.find((f) => f.path.startsWith("data/"))!;
    const key = `dev/lancedb/files/${victim.key}`;
    const original = await getBytes(s3.client(), BUCKET, key);
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length / 2)] ^= 0x01;
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: flipped }));
    try {
      const fresh = path.join(work, "flipped-new");
      fs.mkdirSync(fresh);
      const r = await holdfast(s3, ["restore", "lancedb", "--backup", first.id, "--data-dir", fresh]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`snapshot ${first.id} is damaged: .*${victim.key.replace(/\./g, "\\.")}`),
      );
      expect(r.stderr).toMatch(/nothing was written/);
      expect(fs.readdirSync(fresh)).toEqual([]);

      const occupied = path.join(work, "flipped-occupied");
      fs.mkdirSync(occupied);
      fs.writeFileSync(path.join(occupied, "keep.txt"), "mine\n");
      const before = treeDigest(occupied);
      const again = await holdfast(s3, ["restore", "lancedb", "--backup", first.id, "--data-dir", occupied]);
      expect(again.code).toBe(1);
      expect(fs.readdirSync(occupied)).toEqual(["keep.txt"]);
      expect(treeDigest(occupied)).toEqual(before);
    } finally {
      await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: original }));
    }
  });

  it("refuses a record with a ../ path or an absolute key before writing anything", async () => {
    const rec = await record(first.id);
    const tamper = async (change: (r: SnapshotRecord) => void) => {
      const copy = JSON.parse(JSON.stringify(rec)) as SnapshotRecord;
      change(copy);
      const id = "20200101T000000Z";
      copy.id = id;
      await s3.client().send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: `dev/lancedb/snapshots/${id}.json`,
          Body: JSON.stringify(copy),
        }),
      );
      const target = path.join(work, "tampered", "data");
      const escapeTo = path.join(work, "tampered", "escaped");
      fs.mkdirSync(target, { recursive: true });
      const r = await holdfast(s3, ["restore", "lancedb", "--backup", id, "--data-dir", target]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /snapshot 20200101T000000Z is damaged: .*(leaves the table directory|is not inside)/,
      );
      expect(r.stderr).toMatch(/nothing was touched/);
      expect(fs.readdirSync(path.join(work, "tampered"))).toEqual(["data"]);
      expect(fs.readdirSync(target)).toEqual([]);
      expect(fs.existsSync(escapeTo)).toBe(false);
      return r;
    };
    await tamper((r) => {
      const f = r.tables[0].files.find((x) => x.path.startsWith("data/"))!;
      f.path = "../../escaped/owned.lance";
    });
    await tamper((r) => {
      r.tables[0].files[0].path = path.join(work, "tampered", "escaped", "abs");
    });
    await tamper((r) => {
      r.tables[0].files[0].key = "/etc/passwd";
    });
    await tamper((r) => {
      r.tables[0].files[0].key = "docs.lance/../../../redis/x";
    });
    await s3
      .client()
      .send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "dev/lancedb/snapshots/20200101T000000Z.json" }));
  });
});
