// The offsite copy: one replication rule that copies every object under the stack's prefix, KMS
// encrypted, into the bucket in the second region, re-encrypted with that region's key.
import type { s3 } from "@pulumi/aws/types/input";
import { backupStoreLayout } from "../../core/store-layout";

/** Id of the replication rule. */
export const REPLICATION_RULE_ID = "offsite-copy";

/**
 * The replication rule of a backup bucket.
 *
 * Delete markers are replicated, so what the prune job garbage-collects (Lance files no snapshot
 * references) goes from the copy too instead of piling up there; a delete only hides the current
 * version and S3 never replicates the deletion of a version, so everything deleted in the source stays
 * recoverable in both buckets for their noncurrent-version days (and locked ones until their retention
 * ends). Deletes done by lifecycle rules are not replicated; the copy runs the same rules itself.
 * @param prefix the stack's key prefix.
 * @param replicaBucketArn ARN of the bucket in the second region.
 * @param replicaKmsKeyArn the key, in the second region, replicas are encrypted with.
 */
export function replicationRule(
  prefix: string,
  replicaBucketArn: string,
  replicaKmsKeyArn: string,
): s3.BucketReplicationConfigRule {
  return {
    id: REPLICATION_RULE_ID,
    status: "Enabled",
    priority: 1,
    filter: { prefix: backupStoreLayout(prefix).root },
    deleteMarkerReplication: { status: "Enabled" },
    sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
    destination: {
      bucket: replicaBucketArn,
      storageClass: "STANDARD",
      encryptionConfiguration: { replicaKmsKeyId: replicaKmsKeyArn },
    },
  };
}
