// `takeSnapshot`: a LanceDB backup while the application keeps writing. Per table: read the newest
// committed version's manifest (the exact files it needs), copy those immutable files that the store
// does not hold yet, count the version's rows by opening it with @lancedb/lancedb, then copy the
// manifest; when a file vanishes (compaction and cleanup by the writer) the table is captured again at
// its new newest version, a bounded number of times. After every table, every key is checked to be in
// the store, then the snapshot record is written: the commit point.
//
// Reuse and the prune grace period G (see prune.ts): a file already in the store is not sent again when
// the newest snapshot record references it (prune never deletes the newest snapshot's files), or when
// it was uploaded less than G/2 before this backup started; a backup must commit within G/2 of its start
// or it fails without a record. Prune deletes only unreferenced files older than G, so a file this backup
// relies on cannot be swept before its record exists.
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OperationError, UsageError } from "../../cli/errors";
import { log } from "../../cli/log";
import { newBackupId } from "../../store/backup-id";
import type { StoreLocation } from "../../store/catalog";
import { listObjects, putJson, type ListedObject } from "../../store/s3";
import { captureLatest, listTables, VanishedFileError, type CapturedVersion } from "./dataset";
import { ManifestError } from "./manifest";
import { fileKey, RECORD_FORMAT, type SnapshotFile, type SnapshotRecord, type SnapshotTable } from "./record";
import { listSnapshotIds, loadRecord } from "./records";
import { lancedbVersion, loadLanceDb, rowsAtVersion, VersionGoneError } from "./tables";
import {
  ChangedFileError,
  DEFAULT_TRANSFER,
  forEachLimit,
  hashFile,
  Uploader,
  type TransferSettings,
} from "./transfer";

/** How a backup runs. */
export interface BackupOptions {
  at: StoreLocation;
  dataDir: string;
  reason: string;
  /** The prune grace period G; the backup must commit within G/2. */
  graceMs: number;
  /** Write a record even when the directory holds no table. */
  allowEmpty?: boolean;
  transfer?: TransferSettings;
  /** Captures of one table before giving up on it (it kept losing files to cleanup). */
  maxAttempts?: number;
  /** The time the backup id is taken from (tests); durations always use the real clock. */
  idTime?: Date;
  /** Called before each file of a table is copied (tests inject a writer's cleanup here). */
  beforeFile?: (table: string, filePath: string) => Promise<void>;
}

/** One table as backed up. */
export interface TableOutcome {
  name: string;
  version: number;
  rows: number;
  files: number;
  bytes: number;
  uploadedFiles: number;
  uploadedBytes: number;
  attempts: number;
}

/** What a backup did. */
export interface BackupOutcome {
  id: string;
  recordKey: string;
  tables: TableOutcome[];
  uploaded: { files: number; bytes: number };
  reused: { files: number; bytes: number };
  /** Entries of the data directory that are not tables and were not copied. */
  skipped: string[];
  durationMs: number;
}

interface Known {
  size: number;
  sha256: string;
}

/** What the store holds and what this backup knows about it. */
class StoreState {
  /** Objects under lancedb/files/, by key relative to it. */
  readonly stored = new Map<string, ListedObject>();
  /** Hashes known for stored keys (from the newest record, or from this run's uploads). */
  readonly known = new Map<string, Known>();
  /** Keys the newest committed record references. */
  readonly referencedByNewest = new Set<string>();
}

function isRetryable(err: unknown): boolean {
  return (
    err instanceof VanishedFileError || err instanceof ChangedFileError || err instanceof VersionGoneError
  );
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Takes a snapshot of every table in `dataDir` and commits its record. */
export async function takeSnapshot(opts: BackupOptions): Promise<BackupOutcome> {
  const started = Date.now();
  const { at } = opts;
  const transfer = opts.transfer ?? DEFAULT_TRANSFER;
  const maxAttempts = opts.maxAttempts ?? 5;
  if (!fs.existsSync(opts.dataDir) || !fs.statSync(opts.dataDir).isDirectory())
    throw new UsageError(`--data-dir ${opts.dataDir} is not a directory`);
  const { tables, skipped } = listTables(opts.dataDir);
  if (tables.length === 0 && !opts.allowEmpty)
    throw new UsageError(
      `no LanceDB table (*.lance) in ${opts.dataDir}: is the volume mounted? (--allow-empty records an empty snapshot)`,
    );
  if (skipped.length > 0)
    log.warn("entries of the data directory that are not tables are not backed up", { skipped });

  // The first S3 requests are sent, then the LanceDB native library loads while they are answered.
  const listing = Promise.all([
    listSnapshotIds(at),
    (async () => {
      const stored: ListedObject[] = [];
      for await (const o of listObjects(at.client, at.bucket, at.layout.lanceFiles)) stored.push(o);
      return stored;
    })(),
  ]);
  listing.catch(() => undefined);
  await new Promise((resolve) => setImmediate(resolve));
  loadLanceDb();
  const [ids, listed] = await listing;
  const startedAt = opts.idTime ?? new Date(started);
  const state = new StoreState();
  for (const o of listed) state.stored.set(o.key.slice(at.layout.lanceFiles.length), o);
  const newest = [...ids].sort().pop();
  if (newest) {
    try {
      const basis = await loadRecord(at, newest);
      for (const t of basis.tables)
        for (const f of t.files) {
          state.known.set(f.key, { size: f.size, sha256: f.sha256 });
          state.referencedByNewest.add(f.key);
        }
    } catch (err) {
      log.warn("the newest snapshot record cannot be read; every file is checked again", {
        snapshot: newest,
        error: (err as Error).message,
      });
    }
  }

  const uploader = new Uploader(at.client, at.bucket, transfer);
  const reuseNewerThan = started - opts.graceMs / 2;
  const outcomes: TableOutcome[] = [];
  const captured: SnapshotTable[] = [];

  /** Whether a stored object may be relied on without sending it again (see the top of this file). */
  const reusable = (key: string, size: number): "known" | "hash" | undefined => {
    const stored = state.stored.get(key);
    if (!stored || stored.size !== size) return undefined;
    const known = state.known.get(key);
    const fresh = stored.lastModified !== undefined && stored.lastModified.getTime() > reuseNewerThan;
    if (known && known.size === size && (state.referencedByNewest.has(key) || fresh)) return "known";
    return fresh ? "hash" : undefined;
  };

  /** Makes sure `key` is in the store with the content of the local file; returns its sha256. */
  const storeFile = async (
    cap: CapturedVersion,
    rel: string,
    size: number,
    counts: { files: number; bytes: number },
  ): Promise<Known & { key: string }> => {
    const key = fileKey(cap.table, rel);
    const local = path.join(cap.dir, ...rel.split("/"));
    const reuse = reusable(key, size);
    if (reuse === "known") return { key, ...state.known.get(key)! };
    if (reuse === "hash") {
      // Uploaded recently by a backup that did not commit: hash the local copy instead of sending it.
      let hashed: { sha256: string; size: number };
      try {
        hashed = await hashFile(local);
      } catch (err) {
        if (isMissing(err)) throw new VanishedFileError(cap.table, rel);
        throw err;
      }
      if (hashed.size !== size) throw new ChangedFileError(`${local} changed size while it was read`);
      state.known.set(key, { size, sha256: hashed.sha256 });
      return { key, size, sha256: hashed.sha256 };
    }
    let sha256: string;
    try {
      sha256 = await uploader.putFile(local, `${at.layout.lanceFiles}${key}`, size);
    } catch (err) {
      if (isMissing(err)) throw new VanishedFileError(cap.table, rel);
      throw err;
    }
    counts.files++;
    counts.bytes += size;
    state.known.set(key, { size, sha256 });
    state.stored.set(key, { key: `${at.layout.lanceFiles}${key}`, size, lastModified: new Date() });
    return { key, size, sha256 };
  };

  const backupTable = async (table: string): Promise<void> => {
    const counts = { files: 0, bytes: 0 };
    for (let attempt = 1; ; attempt++) {
      try {
        const cap = captureLatest(opts.dataDir, table);
        if (!cap) {
          log.warn("table has no committed version (dropped or being created); not in this snapshot", {
            table,
          });
          return;
        }
        const files: SnapshotFile[] = [];
        await forEachLimit(cap.files, transfer.concurrency, async (f) => {
          await opts.beforeFile?.(table, f.path);
          const s = await storeFile(cap, f.path, f.size, counts);
          files.push({ path: f.path, key: s.key, size: s.size, sha256: s.sha256 });
        });
        const rows = await rowsAtVersion(opts.dataDir, table, cap.version);
        if (rows !== cap.manifestRows)
          throw new OperationError(
            `${table} version ${cap.version}: @lancedb/lancedb counts ${rows} rows, its manifest ${cap.manifestRows}`,
            "no snapshot was committed; this is a bug in reading Lance manifests, please report it",
          );
        const manifestSha = createHash("sha256").update(cap.manifest).digest("hex");
        const manifestKey = fileKey(table, cap.manifestPath, manifestSha);
        // The key holds the hash: a stored object of that key and size is this manifest.
        if (!reusable(manifestKey, cap.manifest.length)) {
          await uploader.putBuffer(`${at.layout.lanceFiles}${manifestKey}`, cap.manifest);
          counts.files++;
          counts.bytes += cap.manifest.length;
          state.known.set(manifestKey, { size: cap.manifest.length, sha256: manifestSha });
          state.stored.set(manifestKey, {
            key: manifestKey,
            size: cap.manifest.length,
            lastModified: new Date(),
          });
        }
        files.push({
          path: cap.manifestPath,
          key: manifestKey,
          size: cap.manifest.length,
          sha256: manifestSha,
        });
        files.sort((a, b) => a.path.localeCompare(b.path));
        captured.push({
          name: table,
          version: cap.version,
          scheme: cap.scheme,
          rows,
          manifest: cap.manifestPath,
          latestManifestCopy: cap.latestManifestCopy,
          files,
        });
        outcomes.push({
          name: table,
          version: cap.version,
          rows,
          files: files.length,
          bytes: files.reduce((n, f) => n + f.size, 0),
          uploadedFiles: counts.files,
          uploadedBytes: counts.bytes,
          attempts: attempt,
        });
        log.info("table captured", {
          table,
          version: cap.version,
          rows,
          files: files.length,
          uploadedBytes: counts.bytes,
        });
        return;
      } catch (err) {
        if (err instanceof ManifestError)
          throw new OperationError(
            `${table}: ${err.message}`,
            "no snapshot was committed; the data directory is unchanged",
          );
        if (!isRetryable(err) || attempt >= maxAttempts) {
          if (isRetryable(err))
            throw new OperationError(
              `${table} kept changing under the backup (${maxAttempts} captures): ${(err as Error).message}`,
              "no snapshot was committed; files already uploaded are kept and not sent again; re-run the backup",
            );
          throw err;
        }
        log.warn("a file of the table vanished or changed while it was copied; capturing the table again", {
          table,
          attempt,
          error: (err as Error).message,
        });
      }
    }
  };

  try {
    await forEachLimit(tables, 4, backupTable);
  } catch (err) {
    if (err instanceof OperationError || err instanceof UsageError) throw err;
    throw new OperationError(
      `backup failed: ${(err as Error).message}`,
      "no snapshot was committed; files already uploaded are kept and not sent again; re-run the backup",
    );
  }

  const elapsed = Date.now() - started;
  if (elapsed > opts.graceMs / 2)
    throw new OperationError(
      `the backup took ${Math.round(elapsed / 1000)} s, longer than half the prune grace period (${Math.round(opts.graceMs / 1000)} s), so prune may have removed files it reused`,
      "no snapshot was committed; raise HOLDFAST_GC_GRACE (and the prune's) or the upload concurrency, and re-run",
    );

  // Commit check: every referenced key is in the store now (a prune may have run meanwhile); and the
  // ids taken meanwhile, for a unique id.
  const present = new Map<string, number>();
  const [takenIds] = await Promise.all([
    listSnapshotIds(at),
    (async () => {
      for await (const o of listObjects(at.client, at.bucket, at.layout.lanceFiles))
        present.set(o.key.slice(at.layout.lanceFiles.length), o.size);
    })(),
  ]);
  const missing = captured.flatMap((t) =>
    t.files.filter((f) => present.get(f.key) !== f.size).map((f) => f.key),
  );
  if (missing.length > 0)
    throw new OperationError(
      `${missing.length} file(s) of this snapshot are not in the store any more (a prune ran meanwhile?), e.g. ${missing[0]}`,
      "no snapshot was committed; re-run the backup, it sends what is missing",
    );

  captured.sort((a, b) => a.name.localeCompare(b.name));
  const taken = new Set(takenIds);
  const id = newBackupId((i) => taken.has(i), startedAt);
  const totals = {
    tables: captured.length,
    files: captured.reduce((n, t) => n + t.files.length, 0),
    bytes: captured.reduce((n, t) => n + t.files.reduce((m, f) => m + f.size, 0), 0),
    rows: captured.reduce((n, t) => n + t.rows, 0),
  };
  const uploaded = {
    files: outcomes.reduce((n, t) => n + t.uploadedFiles, 0),
    bytes: outcomes.reduce((n, t) => n + t.uploadedBytes, 0),
  };
  const record: SnapshotRecord = {
    format: RECORD_FORMAT,
    store: "lancedb",
    id,
    reason: opts.reason,
    startedAt: new Date(started).toISOString(),
    completedAt: new Date().toISOString(),
    source: { dataDir: path.resolve(opts.dataDir), host: os.hostname(), lancedb: lancedbVersion() },
    tables: captured,
    totals,
    uploaded,
  };
  const recordKey = `${at.layout.lanceSnapshots}${id}.json`;
  await putJson(at.client, at.bucket, recordKey, record);
  outcomes.sort((a, b) => a.name.localeCompare(b.name));
  return {
    id,
    recordKey,
    tables: outcomes,
    uploaded,
    reused: { files: totals.files - uploaded.files, bytes: totals.bytes - uploaded.bytes },
    skipped,
    durationMs: Date.now() - started,
  };
}
