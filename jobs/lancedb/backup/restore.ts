// `restoreSnapshot`: a LanceDB snapshot back into a data directory. Every path of the record is checked
// before anything is written (relative, no `..`, inside its table); every file is downloaded into a
// staging folder inside the data directory (same filesystem, so the final moves are renames) with its
// size and sha256 checked; each table is opened with @lancedb/lancedb and its version, row count and a
// full scan compared with the record, and so are the rows of the older versions its tags name and the
// tags themselves (kept by the backup); `--table-version TABLE=TAG` makes one of those versions current
// (Lance's own restore: a new version with its content, history and tags kept). Only then is the directory's current content moved aside under
// `holdfast-aside/<time>-restore-<id>/` (never deleted) and the restored tables moved in. A failure
// before the moves removes the staging folder and leaves the directory as it was.
import * as fs from "fs";
import * as path from "path";
import { OperationError, UsageError } from "../../cli/errors";
import { log } from "../../cli/log";
import type { StoreLocation } from "../../store/catalog";
import { ASIDE_DIR, compactTime } from "../../redis-pod/aside";
import { localPath, type SnapshotRecord, type SnapshotTable } from "./record";
import { resolveRecord } from "./records";
import { loadLanceDb, makeCurrent, openTable, rowsAtVersion, tagsOf, type OpenedTable } from "./tables";
import {
  DEFAULT_TRANSFER,
  downloadFile,
  forEachLimit,
  IntegrityError,
  type TransferSettings,
} from "./transfer";

/** Prefix of the staging folder inside the data directory; never a table (`*.lance`) name. */
export const STAGING_PREFIX = ".holdfast-restore-";

/** The comparison of one restored table with its record. */
export interface TableCheck {
  name: string;
  ok: boolean;
  expected: { version: number; rows: number };
  found?: OpenedTable;
  problem?: string;
  /** The older version made current (`--table-version`), when one was. */
  madeCurrent?: number;
  /** The tags the restored table has (those of the record), name → version. */
  tags?: Record<string, number>;
}

/** Every local path the record would write under `dir`, checked; throws before anything is written. */
export function plannedPaths(
  dir: string,
  record: SnapshotRecord,
): { table: string; file: SnapshotRecord["tables"][number]["files"][number]; target: string }[] {
  return record.tables.flatMap((t) =>
    t.files.map((file) => ({ table: t.name, file, target: localPath(dir, t.name, file.path) })),
  );
}

/**
 * Downloads every file of `record` into `dir` (which holds nothing of it yet), checking sizes and hashes.
 * @throws IntegrityError for an object that is not what the record says.
 */
export async function downloadSnapshot(
  at: StoreLocation,
  record: SnapshotRecord,
  dir: string,
  transfer: TransferSettings = DEFAULT_TRANSFER,
): Promise<{ files: number; bytes: number }> {
  const planned = plannedPaths(dir, record);
  let bytes = 0;
  await forEachLimit(planned, transfer.concurrency, async ({ file, target }) => {
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    await downloadFile(at.client, at.bucket, `${at.layout.lanceFiles}${file.key}`, target, file);
    bytes += file.size;
  });
  for (const t of record.tables)
    if (t.latestManifestCopy && t.scheme === "v1")
      await fs.promises.copyFile(
        localPath(dir, t.name, t.manifest),
        localPath(dir, t.name, "_latest.manifest"),
      );
  return { files: planned.length, bytes };
}

/**
 * Opens a table as an application would and compares its version and rows (and a full scan) with
 * `expected`; with `t`, also the rows of every older version the record keeps and its tags.
 */
async function checkTable(
  dir: string,
  name: string,
  expected: { version: number; rows: number },
  scan: boolean,
  t?: SnapshotTable,
): Promise<TableCheck> {
  const check: TableCheck = { name, ok: false, expected };
  try {
    const found = await openTable(dir, name, scan);
    check.found = found;
    if (found.version !== expected.version)
      check.problem = `opens at version ${found.version}, the record says ${expected.version}`;
    else if (found.rows !== expected.rows)
      check.problem = `has ${found.rows} rows, the record says ${expected.rows}`;
    else if (scan && found.scannedRows !== expected.rows)
      check.problem = `a full scan reads ${found.scannedRows} rows, the record says ${expected.rows}`;
    for (const v of t?.versions ?? []) {
      if (check.problem) break;
      const rows = await rowsAtVersion(dir, name, v.version);
      if (rows !== v.rows)
        check.problem = `has ${rows} rows at version ${v.version}, the record says ${v.rows}`;
    }
    if (!check.problem && t?.tags) {
      const tags = await tagsOf(dir, name);
      if (JSON.stringify(sorted(tags)) !== JSON.stringify(sorted(t.tags)))
        check.problem = `has tags ${JSON.stringify(sorted(tags))}, the record says ${JSON.stringify(sorted(t.tags))}`;
    }
    check.ok = !check.problem;
    if (t?.tags) check.tags = t.tags;
  } catch (err) {
    check.problem = `does not open: ${(err as Error).message}`;
  }
  return check;
}

function sorted(tags: Record<string, number>): [string, number][] {
  return Object.entries(tags).sort(([a], [b]) => a.localeCompare(b));
}

/**
 * Opens every table of `record` in `dir` and compares version and rows (and a full scan) with it, and
 * the rows of every older version it keeps and the tags.
 */
export async function checkTables(dir: string, record: SnapshotRecord, scan = true): Promise<TableCheck[]> {
  const checks: TableCheck[] = [];
  for (const t of record.tables)
    checks.push(await checkTable(dir, t.name, { version: t.version, rows: t.rows }, scan, t));
  return checks;
}

/** The versions a snapshot holds of one table: its newest, and the older ones its tags name. */
export function heldVersions(t: SnapshotTable): { version: number; rows: number; tags: string[] }[] {
  const tagsOf = (v: number) =>
    Object.entries(t.tags ?? {})
      .filter(([, x]) => x === v)
      .map(([n]) => n);
  return [{ version: t.version, rows: t.rows }, ...(t.versions ?? [])].map((v) => ({
    version: v.version,
    rows: v.rows,
    tags: tagsOf(v.version),
  }));
}

/**
 * Resolves what `--table-version NAME=VERSION|TAG` asks for against the record: the version (one the
 * snapshot holds) each named table is to be restored at.
 * @throws UsageError for a table or version the snapshot does not hold, naming the ones it does.
 */
export function chosenVersions(record: SnapshotRecord, requested: string[]): Map<string, number> {
  const chosen = new Map<string, number>();
  for (const r of requested) {
    const m = /^([^=]+)=(.+)$/.exec(r);
    if (!m)
      throw new UsageError(`--table-version must be TABLE=VERSION or TABLE=TAG, got ${JSON.stringify(r)}`);
    const t = record.tables.find((x) => x.name === m[1]);
    if (!t) throw new UsageError(`snapshot ${record.id} has no table ${JSON.stringify(m[1])}`);
    const held = heldVersions(t);
    const v = held.find((h) => String(h.version) === m[2] || h.tags.includes(m[2]));
    if (!v)
      throw new UsageError(
        `snapshot ${record.id} holds table ${t.name} at ${held
          .map((h) => `version ${h.version}${h.tags.length ? ` (tag ${h.tags.join(", ")})` : ""}`)
          .join(", ")}; not ${JSON.stringify(m[2])}`,
      );
    chosen.set(t.name, v.version);
  }
  return chosen;
}

/** How a restore runs. */
export interface RestoreOptions {
  at: StoreLocation;
  /** A backup id or `latest`. */
  backup: string;
  dataDir: string;
  /**
   * `TABLE=VERSION` or `TABLE=TAG`: restore that table at an older version the snapshot holds (one its
   * tags name), made its current version as Lance's restore does; default each table's newest.
   */
  tableVersions?: string[];
  transfer?: TransferSettings;
  now?: Date;
}

/** What a restore did. */
export interface RestoreOutcome {
  id: string;
  dataDir: string;
  tables: TableCheck[];
  files: number;
  bytes: number;
  /** Where the directory's previous content went, if it had any. */
  asideDir?: string;
  durationMs: number;
  /**
   * Where the time went: reading the record (the LanceDB library loaded meanwhile), downloading with every file's size and sha256 checked,
   * opening and counting the tables, moving the directories.
   */
  timings: { recordMs: number; downloadMs: number; verifyMs: number; placeMs: number; totalMs: number };
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * The data directory a restore writes into: it must exist (a mistyped path is refused, never created:
 * the application would not read it) and be writable by this user.
 * @throws UsageError saying which.
 */
export function checkDataDir(dir: string): string {
  const dataDir = path.resolve(dir);
  const uid = process.getuid?.() ?? "?";
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dataDir, { throwIfNoEntry: false });
  } catch (err) {
    throw new UsageError(
      `--data-dir ${dir} cannot be reached by this user (uid ${uid}): ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  if (!stat)
    throw new UsageError(
      `--data-dir ${dir} does not exist: a restore goes into the application's data directory (its volume); create it first if a new one is meant`,
    );
  if (!stat.isDirectory()) throw new UsageError(`--data-dir ${dir} is not a directory`);
  try {
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch {
    throw new UsageError(
      `--data-dir ${dir} is not writable by this user (uid ${uid}): mount it read-write, or run as its owner`,
    );
  }
  return dataDir;
}

/**
 * The swap: the directory's current content aside (renames on one filesystem, never deleted), then the
 * verified tables in from `staging`. Resolves to where the previous content went, if there was any.
 */
function swapIn(dataDir: string, staging: string, record: SnapshotRecord, now?: Date): string | undefined {
  const id = record.id;
  const current = fs.readdirSync(dataDir).filter((e) => e !== ASIDE_DIR && !e.startsWith(STAGING_PREFIX));
  let asideDir: string | undefined;
  try {
    if (current.length > 0) {
      asideDir = path.join(dataDir, ASIDE_DIR, `${compactTime(now)}-restore-${id}`);
      for (let n = 2; fs.existsSync(asideDir); n++)
        asideDir = path.join(dataDir, ASIDE_DIR, `${compactTime(now)}-restore-${id}-${n}`);
      const partial = `${asideDir}.partial`;
      fs.mkdirSync(partial, { recursive: true });
      for (const e of current) fs.renameSync(path.join(dataDir, e), path.join(partial, e));
      fs.renameSync(partial, asideDir);
      log.info("previous content of the data directory moved aside", {
        aside: asideDir,
        entries: current.length,
      });
    }
    for (const t of record.tables)
      fs.renameSync(path.join(staging, `${t.name}.lance`), path.join(dataDir, `${t.name}.lance`));
    fs.rmdirSync(staging);
  } catch (err) {
    throw new OperationError(
      `restore of snapshot ${id} failed while moving directories: ${(err as Error).message}`,
      `previous content: ${asideDir ?? dataDir}; verified snapshot copy: ${staging}; re-run the restore (it moves whatever is in ${dataDir} aside again)`,
    );
  }
  return asideDir;
}

/** Restores a snapshot into `dataDir` (see the top of this file). */
export async function restoreSnapshot(opts: RestoreOptions): Promise<RestoreOutcome> {
  const started = Date.now();
  const dataDir = checkDataDir(opts.dataDir);
  // The record's S3 requests are sent, then the LanceDB native library (needed to check the tables) loads
  // while they are answered.
  const resolving = resolveRecord(opts.at, opts.backup);
  resolving.catch(() => undefined);
  await new Promise((resolve) => setImmediate(resolve));
  loadLanceDb();
  const record = await resolving;
  const recordRead = Date.now();
  const id = record.id;
  const chosen = chosenVersions(record, opts.tableVersions ?? []);
  log.info("restoring snapshot", { snapshot: id, requested: opts.backup });
  const staging = path.join(dataDir, `${STAGING_PREFIX}${id}`);
  try {
    plannedPaths(staging, record);
  } catch (err) {
    throw new OperationError(
      `snapshot ${id} is not usable: ${(err as Error).message}`,
      "nothing was written; the record may have been tampered with",
    );
  }

  // A staging folder left by an interrupted restore holds only copies from the store.
  fs.rmSync(staging, { recursive: true, force: true });
  const free = freeBytes(dataDir);
  const needed = record.totals.bytes;
  if (free !== undefined && free < needed) {
    throw new OperationError(
      `${dataDir} has ${free} bytes free, the snapshot needs ${needed}`,
      "nothing was written; free space or grow the volume (the previous content is kept, not deleted)",
    );
  }

  const undo = () => fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging);
  let files: number;
  let bytes: number;
  let tables: TableCheck[];
  let downloaded = 0;
  try {
    ({ files, bytes } = await downloadSnapshot(opts.at, record, staging, opts.transfer));
    downloaded = Date.now();
    log.info("snapshot downloaded and its hashes checked", { snapshot: id, files, bytes });
    tables = await checkTables(staging, record);
    for (const [name, version] of chosen) {
      const t = record.tables.find((x) => x.name === name)!;
      const at = tables.findIndex((c) => c.name === name);
      if (version === t.version || !tables[at].ok) continue;
      await makeCurrent(staging, name, version);
      const rows = heldVersions(t).find((h) => h.version === version)!.rows;
      const again = await checkTable(staging, name, { version: t.version + 1, rows }, true);
      tables[at] = { ...again, madeCurrent: version, tags: t.tags };
      log.info("an older version of the table made current", { table: name, version, as: t.version + 1 });
    }
  } catch (err) {
    undo();
    if (err instanceof IntegrityError)
      throw new OperationError(
        `snapshot ${id} is damaged: ${err.message}`,
        `nothing was written to ${dataDir}; a re-run would fail the same way: restore another snapshot (holdfast list --store lancedb)`,
      );
    throw new OperationError(
      `restore of snapshot ${id} failed: ${(err as Error).message}`,
      `nothing was written to ${dataDir}; re-run the restore`,
    );
  }
  const bad = tables.filter((t) => !t.ok);
  if (bad.length > 0) {
    undo();
    throw new OperationError(
      `snapshot ${id} does not restore as recorded: table ${bad[0].name} ${bad[0].problem}`,
      `nothing was written to ${dataDir}`,
    );
  }

  const verified = Date.now();
  const asideDir = swapIn(dataDir, staging, record, opts.now);
  const done = Date.now();
  return {
    id,
    dataDir,
    tables,
    files,
    bytes,
    asideDir,
    durationMs: done - started,
    timings: {
      recordMs: recordRead - started,
      downloadMs: downloaded - recordRead,
      verifyMs: verified - downloaded,
      placeMs: done - verified,
      totalMs: done - started,
    },
  };
}
