// `takeSnapshot`: a LanceDB backup while the application keeps writing. Per table: read the newest
// committed version's manifest (the exact files it needs), copy those immutable files that the store
// does not hold yet, count the version's rows by opening it with @lancedb/lancedb, then copy the
// manifest; when a file vanishes (compaction and cleanup by the writer) the table is captured again at
// its new newest version, a bounded number of times. The table's tags (`_refs/tags/`) are copied too,
// with the older versions they name (their manifests and files; tags keep Lance's cleanup off them), so
// a restore gives them back and can make one of them current. After every table, every key is checked
// to be in the store, then the snapshot record is written, create-only: the commit point. No write
// replaces an object: a file whose key holds an object this backup may not rely on goes under its own
// key (`<key>.<backup id>`).
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
import { listObjects, ObjectExistsError, putJson, type ListedObject } from "../../store/s3";
import {
  captureLatest,
  captureVersion,
  listTables,
  readTags,
  VanishedFileError,
  type CapturedVersion,
} from "./dataset";
import { ManifestError, manifestName } from "./manifest";
import { fileKey, RECORD_FORMAT, type SnapshotFile, type SnapshotRecord, type SnapshotTable } from "./record";
import { recordKey, scanSnapshots } from "./records";
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
  /** The backup id (tests build a history with it); default a new one (see backup-id.ts). */
  id?: string;
  /** Called before each file of a table is copied (tests inject a writer's cleanup here). */
  beforeFile?: (table: string, filePath: string) => Promise<void>;
}

/** One table as backed up. */
export interface TableOutcome {
  name: string;
  version: number;
  rows: number;
  /** Its tags (name → version), kept with the versions they name. */
  tags: Record<string, number>;
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
  /** The key the newest committed record stores each `<table>/<path>` under. */
  readonly newestKeyOf = new Map<string, string>();
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

/** What one snapshot run shares between its tables. */
interface SnapshotRun {
  opts: BackupOptions;
  id: string;
  started: number;
  transfer: TransferSettings;
  state: StoreState;
  uploader: Uploader;
  /** Objects stored after this may be reused by their hash (see the top of this file). */
  reuseNewerThan: number;
  outcomes: TableOutcome[];
  captured: SnapshotTable[];
}

/** Bytes sent for one table. */
type Counts = { files: number; bytes: number };

/** How a run puts files and in-memory bytes into the store, reusing what is there. */
interface ObjectStore {
  storeFile(
    cap: CapturedVersion,
    rel: string,
    size: number,
    counts: Counts,
  ): Promise<Known & { key: string }>;
  storeBuffer(table: string, filePath: string, content: Buffer, counts: Counts): Promise<SnapshotFile>;
}

/** The object store of a run (see the top of this file for what may be reused). */
function objectStore(run: SnapshotRun): ObjectStore {
  const { opts, id, state, uploader, reuseNewerThan } = run;
  const { at } = opts;
  /** Whether a stored object may be relied on without sending it again (see the top of this file). */
  const reusable = (key: string, size: number): "known" | "hash" | undefined => {
    const stored = state.stored.get(key);
    if (!stored || stored.size !== size) return undefined;
    const known = state.known.get(key);
    const fresh = stored.lastModified !== undefined && stored.lastModified.getTime() > reuseNewerThan;
    if (known && known.size === size && (state.referencedByNewest.has(key) || fresh)) return "known";
    return fresh ? "hash" : undefined;
  };

  /**
   * Where this backup's own copy of an object goes when the plain key holds one it may not rely on
   * (writes are create-only: nothing is ever replaced, not even by the same bytes).
   */
  const ownKey = (key: string) => `${key}.${id}`;

  /** The stored object among `keys` this backup may rely on for `size` bytes, and how. */
  const reusableOf = (keys: string[], size: number) => {
    for (const key of keys) {
      const how = reusable(key, size);
      if (how) return { key, how };
    }
    return undefined;
  };

  /**
   * Sends an object under `key`, or under its own key when `key` is taken, and records it as stored.
   * @returns the key it went to and its sha256.
   */
  const send = async (
    key: string,
    size: number,
    put: (fullKey: string) => Promise<string>,
    counts: { files: number; bytes: number },
  ): Promise<{ key: string; sha256: string }> => {
    let target = state.stored.has(key) ? ownKey(key) : key;
    let sha256: string;
    try {
      sha256 = await put(`${at.layout.lanceFiles}${target}`);
    } catch (err) {
      // Another backup sent the same file a moment ago: send this backup's own copy.
      if (!(err instanceof ObjectExistsError) || target !== key) throw err;
      target = ownKey(key);
      sha256 = await put(`${at.layout.lanceFiles}${target}`);
    }
    counts.files++;
    counts.bytes += size;
    state.known.set(target, { size, sha256 });
    state.stored.set(target, { key: `${at.layout.lanceFiles}${target}`, size, lastModified: new Date() });
    return { key: target, sha256 };
  };

  /** Makes sure the local file is in the store; returns the key it is stored under and its sha256. */
  const storeFile = async (
    cap: CapturedVersion,
    rel: string,
    size: number,
    counts: { files: number; bytes: number },
  ): Promise<Known & { key: string }> => {
    const key = fileKey(cap.table, rel);
    const local = path.join(cap.dir, ...rel.split("/"));
    const newestKey = state.newestKeyOf.get(`${cap.table}/${rel}`);
    const reuse = reusableOf([...(newestKey ? [newestKey] : []), key, ownKey(key)], size);
    if (reuse?.how === "known") return { key: reuse.key, ...state.known.get(reuse.key)! };
    if (reuse?.how === "hash") {
      // Uploaded recently by a backup that did not commit: hash the local copy instead of sending it.
      let hashed: { sha256: string; size: number };
      try {
        hashed = await hashFile(local);
      } catch (err) {
        if (isMissing(err)) throw new VanishedFileError(cap.table, rel);
        throw err;
      }
      if (hashed.size !== size) throw new ChangedFileError(`${local} changed size while it was read`);
      state.known.set(reuse.key, { size, sha256: hashed.sha256 });
      return { key: reuse.key, size, sha256: hashed.sha256 };
    }
    try {
      const sent = await send(key, size, (full) => uploader.putFile(local, full, size), counts);
      return { key: sent.key, size, sha256: sent.sha256 };
    } catch (err) {
      if (isMissing(err)) throw new VanishedFileError(cap.table, rel);
      throw err;
    }
  };

  /** Stores bytes held in memory (a manifest, a tag file) under a key that carries their hash. */
  const storeBuffer = async (
    table: string,
    filePath: string,
    content: Buffer,
    counts: { files: number; bytes: number },
  ): Promise<SnapshotFile> => {
    const sha256 = createHash("sha256").update(content).digest("hex");
    const plainKey = fileKey(table, filePath, sha256);
    // The key holds the hash: a stored object of that key and size is this content.
    const key =
      reusableOf([plainKey, ownKey(plainKey)], content.length)?.key ??
      (await send(plainKey, content.length, (full) => uploader.putBuffer(full, content), counts)).key;
    return { path: filePath, key, size: content.length, sha256 };
  };
  return { storeFile, storeBuffer };
}

/** The rows @lancedb/lancedb counts at a captured version, which must be those its manifest says. */
async function rowsOfVersion(dataDir: string, cap: CapturedVersion): Promise<number> {
  const rows = await rowsAtVersion(dataDir, cap.table, cap.version);
  if (rows !== cap.manifestRows)
    throw new OperationError(
      `${cap.table} version ${cap.version}: @lancedb/lancedb counts ${rows} rows, its manifest ${cap.manifestRows}`,
      "no snapshot was committed; this is a bug in reading Lance manifests, please report it",
    );
  return rows;
}

/** One capture of a table: its latest version, the versions its tags name, every file stored. */
async function captureTable(
  run: SnapshotRun,
  store: ObjectStore,
  table: string,
  counts: Counts,
  attempt: number,
): Promise<void> {
  const { opts, transfer, captured, outcomes } = run;
  const { storeFile, storeBuffer } = store;
  const rowsOf = (cap: CapturedVersion) => rowsOfVersion(opts.dataDir, cap);
  const cap = captureLatest(opts.dataDir, table);
  if (!cap) {
    log.warn("table has no committed version (dropped or being created); not in this snapshot", {
      table,
    });
    return;
  }
  // Tags, and the older versions they name: kept too, so a restore gives them back.
  const tags = readTags(opts.dataDir, table).filter((t) => {
    if (t.branch)
      log.warn("a tag on a branch is not kept (branches are not backed up)", { table, tag: t.name });
    else if (t.version > cap.version)
      throw new ChangedFileError(`${table}: tag ${t.name} names version ${t.version}, committed meanwhile`);
    return !t.branch;
  });
  const older = [...new Set(tags.map((t) => t.version))]
    .filter((v) => v !== cap.version)
    .sort((a, b) => a - b)
    .map((version) =>
      captureVersion(opts.dataDir, table, {
        version,
        scheme: cap.scheme,
        name: manifestName(version, cap.scheme),
      }),
    );
  // Each path is one immutable file, whichever versions need it.
  const needed = new Map<string, number>();
  for (const c of [cap, ...older]) for (const f of c.files) needed.set(f.path, f.size);
  const files: SnapshotFile[] = [];
  await forEachLimit([...needed], transfer.concurrency, async ([filePath, size]) => {
    await opts.beforeFile?.(table, filePath);
    const s = await storeFile(cap, filePath, size, counts);
    files.push({ path: filePath, key: s.key, size: s.size, sha256: s.sha256 });
  });
  const rows = await rowsOf(cap);
  const versions: NonNullable<SnapshotTable["versions"]> = [];
  for (const c of older)
    versions.push({ version: c.version, manifest: c.manifestPath, rows: await rowsOf(c) });
  for (const c of [cap, ...older]) files.push(await storeBuffer(table, c.manifestPath, c.manifest, counts));
  for (const t of tags) files.push(await storeBuffer(table, t.path, t.content, counts));
  files.sort((a, b) => a.path.localeCompare(b.path));
  const tagged = Object.fromEntries(tags.map((t) => [t.name, t.version]));
  captured.push({
    name: table,
    version: cap.version,
    scheme: cap.scheme,
    rows,
    manifest: cap.manifestPath,
    latestManifestCopy: cap.latestManifestCopy,
    ...(tags.length > 0 ? { versions, tags: tagged } : {}),
    files,
  });
  outcomes.push({
    name: table,
    version: cap.version,
    rows,
    tags: tagged,
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
    tags: tagged,
    files: files.length,
    uploadedBytes: counts.bytes,
  });
  return;
}

/** Captures a table, again when a file vanished or changed under the copy (up to maxAttempts). */
async function backupTable(run: SnapshotRun, store: ObjectStore, table: string): Promise<void> {
  const maxAttempts = run.opts.maxAttempts ?? 5;
  const counts = { files: 0, bytes: 0 };
  for (let attempt = 1; ; attempt++) {
    try {
      await captureTable(run, store, table, counts, attempt);
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
}

/** The store as the newest committed snapshot left it: what is stored, and what is known of it. */
async function openStoreState(at: BackupOptions["at"]): Promise<StoreState> {
  // The first S3 requests are sent, then the LanceDB native library loads while they are answered.
  const scanning = scanSnapshots(at);
  scanning.catch(() => undefined);
  await new Promise((resolve) => setImmediate(resolve));
  loadLanceDb();
  const scan = await scanning;
  const state = new StoreState();
  for (const [key, o] of scan.files) state.stored.set(key, o);
  const newest = scan.catalog.committed[0];
  if (newest)
    for (const t of scan.records.get(newest.id)!.tables)
      for (const f of t.files) {
        state.known.set(f.key, { size: f.size, sha256: f.sha256 });
        state.referencedByNewest.add(f.key);
        state.newestKeyOf.set(`${t.name}/${f.path}`, f.key);
      }
  return state;
}

/** Refuses to commit a snapshot that took too long or whose files are not all in the store now. */
async function checkCommittable({ opts, started, captured }: SnapshotRun): Promise<void> {
  const { at } = opts;
  const elapsed = Date.now() - started;
  if (elapsed > opts.graceMs / 2)
    throw new OperationError(
      `the backup took ${Math.round(elapsed / 1000)} s, longer than half the prune grace period (${Math.round(opts.graceMs / 1000)} s), so prune may have removed files it reused`,
      "no snapshot was committed; raise HOLDFAST_GC_GRACE (and the prune's) or the upload concurrency, and re-run",
    );

  // Commit check: every referenced key is in the store now (a prune may have run meanwhile).
  const present = new Map<string, number>();
  for await (const o of listObjects(at.client, at.bucket, at.layout.lanceFiles))
    present.set(o.key.slice(at.layout.lanceFiles.length), o.size);
  const missing = captured.flatMap((t) =>
    t.files.filter((f) => present.get(f.key) !== f.size).map((f) => f.key),
  );
  if (missing.length > 0)
    throw new OperationError(
      `${missing.length} file(s) of this snapshot are not in the store any more (a prune ran meanwhile?), e.g. ${missing[0]}`,
      "no snapshot was committed; re-run the backup, it sends what is missing",
    );
}

/** Writes the snapshot's record (the commit) and returns the outcome. */
async function commitRecord(run: SnapshotRun, skipped: string[]): Promise<BackupOutcome> {
  const { opts, id, started, captured, outcomes } = run;
  const { at } = opts;
  captured.sort((a, b) => a.name.localeCompare(b.name));
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
  const key = recordKey(at, id);
  try {
    await putJson(at.client, at.bucket, key, record);
  } catch (err) {
    throw new OperationError(
      `writing the snapshot record ${key} failed: ${(err as Error).message}`,
      "no snapshot was committed; files already uploaded are kept and not sent again; re-run the backup",
    );
  }
  outcomes.sort((a, b) => a.name.localeCompare(b.name));
  return {
    id,
    recordKey: key,
    tables: outcomes,
    uploaded,
    reused: { files: totals.files - uploaded.files, bytes: totals.bytes - uploaded.bytes },
    skipped,
    durationMs: Date.now() - started,
  };
}

/** Takes a snapshot of every table in `dataDir` and commits its record. */
export async function takeSnapshot(opts: BackupOptions): Promise<BackupOutcome> {
  const started = Date.now();
  if (!fs.existsSync(opts.dataDir) || !fs.statSync(opts.dataDir).isDirectory())
    throw new UsageError(`--data-dir ${opts.dataDir} is not a directory`);
  const { tables, skipped } = listTables(opts.dataDir);
  if (tables.length === 0 && !opts.allowEmpty)
    throw new UsageError(
      `no LanceDB table (*.lance) in ${opts.dataDir}: is the volume mounted? (--allow-empty records an empty snapshot)`,
    );
  if (skipped.length > 0)
    log.warn("entries of the data directory that are not tables are not backed up", { skipped });

  const transfer = opts.transfer ?? DEFAULT_TRANSFER;
  const run: SnapshotRun = {
    opts,
    // Unique without a listing (which cannot see a backup still uploading); every write is create-only.
    id: opts.id ?? newBackupId(new Date(started)),
    started,
    transfer,
    state: await openStoreState(opts.at),
    uploader: new Uploader(opts.at.client, opts.at.bucket, transfer),
    reuseNewerThan: started - opts.graceMs / 2,
    outcomes: [],
    captured: [],
  };
  const store = objectStore(run);
  try {
    await forEachLimit(tables, 4, (table) => backupTable(run, store, table));
  } catch (err) {
    if (err instanceof OperationError || err instanceof UsageError) throw err;
    throw new OperationError(
      `backup failed: ${(err as Error).message}`,
      "no snapshot was committed; files already uploaded are kept and not sent again; re-run the backup",
    );
  }
  await checkCommittable(run);
  return commitRecord(run, skipped);
}
