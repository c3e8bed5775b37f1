// `restoreSnapshot`: a LanceDB snapshot back into a data directory. Every path of the record is checked
// before anything is written (relative, no `..`, inside its table); every file is downloaded into a
// staging folder inside the data directory (same filesystem, so the final moves are renames) with its
// size and sha256 checked; each table is opened with @lancedb/lancedb and its version, row count and a
// full scan compared with the record. Only then is the directory's current content moved aside under
// `holdfast-aside/<time>-restore-<id>/` (never deleted) and the restored tables moved in. A failure
// before the moves removes the staging folder and leaves the directory as it was.
import * as fs from "fs";
import * as path from "path";
import { OperationError, UsageError } from "../../cli/errors";
import { log } from "../../cli/log";
import type { StoreLocation } from "../../store/catalog";
import { ASIDE_DIR, compactTime } from "../../redis-pod/aside";
import { localPath, type SnapshotRecord } from "./record";
import { resolveRecord } from "./records";
import { openTable, type OpenedTable } from "./tables";
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

/** Opens every table of `record` in `dir` and compares version and rows (and a full scan) with it. */
export async function checkTables(dir: string, record: SnapshotRecord, scan = true): Promise<TableCheck[]> {
  const checks: TableCheck[] = [];
  for (const t of record.tables) {
    const check: TableCheck = { name: t.name, ok: false, expected: { version: t.version, rows: t.rows } };
    try {
      const found = await openTable(dir, t.name, scan);
      check.found = found;
      if (found.version !== t.version)
        check.problem = `opens at version ${found.version}, the record says ${t.version}`;
      else if (found.rows !== t.rows) check.problem = `has ${found.rows} rows, the record says ${t.rows}`;
      else if (scan && found.scannedRows !== t.rows)
        check.problem = `a full scan reads ${found.scannedRows} rows, the record says ${t.rows}`;
      else check.ok = true;
    } catch (err) {
      check.problem = `does not open: ${(err as Error).message}`;
    }
    checks.push(check);
  }
  return checks;
}

/** How a restore runs. */
export interface RestoreOptions {
  at: StoreLocation;
  /** A backup id or `latest`. */
  backup: string;
  dataDir: string;
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
  const stat = fs.statSync(dataDir, { throwIfNoEntry: false });
  if (!stat)
    throw new UsageError(
      `--data-dir ${dir} does not exist: a restore goes into the application's data directory (its volume); create it first if a new one is meant`,
    );
  if (!stat.isDirectory()) throw new UsageError(`--data-dir ${dir} is not a directory`);
  try {
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch {
    throw new UsageError(
      `--data-dir ${dir} is not writable by this user (uid ${process.getuid?.() ?? "?"}): mount it read-write, or run as its owner`,
    );
  }
  return dataDir;
}

/** Restores a snapshot into `dataDir` (see the top of this file). */
export async function restoreSnapshot(opts: RestoreOptions): Promise<RestoreOutcome> {
  const started = Date.now();
  const dataDir = checkDataDir(opts.dataDir);
  const record = await resolveRecord(opts.at, opts.backup);
  const id = record.id;
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
  try {
    ({ files, bytes } = await downloadSnapshot(opts.at, record, staging, opts.transfer));
    log.info("snapshot downloaded and its hashes checked", { snapshot: id, files, bytes });
    tables = await checkTables(staging, record);
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

  // Swap: previous content aside (renames on one filesystem), then the restored tables in.
  const current = fs.readdirSync(dataDir).filter((e) => e !== ASIDE_DIR && !e.startsWith(STAGING_PREFIX));
  let asideDir: string | undefined;
  try {
    if (current.length > 0) {
      asideDir = path.join(dataDir, ASIDE_DIR, `${compactTime(opts.now)}-restore-${id}`);
      for (let n = 2; fs.existsSync(asideDir); n++)
        asideDir = path.join(dataDir, ASIDE_DIR, `${compactTime(opts.now)}-restore-${id}-${n}`);
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
  return { id, dataDir, tables, files, bytes, asideDir, durationMs: Date.now() - started };
}
