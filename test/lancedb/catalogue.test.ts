// What a LanceDB snapshot is, as every command sees it, and what a restore gives back, with real
// processes: real LanceDB tables, s3rver on loopback with S3's create-only writes (the backup tests'
// fault server), the CLI as a subprocess.
// - Three backups started at the same moment commit three snapshots, each restoring its own tables.
// - The newest snapshot damaged (its record not JSON, of an unknown format, a file of it gone): list
//   marks it, status and `restore --backup latest` use the older one, restoring it exits 1 naming what
//   is wrong (the missing file's key, no useless re-run), and prune keeps both and sweeps none of their
//   files.
// - Tags survive a backup and a restore with the versions they name, and a restore can make a tagged
//   version current.
// - A restore into a mistyped or read-only --data-dir is refused (exit 2) and creates nothing.
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as lancedb from "@lancedb/lancedb";
import * as path from "path";
import { loadRecord } from "../../jobs/lancedb/backup/records";
import { backupStoreLayout } from "../../core/store-layout";
import { getJson, listObjects } from "../../jobs/store/s3";
import type { SnapshotRecord } from "../../jobs/lancedb/backup/record";
import { S3Server } from "../../harness/s3";
import {
  BUCKET,
  expectedRows,
  HOLDFAST_BIN,
  holdfast,
  range,
  rowsFor,
  tableRows,
  tempDir,
  treeDigest,
} from "./support";

jest.setTimeout(300_000);

let s3: S3Server;
let work: string;

beforeAll(async () => {
  s3 = await S3Server.start();
  await s3.createBucket(BUCKET);
  work = tempDir("lancedb-catalogue");
});
afterAll(async () => {
  await s3?.cleanup();
  if (work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
});

const at = (prefix: string) => ({
  client: s3.client(),
  bucket: BUCKET,
  prefix,
  layout: backupStoreLayout(prefix),
});

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listObjects(s3.client(), BUCKET, prefix)) keys.push(o.key);
  return keys.sort();
}

/** Takes one snapshot of `dir` with the CLI; resolves to its id. */
async function backup(dir: string, prefix: string): Promise<string> {
  const r = await holdfast(s3, ["backup", "lancedb", "--data-dir", dir, "--json"], {
    HOLDFAST_PREFIX: prefix,
  });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  return (JSON.parse(r.stdout) as { id: string }).id;
}

function newDir(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

describe("snapshots started at the same moment", () => {
  it("three concurrent backups commit three snapshots, each restoring its own tables", async () => {
    const source = newDir("same-moment-source");
    const db = await lancedb.connect(source);
    (await db.createTable("docs", rowsFor(range(0, 500)))).close();
    db.close();
    const runs = await Promise.all(
      [0, 1, 2].map(() =>
        holdfast(s3, ["backup", "lancedb", "--data-dir", source, "--json"], {
          HOLDFAST_PREFIX: "same-moment",
        }),
      ),
    );
    for (const r of runs)
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const ids = runs.map((r) => (JSON.parse(r.stdout) as { id: string }).id);
    expect(new Set(ids).size).toBe(3);
    const records = (await keysUnder("same-moment/lancedb/snapshots/")).map((k) => path.basename(k, ".json"));
    expect(records.sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const target = newDir(`same-moment-${id}`);
      const r = await holdfast(s3, ["restore", "lancedb", "--backup", id, "--data-dir", target], {
        HOLDFAST_PREFIX: "same-moment",
      });
      expect(r.code).toBe(0);
      expect(await tableRows(target, "docs")).toEqual(expectedRows(range(0, 500)));
    }
  });
});

describe("the newest snapshot damaged: every command agrees on what it is and on latest", () => {
  const damages: [string, (prefix: string, id: string, onlyNewer: string) => Promise<void>, RegExp][] = [
    [
      "its record is not valid JSON",
      (prefix, id) =>
        s3
          .client()
          .send(
            new PutObjectCommand({
              Bucket: BUCKET,
              Key: `${prefix}/lancedb/snapshots/${id}.json`,
              Body: "{ nope",
            }),
          )
          .then(() => undefined),
      /the record is not valid JSON/,
    ],
    [
      "its record has a format this version does not know",
      async (prefix, id) => {
        const key = `${prefix}/lancedb/snapshots/${id}.json`;
        const r = await getJson<SnapshotRecord>(s3.client(), BUCKET, key);
        await s3.client().send(
          new PutObjectCommand({
            Bucket: BUCKET,
            Key: key,
            Body: JSON.stringify({ ...r, format: "holdfast.lancedb.snapshot/9" }),
          }),
        );
      },
      /unknown record format "holdfast.lancedb.snapshot\/9"/,
    ],
    [
      "a file only it references is gone",
      (prefix, _id, onlyNewer) =>
        s3
          .client()
          .send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${prefix}/lancedb/files/${onlyNewer}` }))
          .then(() => undefined),
      /1 of its \d+ files is not in s3:\/\/holdfast-backups\/\S+\/lancedb\/files\/ as recorded, e.g. docs\.lance\/data\/\S+ \(missing\)/,
    ],
  ];

  it.each(damages.map((d, i) => [...d, i] as const))("when %s", async (_what, damage, problem, i) => {
    const prefix = `damaged-${i}`;
    const e = { HOLDFAST_PREFIX: prefix };
    const source = newDir(`damaged-${i}-source`);
    const db = await lancedb.connect(source);
    const t = await db.createTable("docs", rowsFor(range(0, 400)));
    const older = await backup(source, prefix);
    await t.add(rowsFor(range(400, 600)));
    const newer = await backup(source, prefix);
    t.close();
    db.close();
    const olderKeys = new Set(
      (await loadRecord(at(prefix), older)).tables.flatMap((x) => x.files.map((f) => f.key)),
    );
    const onlyNewer = (await loadRecord(at(prefix), newer)).tables
      .flatMap((x) => x.files)
      .find((f) => f.path.startsWith("data/") && !olderKeys.has(f.key))!.key;
    await damage(prefix, newer, onlyNewer);

    const listed = JSON.parse((await holdfast(s3, ["list", "--store", "lancedb", "--json"], e)).stdout);
    expect(listed).toEqual([
      expect.objectContaining({
        store: "lancedb",
        id: newer,
        state: "damaged",
        problem: expect.stringMatching(problem),
      }),
      expect.objectContaining({ store: "lancedb", id: older, state: "committed", items: 400 }),
    ]);
    const status = JSON.parse((await holdfast(s3, ["status", "--store", "lancedb", "--json"], e)).stdout);
    expect(status[0]).toMatchObject({ newest: { id: older }, ok: true });

    const latest = newDir(`damaged-${i}-latest`);
    const restored = await holdfast(
      s3,
      ["restore", "lancedb", "--backup", "latest", "--data-dir", latest],
      e,
    );
    expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(restored.stdout).toMatch(new RegExp(`snapshot ${older.replace(/\./g, "\\.")} restored into`));
    expect(await tableRows(latest, "docs")).toEqual(expectedRows(range(0, 400)));

    const refusedDir = newDir(`damaged-${i}-refused`);
    const refused = await holdfast(
      s3,
      ["restore", "lancedb", "--backup", newer, "--data-dir", refusedDir],
      e,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(`holdfast: snapshot ${newer.replace(/\./g, "\\.")} is damaged: `),
    );
    expect(refused.stderr).toMatch(problem);
    expect(refused.stderr).not.toMatch(/re-run the restore/);
    expect(fs.readdirSync(refusedDir)).toEqual([]);

    const before = await keysUnder(`${prefix}/lancedb/`);
    const pruned = await holdfast(
      s3,
      ["prune", "--store", "lancedb", "--keep-last", "1", "--keep-daily", "0", "--json"],
      { ...e, HOLDFAST_GC_GRACE: "0s" },
    );
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)[0]).toMatchObject({
      kept: [{ id: older }],
      deleted: [],
      damaged: [{ id: newer }],
      objectsDeleted: 0,
    });
    expect(await keysUnder(`${prefix}/lancedb/`)).toEqual(before);
  });
});

describe("tags", () => {
  let source: string;
  let id: string;

  beforeAll(async () => {
    source = newDir("tags-source");
    const db = await lancedb.connect(source);
    const t = await db.createTable("docs", rowsFor(range(0, 300)));
    await t.add(rowsFor(range(300, 500)));
    const tags = await t.tags();
    await tags.create("current", 2);
    await tags.create("first", 1);
    await t.delete("id < 100");
    await t.optimize();
    t.close();
    db.close();
  });

  it("are backed up with the versions they name, and the backup says so", async () => {
    const r = await holdfast(s3, ["backup", "lancedb", "--data-dir", source], { HOLDFAST_PREFIX: "tags" });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(r.stdout).toMatch(/^docs +version \d+ +400 rows .* tags current=2, first=1$/m);
    id = path.basename((await keysUnder("tags/lancedb/snapshots/"))[0], ".json");
    const docs = (await loadRecord(at("tags"), id)).tables[0];
    expect(docs.tags).toEqual({ current: 2, first: 1 });
    expect(docs.versions).toEqual([
      { version: 1, manifest: expect.stringMatching(/^_versions\//), rows: 300 },
      { version: 2, manifest: expect.stringMatching(/^_versions\//), rows: 500 },
    ]);
  });

  it("come back with a restore, and the tagged versions read as they were", async () => {
    const target = newDir("tags-restored");
    const r = await holdfast(s3, ["restore", "lancedb", "--backup", id, "--data-dir", target], {
      HOLDFAST_PREFIX: "tags",
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(r.stdout).toMatch(/^docs .* 400 rows +ok +tags current=2, first=1$/m);
    const db = await lancedb.connect(target);
    const t = await db.openTable("docs");
    const tags = await (await t.tags()).list();
    expect(Object.fromEntries(Object.entries(tags).map(([n, x]) => [n, Number(x.version)]))).toEqual({
      current: 2,
      first: 1,
    });
    t.close();
    db.close();
    expect(await tableRows(target, "docs")).toEqual(expectedRows(range(100, 500)));
    expect(await tableRows(target, "docs", 2)).toEqual(expectedRows(range(0, 500)));
    expect(await tableRows(target, "docs", 1)).toEqual(expectedRows(range(0, 300)));
  });

  it("let a restore make a tagged version current, and refuse a version the snapshot does not hold", async () => {
    const target = newDir("tags-chosen");
    const r = await holdfast(
      s3,
      ["restore", "lancedb", "--backup", id, "--data-dir", target, "--table-version", "docs=current"],
      { HOLDFAST_PREFIX: "tags" },
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(r.stdout).toMatch(/^docs .* 500 rows +ok +\(version 2 made current\)/m);
    expect(await tableRows(target, "docs")).toEqual(expectedRows(range(0, 500)));

    const other = newDir("tags-unknown");
    const bad = await holdfast(
      s3,
      ["restore", "lancedb", "--backup", id, "--data-dir", other, "--table-version", "docs=7"],
      { HOLDFAST_PREFIX: "tags" },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      new RegExp(
        `holdfast: snapshot ${id.replace(/\./g, "\\.")} holds table docs at version \\d+, version 1 \\(tag first\\), version 2 \\(tag current\\); not "7"`,
      ),
    );
    expect(fs.readdirSync(other)).toEqual([]);
  });
});

describe("the data directory of a restore", () => {
  it("is refused when it does not exist (a mistyped path is never created) or cannot be written", async () => {
    const e = { HOLDFAST_PREFIX: "same-moment" };
    const mistyped = path.join(work, "lancedb_dta");
    const r = await holdfast(s3, ["restore", "lancedb", "--backup", "latest", "--data-dir", mistyped], e);
    expect({ code: r.code, stderr: r.stderr.trim() }).toEqual({
      code: 2,
      stderr: `holdfast: --data-dir ${mistyped} does not exist: a restore goes into the application's data directory (its volume); create it first if a new one is meant`,
    });
    expect(fs.existsSync(mistyped)).toBe(false);

    // Not writable by the user the restore runs as. Root writes anywhere, so as root the restore runs
    // without the capabilities that bypass file permissions (setpriv): still uid 0, so it reads the
    // checkout wherever it is (a 0700 temporary folder too), but is refused the 0555 directory.
    fs.chmodSync(work, 0o755);
    const locked = newDir("locked");
    fs.writeFileSync(path.join(locked, "kept.txt"), "before\n");
    const before = treeDigest(locked);
    fs.chmodSync(locked, 0o555);
    const dropped = "-dac_override,-dac_read_search";
    const command =
      process.getuid?.() === 0
        ? ["setpriv", "--bounding-set", dropped, "--inh-caps", dropped, "--", process.execPath]
        : [process.execPath];
    try {
      const run = spawnSync(
        command[0],
        [...command.slice(1), HOLDFAST_BIN, "restore", "lancedb", "--backup", "latest", "--data-dir", locked],
        {
          env: { PATH: process.env.PATH, HOME: "/tmp", ...s3.env, HOLDFAST_BUCKET: BUCKET, ...e },
          encoding: "utf8",
        },
      );
      expect({ code: run.status, stderr: run.stderr.trim() }).toEqual({
        code: 2,
        stderr: expect.stringMatching(
          new RegExp(`^holdfast: --data-dir ${locked} is not writable by this user \\(uid \\d+\\)`),
        ),
      });
    } finally {
      fs.chmodSync(locked, 0o755);
    }
    expect(treeDigest(locked)).toEqual(before);
  });
});
