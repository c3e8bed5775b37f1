// The progress of a restore, kept where the next run will look: an annotation on the store's StatefulSet
// (`holdfast.dev/restore`). Written once the safety backup is taken and before anything changes, updated
// after every step that changes the cluster, removed when the restore is verified (the outcome stays in
// `holdfast.dev/last-restore`). It is what makes a re-run safe: the replica counts to bring back, the
// safety backup that holds the data from before the first attempt (never taken again of a half-restored
// set), and which volumes already hold the restore.
import { UsageError } from "../cli/errors";
import type { ExpectedCounts } from "./verify";

/** Annotation of a restore in progress. */
export const RESTORE_ANNOTATION = "holdfast.dev/restore";
/** Annotation of the last finished restore. */
export const LAST_RESTORE_ANNOTATION = "holdfast.dev/last-restore";

/** What the annotation holds. */
export interface RestoreRecord {
  version: 1;
  store: "redis" | "lancedb";
  /** The backup being restored. */
  backup: string;
  startedAt: string;
  /** The safety backup of the data before the first attempt; absent when none was taken. */
  safetyBackup?: string;
  /** Replicas of each StatefulSet before the restore scaled it down: what it brings back. */
  replicas: Record<string, number>;
  /** Keys of the plan's actions done for `backup`. */
  done: string[];
  /** A point of the stream: the key counts pod 0's restore Job replayed (what the set is compared with). */
  restored?: ExpectedCounts;
}

/** The record in a StatefulSet's annotations, if any. */
export function readRecord(
  annotations: Record<string, string> | undefined,
  statefulSet: string,
): RestoreRecord | undefined {
  const text = annotations?.[RESTORE_ANNOTATION];
  if (!text) return undefined;
  let r: RestoreRecord;
  try {
    r = JSON.parse(text) as RestoreRecord;
  } catch {
    r = undefined as unknown as RestoreRecord;
  }
  if (
    !r ||
    r.version !== 1 ||
    typeof r.backup !== "string" ||
    typeof r.replicas !== "object" ||
    !Array.isArray(r.done)
  )
    throw new UsageError(
      `the ${RESTORE_ANNOTATION} annotation of statefulset ${statefulSet} is not one this Holdfast wrote; ` +
        "look at it (kubectl get -o yaml) and remove it before restoring",
    );
  return r;
}

/** The annotation value of a record. */
export function serializeRecord(r: RestoreRecord): string {
  return JSON.stringify(r);
}

/** A record with `key` done. */
export function withDone(r: RestoreRecord, key: string): RestoreRecord {
  return r.done.includes(key) ? r : { ...r, done: [...r.done, key] };
}
