// Reading LanceDB snapshot records from the store: the catalogue of snapshots (catalog.ts says what
// committed and damaged mean; a record under `lancedb/snapshots/<backup-id>.json` is what makes a
// snapshot exist) and one record, checked.
import { OperationError } from "../../cli/errors";
import { log } from "../../cli/log";
import { isBackupId } from "../../store/backup-id";
import {
  type BackupSummary,
  type Catalog,
  catalogOf,
  type DamagedBackup,
  resolveBackup,
  skippedForLatest,
  type StoreLocation,
} from "../../store/catalog";
import { mapLimit } from "../../store/map-limit";
import { errorCode, getJson, listObjects, type ListedObject } from "../../store/s3";
import { checkRecord, InvalidRecordError, type SnapshotRecord } from "./record";

/** The key of a snapshot's record. */
export function recordKey(at: StoreLocation, id: string): string {
  return `${at.layout.lanceSnapshots}${id}.json`;
}

/** Ids of every snapshot with a record (every `<backup-id>.json` under lancedb/snapshots/), oldest first. */
export async function listSnapshotIds(at: StoreLocation): Promise<string[]> {
  const ids: string[] = [];
  for await (const o of listObjects(at.client, at.bucket, at.layout.lanceSnapshots)) {
    const name = o.key.slice(at.layout.lanceSnapshots.length);
    const m = /^(.+)\.json$/.exec(name);
    if (m && isBackupId(m[1])) ids.push(m[1]);
  }
  return ids.sort();
}

/** Where snapshots are, for messages. */
export function snapshotsUrl(at: StoreLocation): string {
  return `s3://${at.bucket}/${at.layout.lanceSnapshots}`;
}

/**
 * Reads and checks one record.
 * @throws InvalidRecordError when it is not valid JSON or fails checkRecord.
 */
export async function loadRecord(at: StoreLocation, id: string): Promise<SnapshotRecord> {
  let value: unknown;
  try {
    value = await getJson<unknown>(at.client, at.bucket, recordKey(at, id));
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new InvalidRecordError(`the record is not valid JSON (${err.message})`);
    throw err;
  }
  return checkRecord(value, id);
}

/** What a snapshot's summary in `holdfast list` says. */
export function summaryOf(r: SnapshotRecord): BackupSummary {
  return {
    store: "lancedb",
    id: r.id,
    completedAt: r.completedAt,
    sizeBytes: r.totals.bytes,
    items: r.totals.rows,
    reason: r.reason,
    database: r.source.dataDir,
  };
}

/** The files a record lists that the store lacks (or holds with another size), or undefined. */
function missingFiles(
  at: StoreLocation,
  r: SnapshotRecord,
  files: Map<string, ListedObject>,
): string | undefined {
  const missing = r.tables.flatMap((t) => t.files.filter((f) => files.get(f.key)?.size !== f.size));
  if (missing.length === 0) return undefined;
  const first = missing[0];
  const stored = files.get(first.key);
  return (
    `${missing.length} of its ${r.totals.files} files ${missing.length === 1 ? "is" : "are"} not in ${snapshotsUrl(at).replace(/snapshots\/$/, "files/")} as recorded, e.g. ` +
    (stored ? `${first.key} (${stored.size} bytes, the record says ${first.size})` : `${first.key} (missing)`)
  );
}

/** The LanceDB prefix read once: the catalogue, and what backup and prune need besides. */
export interface SnapshotScan {
  catalog: Catalog;
  /**
   * Every record that could be read and checked, by id: the committed ones, and the damaged ones whose
   * only fault is a missing file (their other files are still theirs: prune must not sweep them).
   */
  records: Map<string, SnapshotRecord>;
  /** Damaged snapshots whose record cannot be used at all (their files cannot be told from garbage). */
  unreadable: DamagedBackup[];
  /** The stored files under lancedb/files/, by key relative to it. */
  files: Map<string, ListedObject>;
}

/** Reads the LanceDB prefix: every snapshot with a record, committed or damaged (see catalog.ts). */
export async function scanSnapshots(at: StoreLocation): Promise<SnapshotScan> {
  const files = new Map<string, ListedObject>();
  const [ids] = await Promise.all([
    listSnapshotIds(at),
    (async () => {
      for await (const o of listObjects(at.client, at.bucket, at.layout.lanceFiles))
        files.set(o.key.slice(at.layout.lanceFiles.length), o);
    })(),
  ]);
  const records = new Map<string, SnapshotRecord>();
  const committed: BackupSummary[] = [];
  const damaged: DamagedBackup[] = [];
  const unreadable: DamagedBackup[] = [];
  await mapLimit(ids, 8, async (id) => {
    let r: SnapshotRecord;
    try {
      r = await loadRecord(at, id);
    } catch (err) {
      // Deleted since the listing (a prune at the same time): it no longer exists.
      if (errorCode(err) === "NoSuchKey") return;
      if (!(err instanceof InvalidRecordError)) throw err;
      const d: DamagedBackup = { store: "lancedb", id, problem: err.message };
      damaged.push(d);
      unreadable.push(d);
      return;
    }
    records.set(id, r);
    const missing = missingFiles(at, r, files);
    if (missing) damaged.push({ store: "lancedb", id, problem: missing });
    else committed.push(summaryOf(r));
  });
  return { catalog: catalogOf("lancedb", snapshotsUrl(at), committed, damaged), records, unreadable, files };
}

/**
 * Resolves `latest` or an id to a committed snapshot and its record.
 * @throws UsageError for an unknown or malformed id; DamagedBackupRefused (exit 1) for a damaged one.
 */
export async function resolveRecord(at: StoreLocation, requested: string): Promise<SnapshotRecord> {
  let scan: SnapshotScan;
  try {
    scan = await scanSnapshots(at);
  } catch (err) {
    throw new OperationError(
      `cannot read the snapshots in ${snapshotsUrl(at)}: ${errorCode(err)} ${(err as Error).message}`,
      "nothing was written; check the S3 endpoint and re-run",
    );
  }
  const chosen = resolveBackup(scan.catalog, requested);
  const skipped = requested.trim() === "latest" ? skippedForLatest(scan.catalog, chosen) : [];
  if (skipped.length > 0)
    log.warn("latest skips damaged snapshots newer than the one restored", {
      snapshot: chosen.id,
      damaged: skipped.map((d) => `${d.id}: ${d.problem}`),
    });
  return scan.records.get(chosen.id)!;
}
