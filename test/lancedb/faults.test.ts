// Faults around `holdfast backup lancedb` and `restore lancedb`: bad input is one line and exit 2, an
// empty data directory (a volume not mounted) is refused, S3 going away in the middle of a backup
// fails it without a snapshot (the next run sends only what did not arrive, and commits), and a restore
// killed half-way leaves the directory as it was and completes when run again. A backup only reads
// the data directory (the CronJob mounts it read-only).
import * as fs from "fs";
import * as lancedb from "@lancedb/lancedb";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { listSnapshotIds } from "../../jobs/lancedb/backup/records";
import { listObjects } from "../../jobs/store/s3";
import { S3Server } from "../../harness/s3";
import { waitFor } from "../../harness/processes";
import {
  BUCKET,
  buildDatabase,
  expectedRows,
  HOLDFAST_BIN,
  holdfast,
  location,
  PREFIX,
  range,
  rowsFor,
  tableRows,
  tempDir,
  treeDigest,
} from "./support";

describe("holdfast backup/restore lancedb under faults", () => {
  let s3: S3Server;
  let work: string;
  /** The snapshot of the 32 MB table, committed by the re-run after S3 went away. */
  let bigId: string;

  beforeAll(async () => {
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    work = tempDir("lancedb-faults");
  });
  afterAll(async () => {
    await s3.cleanup();
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
  });

  it("answers bad input with one line and exit 2", async () => {
    const empty = path.join(work, "empty");
    fs.mkdirSync(empty);
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        ["backup", "lancedb", "--data-dir", path.join(work, "nowhere")],
        {},
        /--data-dir .*nowhere is not a directory/,
      ],
      [
        ["backup", "lancedb", "--data-dir", empty],
        {},
        /no LanceDB table \(\*\.lance\) in .*empty: is the volume mounted\?/,
      ],
      [
        ["backup", "lancedb", "--data-dir", empty],
        { HOLDFAST_BUCKET: "no-such-bucket" },
        /bucket no-such-bucket does not exist/,
      ],
      [["backup", "lancedb"], {}, /missing --data-dir \(or HOLDFAST_DATA_DIR\)/],
      [
        ["restore", "lancedb", "--backup", "yesterday", "--data-dir", empty],
        {},
        /"yesterday" is not a backup id/,
      ],
      [
        ["restore", "lancedb", "--backup", "latest", "--data-dir", empty],
        {},
        /there is no backup in s3:\/\/holdfast-backups\/dev\/lancedb\/snapshots\//,
      ],
      [
        ["restore", "lancedb", "--backup", "latest", "--data-dir", empty],
        { HOLDFAST_PREFIX: "" },
        /missing --prefix/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const r = await holdfast(s3, args, env);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
      expect(
        r.stderr
          .trim()
          .split("\n")
          .filter((l) => l.startsWith("holdfast:")),
      ).toHaveLength(1);
    }
  });

  it("fails a backup without a snapshot when S3 goes away, and the next run sends only what is missing", async () => {
    const source = path.join(work, "source");
    const db = await lancedb.connect(source);
    const t = await db.createTable("big", rowsFor(range(0, 2000), 256));
    for (let i = 1; i < 16; i++) await t.add(rowsFor(range(i * 2000, (i + 1) * 2000), 256));
    t.close();
    db.close();

    const files = async () => {
      let n = 0;
      for await (const o of listObjects(s3.client(), BUCKET, "dev/lancedb/files/")) n += o.size > 0 ? 1 : 0;
      return n;
    };
    const run = holdfast(s3, ["backup", "lancedb", "--data-dir", source, "--concurrency", "1"]);
    await waitFor("the first uploaded files", async () => (await files()) >= 3, 30000, 20);
    await s3.kill();
    const failed = await run;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/no snapshot was committed; files already uploaded are kept/);
    await s3.resume();
    expect(await listSnapshotIds(location(s3))).toEqual([]);
    // Objects that arrived whole (s3rver, unlike S3, may keep a cut-off one: that one is sent again).
    let whole = 0;
    for await (const o of listObjects(s3.client(), BUCKET, "dev/lancedb/files/big.lance/")) {
      const local = path.join(source, "big.lance", o.key.slice("dev/lancedb/files/big.lance/".length));
      if (fs.existsSync(local) && fs.statSync(local).size === o.size) whole++;
    }
    expect(whole).toBeGreaterThanOrEqual(2);
    expect(whole).toBeLessThan(16);

    const again = await holdfast(s3, ["backup", "lancedb", "--data-dir", source, "--json"]);
    expect(again.code).toBe(0);
    const summary = JSON.parse(again.stdout) as {
      id: string;
      uploaded: { files: number };
      reused: { files: number };
    };
    bigId = summary.id;
    expect(summary.reused.files).toBe(whole);
    expect(summary.uploaded.files + summary.reused.files).toBe(18); // 16 data files, transaction, manifest
    const target = path.join(work, "restored");
    fs.mkdirSync(target);
    expect(
      (await holdfast(s3, ["restore", "lancedb", "--backup", "latest", "--data-dir", target])).code,
    ).toBe(0);
    // Every file's hash was checked and the restore scanned every row; compare a slice of them here.
    const db2 = await lancedb.connect(target);
    const big = await db2.openTable("big");
    expect(await big.countRows()).toBe(32000);
    big.close();
    db2.close();
    const slice = range(0, 32000).filter((id) => id % 2000 < 20);
    expect(await tableRows(target, "big", undefined, "id % 2000 < 20")).toEqual(expectedRows(slice, 256));
  });

  it("backs up from a read-only mount (the CronJob mounts the claim read-only) and changes nothing there", async () => {
    const dir = path.join(work, "readonly-source");
    await buildDatabase(dir, 500);
    const before = treeDigest(dir);
    // A read-only bind mount where this machine allows it (root with mount rights); otherwise the same
    // backup of the writable directory, which must leave it byte for byte as it was.
    const ro = path.join(work, "readonly");
    fs.mkdirSync(ro);
    const mounted =
      spawnSync("mount", ["--bind", dir, ro]).status === 0 &&
      spawnSync("mount", ["-o", "remount,ro,bind", ro]).status === 0;
    try {
      if (mounted) expect(() => fs.writeFileSync(path.join(ro, "probe"), "x")).toThrow(/EROFS|read-only/i);
      else
        process.stderr.write("read-only bind mount not permitted here: backing up the writable directory\n");
      const r = await holdfast(s3, ["backup", "lancedb", "--data-dir", mounted ? ro : dir, "--json"]);
      expect(r.stderr).not.toMatch(/"level":"error"/);
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as { tables: unknown[] }).tables).toHaveLength(4);
    } finally {
      if (mounted) spawnSync("umount", [ro]);
    }
    expect(treeDigest(dir)).toEqual(before);
  });

  it("a restore killed in the middle leaves the directory's content in place, and re-running it completes", async () => {
    const target = path.join(work, "killed");
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "previous.txt"), "before the restore\n");
    const child = spawn(
      process.execPath,
      [HOLDFAST_BIN, "restore", "lancedb", "--backup", bigId, "--data-dir", target, "--concurrency", "1"],
      {
        env: { PATH: process.env.PATH, ...s3.env, HOLDFAST_BUCKET: BUCKET, HOLDFAST_PREFIX: PREFIX },
        stdio: "ignore",
      },
    );
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const staged = () => {
      const staging = fs.readdirSync(target).find((e) => e.startsWith(".holdfast-restore-"));
      const data = staging && path.join(target, staging, "big.lance", "data");
      return data && fs.existsSync(data) ? fs.readdirSync(data).length : 0;
    };
    await waitFor("the restore's first files", () => staged() >= 2, 30000, 10);
    child.kill("SIGKILL");
    await exited;
    expect(fs.readFileSync(path.join(target, "previous.txt"), "utf8")).toBe("before the restore\n");
    expect(fs.readdirSync(target).filter((e) => !e.startsWith(".holdfast-restore-"))).toEqual([
      "previous.txt",
    ]);

    const again = await holdfast(s3, ["restore", "lancedb", "--backup", bigId, "--data-dir", target]);
    expect(again.code).toBe(0);
    expect(fs.readdirSync(target).sort()).toEqual(["big.lance", "holdfast-aside"]);
    const [aside] = fs.readdirSync(path.join(target, "holdfast-aside"));
    expect(fs.readdirSync(path.join(target, "holdfast-aside", aside))).toEqual(["previous.txt"]);
    expect(await tableRows(target, "big", undefined, "id < 5")).toEqual(expectedRows(range(0, 5), 256));
  });
});
