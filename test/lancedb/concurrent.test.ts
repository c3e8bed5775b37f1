// LanceDB backups while the application writes: a writer process appends, deletes and compacts (one
// table also cleans up every old version) while backups run; each restored table must equal what the
// table held at the version its record names. Then, deterministically, a cleanup that removes the
// files of the version being copied makes the backup capture the table again, and a table that never
// holds still makes the backup fail without a record.
import * as fs from "fs";
import * as lancedb from "@lancedb/lancedb";
import * as path from "path";
import { spawn } from "child_process";
import { OperationError } from "../../jobs/cli/errors";
import { takeSnapshot } from "../../jobs/lancedb/backup/backup";
import { listSnapshotIds, loadRecord } from "../../jobs/lancedb/backup/records";
import { restoreSnapshot } from "../../jobs/lancedb/backup/restore";
import { S3Server } from "../../harness/s3";
import { waitFor } from "../../harness/processes";
import { BUCKET, expectedRows, holdfast, location, range, rowsFor, tableRows, tempDir } from "./support";
import { idsAtVersion, readLog } from "./writer";

const WRITER = path.join(__dirname, "writer.ts");

describe("LanceDB backup while the application writes", () => {
  let s3: S3Server;
  let work: string;

  beforeAll(async () => {
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    work = tempDir("lancedb-concurrent");
  });
  afterAll(async () => {
    await s3.cleanup();
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
  });

  it("every restored table equals the table at the version its record names, with appends, deletes, compaction and cleanup running", async () => {
    const source = path.join(work, "live");
    const logFile = path.join(work, "writer.log");
    const writer = spawn(
      process.execPath,
      ["-r", "tsx/cjs", WRITER, source, logFile, "--cleanup", "stream"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let writerErr = "";
    writer.stderr.on("data", (d) => (writerErr += d));
    const exited = new Promise<number | null>((resolve) => writer.on("exit", (code) => resolve(code)));
    try {
      await waitFor("the writer's first commits", () => fs.existsSync(`${logFile}.ready`), 30000);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await holdfast(s3, ["backup", "lancedb", "--data-dir", source, "--json"]);
        expect(r.stderr).not.toMatch(/"level":"error"/);
        expect(r.code).toBe(0);
        ids.push((JSON.parse(r.stdout) as { id: string }).id);
      }
      expect(new Set(ids).size).toBe(3);
    } finally {
      writer.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(writerErr).toBe("");

    const ops = readLog(logFile);
    const at = location(s3);
    const versionsSeen = new Set<string>();
    for (const id of await listSnapshotIds(at)) {
      const record = await loadRecord(at, id);
      expect(record.tables.map((t) => t.name)).toEqual(["ledger", "stream"]);
      const target = path.join(work, `restored-${id}`);
      fs.mkdirSync(target);
      await restoreSnapshot({ at, backup: id, dataDir: target });
      for (const t of record.tables) {
        versionsSeen.add(`${t.name}@${t.version}`);
        const expected = expectedRows(idsAtVersion(ops, t.name, t.version));
        expect(t.rows).toBe(expected.length);
        expect(await tableRows(target, t.name)).toEqual(expected);
        // The ledger keeps its old versions: the source itself, at that version, agrees.
        if (t.name === "ledger") expect(await tableRows(source, t.name, t.version)).toEqual(expected);
      }
    }
    // The writer moved on between backups: the snapshots are not all the same versions.
    expect(versionsSeen.size).toBeGreaterThan(2);
  });

  it("captures a table again when cleanup deletes the files of the version being copied", async () => {
    const source = path.join(work, "churn");
    const db = await lancedb.connect(source);
    const t = await db.createTable("churn", rowsFor(range(0, 1000)));
    for (let i = 1; i < 5; i++) await t.add(rowsFor(range(i * 1000, i * 1000 + 1000)));
    let churned = 0;
    const outcome = await takeSnapshot({
      at: location(s3),
      dataDir: source,
      reason: "test",
      graceMs: 3600_000,
      beforeFile: async () => {
        if (churned++ > 0) return;
        // The application compacts and removes every old version while the backup holds its file list.
        await t.delete("id < 500");
        await t.optimize({ cleanupOlderThan: new Date() });
      },
    });
    const churn = outcome.tables.find((x) => x.name === "churn")!;
    expect(churn.attempts).toBeGreaterThanOrEqual(2);
    expect(churn.version).toBe(await t.version());
    const target = path.join(work, "churn-restored");
    fs.mkdirSync(target);
    await restoreSnapshot({ at: location(s3), backup: outcome.id, dataDir: target });
    expect(await tableRows(target, "churn")).toEqual(expectedRows(range(500, 5000)));
    t.close();
    db.close();
  });

  it("gives up on a table that loses its files at every capture, and commits nothing", async () => {
    const source = path.join(work, "restless");
    const db = await lancedb.connect(source);
    const t = await db.createTable("restless", rowsFor(range(0, 200)));
    let next = 200;
    const before = await listSnapshotIds(location(s3));
    const run = takeSnapshot({
      at: location(s3),
      dataDir: source,
      reason: "test",
      graceMs: 3600_000,
      maxAttempts: 3,
      beforeFile: async (_table, file) => {
        if (!file.startsWith("data/")) return;
        await t.add(rowsFor(range(next, next + 10)));
        next += 10;
        await t.optimize({ cleanupOlderThan: new Date() });
      },
    });
    await expect(run).rejects.toThrow(OperationError);
    await expect(run).rejects.toThrow(/restless kept changing under the backup \(3 captures\)/);
    expect(await listSnapshotIds(location(s3))).toEqual(before);
    t.close();
    db.close();
  });
});
