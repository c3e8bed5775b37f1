// aws-s3-backup-bucket-versioned: in a versioned bucket an overwrite or a delete keeps the previous
// version, so a backup job bug or a stolen credential cannot destroy what is already backed up.
import type { StackValidationPolicy } from "@pulumi/policy";
import { BUCKET_SETTINGS, backupBuckets, bucketLabel, knownString, settingsOf } from "../lib/buckets";
import { PreviewGaps, asBoolean, at, tryKnown } from "../lib/props";

/** Backup buckets are versioned. */
export const backupBucketVersioned: StackValidationPolicy = {
  name: "aws-s3-backup-bucket-versioned",
  description:
    "Buckets that hold backups are versioned: an overwrite or a delete keeps the previous version.",
  severity: "high",
  remediationSteps:
    'Add an `aws.s3.BucketVersioning` for the bucket with `versioningConfiguration: { status: "Enabled" }`, protected so that removing it cannot suspend versioning.',
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const gaps = new PreviewGaps();
    for (const bucket of backupBuckets(args.resources)) {
      const { attached, unresolved } = settingsOf(args.resources, bucket, BUCKET_SETTINGS.versioning);
      const states = attached.map((v) => knownString(() => at(v.props, "versioningConfiguration", "status")));
      const suspended = states.filter((s) => s !== undefined && s !== "Enabled");
      const inline = tryKnown(() => asBoolean(at(bucket.props, "versioning", "enabled")));
      // Object Lock can only be enabled on a versioned bucket, and S3 turns versioning on with it.
      const locked = tryKnown(() => asBoolean(at(bucket.props, "objectLockEnabled")));
      const enabled =
        states.includes("Enabled") ||
        (inline.known && inline.value === true) ||
        (locked.known && locked.value === true);
      if (suspended.length > 0)
        reportViolation(
          `backup bucket ${bucketLabel(bucket)}: versioning is ${suspended.join(", ")}`,
          bucket.urn,
        );
      else if (!enabled && unresolved > 0)
        gaps.note(
          `whether backup bucket ${bucketLabel(bucket)} is versioned (a BucketVersioning names a bucket unknown during preview)`,
        );
      else if (!enabled)
        reportViolation(
          `backup bucket ${bucketLabel(bucket)} is not versioned (no BucketVersioning with status Enabled)`,
          bucket.urn,
        );
    }
    gaps.close();
  },
};
