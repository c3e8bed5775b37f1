// The backup bucket's lifecycle rules: how long a deleted or overwritten object stays recoverable, which
// unfinished uploads are aborted, and which backups move to a cheaper storage class. No rule expires a
// current backup by age: an outage of the backups longer than the rule's days would let it delete every
// backup, the newest included. Age retention is the prune job's, which keeps the newest N whatever their
// age (and never a damaged one); lifecycle only cleans up what prune or a failed upload leaves.
import type { s3 } from "@pulumi/aws/types/input";
import { backupStoreLayout } from "../../core/store-layout";

/** The bucket's lifecycle settings, from stack config. */
export interface RetentionSettings {
  /** The stack's key prefix in the bucket. */
  prefix: string;
  /** Days a deleted or overwritten object (a pruned backup) stays recoverable as a noncurrent version. */
  noncurrentVersionDays: number;
  /** Days after which backups move to `transitionStorageClass`; 0 never moves them. */
  transitionDays: number;
  /** Storage class backups move to; one of TRANSITION_STORAGE_CLASSES. */
  transitionStorageClass: string;
  /** Days after which an unfinished multipart upload is aborted. Default 1. */
  abortIncompleteUploadDays?: number;
}

/**
 * Storage classes backups may move to: those that serve a GET at once (a restore must not wait hours
 * for a Glacier retrieval) and keep copies in several zones (ONEZONE_IA would not survive a zone loss).
 */
export const TRANSITION_STORAGE_CLASSES = ["STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR"];

/** S3 refuses to move objects younger than this into STANDARD_IA. */
const STANDARD_IA_MIN_DAYS = 30;

/** Ids of the rules, stable so a change of settings updates a rule instead of replacing it. */
export const LIFECYCLE_RULE_IDS = {
  redis: "transition-redis-backups",
  lanceSnapshots: "transition-lancedb-snapshot-records",
  lanceFiles: "transition-lancedb-files",
  housekeeping: "noncurrent-versions-and-uploads",
};

function checkSettings(s: RetentionSettings): void {
  const fail = (msg: string) => {
    throw new Error(`invalid backup retention: ${msg}`);
  };
  const wholeDays = (key: keyof RetentionSettings, min: number) => {
    const v = s[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) fail(`${key} must be an integer >= ${min}`);
  };
  wholeDays("noncurrentVersionDays", 1);
  wholeDays("transitionDays", 0);
  if (s.abortIncompleteUploadDays !== undefined) wholeDays("abortIncompleteUploadDays", 1);
  if (s.transitionDays > 0) {
    if (!TRANSITION_STORAGE_CLASSES.includes(s.transitionStorageClass))
      fail(`transitionStorageClass must be one of ${TRANSITION_STORAGE_CLASSES.join(", ")}`);
    if (s.transitionStorageClass === "STANDARD_IA" && s.transitionDays < STANDARD_IA_MIN_DAYS)
      fail(`S3 moves objects to STANDARD_IA after ${STANDARD_IA_MIN_DAYS} days at the earliest`);
  }
}

/**
 * The lifecycle rules of a backup bucket:
 * - no rule expires a current object by age or date (the newest backups must survive any outage);
 * - with `transitionDays`, Redis backups, LanceDB snapshot records and Lance files move to a cheaper
 *   class (never the live LanceDB dataset beside them);
 * - in the whole bucket, noncurrent versions (what prune deleted, or anything overwritten) expire
 *   `noncurrentVersionDays` after they stop being current, delete markers with no version left are
 *   removed, and unfinished multipart uploads are aborted.
 * Throws when the settings are ones S3 would reject or that would make a restore wait.
 */
export function lifecycleRules(s: RetentionSettings): s3.BucketLifecycleConfigurationRule[] {
  checkSettings(s);
  const layout = backupStoreLayout(s.prefix);
  const transitions =
    s.transitionDays > 0 ? [{ days: s.transitionDays, storageClass: s.transitionStorageClass }] : undefined;
  const moving = (id: string, prefix: string): s3.BucketLifecycleConfigurationRule => ({
    id,
    status: "Enabled",
    filter: { prefix },
    transitions,
  });
  const rules: s3.BucketLifecycleConfigurationRule[] = transitions
    ? [
        moving(LIFECYCLE_RULE_IDS.redis, layout.redis),
        moving(LIFECYCLE_RULE_IDS.lanceSnapshots, layout.lanceSnapshots),
        moving(LIFECYCLE_RULE_IDS.lanceFiles, layout.lanceFiles),
      ]
    : [];
  rules.push({
    id: LIFECYCLE_RULE_IDS.housekeeping,
    status: "Enabled",
    filter: {},
    noncurrentVersionExpiration: { noncurrentDays: s.noncurrentVersionDays },
    expiration: { expiredObjectDeleteMarker: true },
    abortIncompleteMultipartUpload: { daysAfterInitiation: s.abortIncompleteUploadDays ?? 1 },
  });
  return rules;
}
