// Reading LanceDB snapshot records from the store: which snapshots exist (a record under
// `lancedb/snapshots/<backup-id>.json` is the whole definition of "exists") and one record, checked.
import { OperationError } from "../../cli/errors";
import { isBackupId, resolveBackupId } from "../../store/backup-id";
import type { StoreLocation } from "../../store/catalog";
import { errorCode, getJson, listObjects } from "../../store/s3";
import { checkRecord, InvalidRecordError, type SnapshotRecord } from "./record";

/** The key of a snapshot's record. */
export function recordKey(at: StoreLocation, id: string): string {
  return `${at.layout.lanceSnapshots}${id}.json`;
}

/** Ids of every committed snapshot (every `<backup-id>.json` under lancedb/snapshots/), oldest first. */
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

/**
 * Resolves `latest` or an id to a committed snapshot and reads its record.
 * @throws UsageError for an unknown or malformed id; OperationError for a record that must not be used.
 */
export async function resolveRecord(at: StoreLocation, requested: string): Promise<SnapshotRecord> {
  const id = resolveBackupId(requested, await listSnapshotIds(at), snapshotsUrl(at));
  try {
    return await loadRecord(at, id);
  } catch (err) {
    if (err instanceof InvalidRecordError)
      throw new OperationError(
        `snapshot ${id} is not usable: ${err.message}`,
        "nothing was written; the record may have been tampered with, choose another snapshot (holdfast list --store lancedb)",
      );
    throw new OperationError(
      `cannot read snapshot record ${recordKey(at, id)}: ${errorCode(err)} ${(err as Error).message}`,
      "nothing was written; check the S3 endpoint and re-run",
    );
  }
}
