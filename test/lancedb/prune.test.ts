// The LanceDB StoreModule against a real s3rver: list, verify (end to end into a scratch directory) and
// prune. Three snapshots share files; retention drops the middle one; the sweep deletes exactly the
// files only it used, not before they are older than the grace period, never while a record cannot be
// read, and both kept snapshots restore afterwards.
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as lancedb from "@lancedb/lancedb";
import * as path from "path";
import { takeSnapshot } from "../../jobs/lancedb/backup/backup";
import { pruneSnapshots } from "../../jobs/lancedb/backup/prune";
import { loadRecord, listSnapshotIds } from "../../jobs/lancedb/backup/records";
import { lancedbStore } from "../../jobs/lancedb/backup/store-module";
import { getBytes, listObjects } from "../../jobs/store/s3";
import type { RetentionPolicy } from "../../jobs/store/retention";
import { S3Server } from "../../harness/s3";
import {
  BUCKET,
  expectedRows,
  holdfast,
  location,
  range,
  rowsFor,
  tableRows,
  tempDir,
  treeDigest,
} from "./support";

const A = "20260101T100000Z";
const B = "20260102T100000Z";
const C = "20260102T110000Z";
/** Keeps the newest (C) and the newest of each of two days (C, A): drops B, the middle one. */
const POLICY: RetentionPolicy = { keepLast: 1, keepDaily: 2, keepWeekly: 0, keepMonthly: 0 };

describe("LanceDB StoreModule: list, verify, prune", () => {
  let s3: S3Server;
  let work: string;
  let source: string;
  const contents: Record<string, Record<string, number[]>> = {};

  const stored = async () => {
    const out = new Map<string, number>();
    for await (const o of listObjects(s3.client(), BUCKET, "dev/lancedb/files/"))
      out.set(o.key.slice("dev/lancedb/files/".length), o.size);
    return out;
  };
  const keysOf = async (id: string) =>
    new Set((await loadRecord(location(s3), id)).tables.flatMap((t) => t.files.map((f) => f.key)));

  beforeAll(async () => {
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    work = tempDir("lancedb-prune");
    source = path.join(work, "source");
    const db = await lancedb.connect(source);
    const t = await db.createTable("proposals", rowsFor(range(0, 1000)));
    const fixed = await db.createTable("fixed", rowsFor(range(0, 300)));
    fixed.close();
    const snap = async (id: string, ids: number[]) => {
      await takeSnapshot({
        at: location(s3),
        dataDir: source,
        reason: "test",
        graceMs: 3600_000,
        id,
      });
      contents[id] = { proposals: ids, fixed: range(0, 300) };
    };
    await snap(A, range(0, 1000));
    await t.add(rowsFor(range(1000, 1200)));
    await t.delete("id < 100");
    await snap(B, range(100, 1200));
    // Compaction and cleanup: the files B added are gone from the source before C.
    await t.optimize({ cleanupOlderThan: new Date() });
    await t.add(rowsFor(range(1200, 1300)));
    await snap(C, range(100, 1300));
    t.close();
    db.close();
  });
  afterAll(async () => {
    await s3.cleanup();
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
  });

  it("lists each snapshot with its rows and bytes", async () => {
    const { committed: list, damaged } = await lancedbStore.catalog(location(s3));
    expect(damaged).toEqual([]);
    expect(list.map((b) => b.id)).toEqual([C, B, A]);
    expect(list.map((b) => b.items)).toEqual([1500, 1400, 1300]);
    expect(list.every((b) => b.store === "lancedb" && b.sizeBytes > 0 && b.reason === "test")).toBe(true);
  });

  it("verify restores a snapshot into the scratch directory only, and reports a damaged file", async () => {
    const scratch = path.join(work, "scratch");
    fs.mkdirSync(scratch);
    const good = await lancedbStore.verify(location(s3), C, scratch);
    expect(good.ok).toBe(true);
    expect(good.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^size and sha256 of all \d+ files match the record$/),
        expect.stringMatching(/^table proposals opens at version \d+ with 1200 rows \(full scan\)$/),
        "table fixed opens at version 1 with 300 rows (full scan)",
      ]),
    );
    expect(fs.readdirSync(scratch)).toEqual([]);

    const record = await loadRecord(location(s3), C);
    const victim = record.tables[0].files.find((f) => f.path.startsWith("data/"))!;
    const key = `dev/lancedb/files/${victim.key}`;
    const original = await getBytes(s3.client(), BUCKET, key);
    const flipped = Buffer.from(original);
    flipped[10] ^= 0x80;
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: flipped }));
    const sourceBefore = treeDigest(source);
    try {
      const bad = await lancedbStore.verify(location(s3), C, scratch);
      expect(bad.ok).toBe(false);
      const failed = bad.checks.find((c) => !c.ok)!;
      expect(failed.name).toBe("size and sha256 of every file match the record");
      expect(failed.detail).toContain(victim.key);
      expect(fs.readdirSync(scratch)).toEqual([]);
      expect(treeDigest(source)).toEqual(sourceBefore);
    } finally {
      await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: original }));
    }
  });

  it("the generic holdfast list, verify, status, drill and prune cover LanceDB", async () => {
    const list = await holdfast(s3, ["list", "--store", "lancedb", "--json"]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((b: { id: string }) => b.id)).toEqual([C, B, A]);

    const verify = await holdfast(s3, ["verify", "--store", "lancedb", "--backup", A, "--json"]);
    expect(verify.code).toBe(0);
    const [report] = JSON.parse(verify.stdout);
    expect(report).toMatchObject({ store: "lancedb", id: A, ok: true });

    // The snapshots are dated January 2026: too old for a 24-hour freshness check.
    const status = await holdfast(s3, ["status", "--store", "lancedb", "--max-age", "24h"]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(new RegExp(`lancedb +${C} .*STALE`));

    const drill = await holdfast(s3, ["drill", "--store", "lancedb", "--max-age", "3650d", "--json"]);
    expect(drill.code).toBe(0);
    expect(JSON.parse(drill.stdout).stores[0]).toMatchObject({
      store: "lancedb",
      newest: { id: C },
      verification: { ok: true },
    });

    const dry = await holdfast(s3, [
      "prune",
      "--store",
      "lancedb",
      "--dry-run",
      "--keep-last",
      "1",
      "--keep-daily",
      "2",
      "--json",
    ]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)[0]).toMatchObject({ store: "lancedb", deleted: [B], dryRun: true });
    expect(await listSnapshotIds(location(s3))).toEqual([A, B, C]);
  });

  it("drops the middle snapshot, sweeps only the files it alone used once they are past the grace period, and both others restore", async () => {
    const at = location(s3);
    const [a, b, c] = [await keysOf(A), await keysOf(B), await keysOf(C)];
    const onlyB = [...b].filter((k) => !a.has(k) && !c.has(k));
    expect(onlyB.some((k) => k.startsWith("proposals.lance/data/"))).toBe(true);
    expect([...b].some((k) => a.has(k) && !c.has(k))).toBe(true); // shared with A only: must stay
    const all = await stored();

    const dry = await pruneSnapshots(at, POLICY, true, { graceMs: 0 });
    expect(dry.deleted).toEqual([B]);
    expect(dry.kept.map((k) => k.id).sort()).toEqual([A, C]);
    expect(dry.objectsDeleted).toBe(1 + onlyB.length);
    expect(await stored()).toEqual(all);
    expect(await listSnapshotIds(at)).toEqual([A, B, C]);

    // Within the grace period only the record goes; the files wait for a later prune.
    const early = await pruneSnapshots(at, POLICY, false, { graceMs: 3600_000 });
    expect(early.deleted).toEqual([B]);
    expect(early.objectsDeleted).toBe(1);
    expect(await listSnapshotIds(at)).toEqual([A, C]);
    expect(await stored()).toEqual(all);

    // A record that cannot be read stops the sweep: its files cannot be told from garbage.
    const broken = "20260102T120000Z";
    await s3.client().send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `dev/lancedb/snapshots/${broken}.json`,
        Body: "{ not json",
      }),
    );
    const blocked = await pruneSnapshots(at, { ...POLICY, keepLast: 3 }, false, { graceMs: 0 });
    expect(blocked.objectsDeleted).toBe(0);
    expect(await stored()).toEqual(all);
    await s3
      .client()
      .send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `dev/lancedb/snapshots/${broken}.json` }));

    // Past the grace period (HOLDFAST_GC_GRACE, read by the module): exactly the files only B used.
    process.env.HOLDFAST_GC_GRACE = "0s";
    try {
      const late = await lancedbStore.prune(at, POLICY, false);
      expect(late.deleted).toEqual([]);
      expect(late.objectsDeleted).toBe(onlyB.length);
      expect(late.bytesDeleted).toBe(onlyB.reduce((n, k) => n + all.get(k)!, 0));
    } finally {
      delete process.env.HOLDFAST_GC_GRACE;
    }
    const left = await stored();
    expect([...left.keys()].sort()).toEqual([...all.keys()].filter((k) => !onlyB.includes(k)).sort());
    for (const k of [...a, ...c]) expect(left.has(k)).toBe(true);

    for (const id of [A, C]) {
      const target = path.join(work, `restored-${id}`);
      fs.mkdirSync(target);
      const r = await holdfast(s3, ["restore", "lancedb", "--backup", id, "--data-dir", target]);
      expect(r.code).toBe(0);
      for (const [table, ids] of Object.entries(contents[id]))
        expect(await tableRows(target, table)).toEqual(expectedRows(ids));
    }
  });
});
