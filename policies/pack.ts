// Holdfast's policy pack: its name, default enforcement and every policy, in one list. index.ts hands it
// to the PolicyPack (the Pulumi CLI's analyzer); the offline evaluator (tools/policy.ts) runs the same
// list under Pulumi mocks. Nothing here starts a server, so tests and tools import it freely.
import type { EnforcementLevel, Policies } from "@pulumi/policy";
import { backupBucketEncrypted } from "./backups/backup-bucket-encrypted";
import { backupBucketObjectLock } from "./backups/backup-bucket-object-lock";
import { backupBucketPublicAccessBlocked } from "./backups/backup-bucket-public-access-blocked";
import { backupBucketRetention } from "./backups/backup-bucket-retention";
import { backupBucketTlsOnly } from "./backups/backup-bucket-tls-only";
import { lancedbS3DatasetProtected } from "./backups/lancedb-s3-dataset-protected";
import { storesBackupScheduled } from "./backups/stores-backup-scheduled";
import { storesRestoreDrilled } from "./backups/stores-restore-drilled";
import { redisContinuousProtection } from "./backups/redis-continuous-protection";
import { lancedbSingleWriter } from "./lancedb/single-writer";
import { redisDefaultUserProtected } from "./redis/default-user-protected";
import { redisNoFlushForClients } from "./redis/no-flush-for-clients";
import { redisPersistenceEnabled } from "./redis/persistence-enabled";
import { backupBucketVersioned } from "./volumes/backup-bucket-versioned";
import { bucketNoForceDestroy } from "./volumes/bucket-no-force-destroy";
import { dataResourcesProtected } from "./volumes/data-resources-protected";
import { dataVolumesPersistent } from "./volumes/data-volumes-persistent";
import { statefulSetRetainClaims } from "./volumes/statefulset-retain-claims";
import { storageReclaimRetain } from "./volumes/storage-reclaim-retain";
import { imagesPinnedByDigest } from "./workloads/images-pinned-by-digest";

/** The pack's name, as `pulumi preview` prints it. */
export const PACK_NAME = "holdfast";

/** Every policy is mandatory unless its own definition or the config file says otherwise. */
export const PACK_ENFORCEMENT: EnforcementLevel = "mandatory";

export const PACK_DESCRIPTION =
  "Holdfast: no volume deletion, no FLUSHALL for clients, and backups with restore drills for every Redis and LanceDB store.";

/** The policies, grouped by what they guard. */
export const policies: Policies = [
  // Volumes and data
  dataResourcesProtected,
  statefulSetRetainClaims,
  storageReclaimRetain,
  bucketNoForceDestroy,
  backupBucketVersioned,
  dataVolumesPersistent,
  // Redis
  redisNoFlushForClients,
  redisDefaultUserProtected,
  redisPersistenceEnabled,
  // Backups
  storesBackupScheduled,
  storesRestoreDrilled,
  redisContinuousProtection,
  lancedbS3DatasetProtected,
  backupBucketEncrypted,
  backupBucketPublicAccessBlocked,
  backupBucketTlsOnly,
  backupBucketRetention,
  backupBucketObjectLock,
  // LanceDB
  lancedbSingleWriter,
  // Workloads
  imagesPinnedByDigest,
];
