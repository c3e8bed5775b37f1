// The backup bucket's lifecycle rules: how long Redis backups and LanceDB snapshot records live, how
// long a deleted or overwritten object stays recoverable, and what never expires by age (Lance files,
// which many snapshots share and only the prune job may garbage-collect).
import type { s3 } from "@pulumi/aws/types/input";
import { backupStoreLayout } from "./layout";

/** How long backups are kept, from stack config (seed 002: `BACKUP_RETENTION_DAYS`, 30 by default). */
export interface RetentionSettings {
  /** The stack's key prefix in the bucket. */
  prefix: string;
  /** Days a Redis backup and a LanceDB snapshot record live before they expire. */
  retentionDays: number;
  /** Days an expired, deleted or overwritten object stays recoverable as a noncurrent version. */
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
  redis: "expire-redis-backups",
  lanceSnapshots: "expire-lancedb-snapshot-records",
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
  wholeDays("retentionDays", 1);
  wholeDays("noncurrentVersionDays", 1);
  wholeDays("transitionDays", 0);
  if (s.abortIncompleteUploadDays !== undefined) wholeDays("abortIncompleteUploadDays", 1);
  if (s.transitionDays > 0) {
    if (!TRANSITION_STORAGE_CLASSES.includes(s.transitionStorageClass))
      fail(`transitionStorageClass must be one of ${TRANSITION_STORAGE_CLASSES.join(", ")}`);
    if (s.transitionStorageClass === "STANDARD_IA" && s.transitionDays < STANDARD_IA_MIN_DAYS)
      fail(`S3 moves objects to STANDARD_IA after ${STANDARD_IA_MIN_DAYS} days at the earliest`);
    if (s.transitionDays >= s.retentionDays)
      fail("transitionDays must be less than retentionDays (S3 rejects a transition after the expiration)");
  }
}

/**
 * The lifecycle rules of a backup bucket:
 * - Redis backups (`<prefix>/redis/`) and LanceDB snapshot records (`<prefix>/lancedb/snapshots/`)
 *   expire after `retentionDays`, optionally moving to a cheaper class first;
 * - Lance files (`<prefix>/lancedb/files/`) never expire by age, only move class (no rule when nothing
 *   moves), because a file may belong to a snapshot far younger than the file;
 * - in the whole bucket, noncurrent versions expire `noncurrentVersionDays` after they stop being
 *   current (so a deleted or overwritten backup is recoverable that long), delete markers with no
 *   version left are removed, and unfinished multipart uploads are aborted.
 * Throws when the settings are ones S3 would reject or that would make a restore wait.
 */
export function lifecycleRules(s: RetentionSettings): s3.BucketLifecycleConfigurationRule[] {
  checkSettings(s);
  const layout = backupStoreLayout(s.prefix);
  const transitions =
    s.transitionDays > 0 ? [{ days: s.transitionDays, storageClass: s.transitionStorageClass }] : undefined;
  const expiring = (id: string, prefix: string): s3.BucketLifecycleConfigurationRule => ({
    id,
    status: "Enabled",
    filter: { prefix },
    expiration: { days: s.retentionDays },
    ...(transitions ? { transitions } : {}),
  });

  const rules = [
    expiring(LIFECYCLE_RULE_IDS.redis, layout.redis),
    expiring(LIFECYCLE_RULE_IDS.lanceSnapshots, layout.lanceSnapshots),
  ];
  if (transitions) {
    rules.push({
      id: LIFECYCLE_RULE_IDS.lanceFiles,
      status: "Enabled",
      filter: { prefix: layout.lanceFiles },
      transitions,
    });
  }
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
