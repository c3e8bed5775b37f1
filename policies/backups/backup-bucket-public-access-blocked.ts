// aws-s3-backup-bucket-public-access-blocked: every S3 public-access block is on for a bucket of
// backups, so no ACL or policy, now or later, can make a backup readable by the world.
import type { StackValidationPolicy } from "@pulumi/policy";
import { BUCKET_SETTINGS, backupBucketsWith } from "../lib/buckets";
import { PreviewGaps, asBoolean, at, tryKnown } from "../lib/props";

const FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

/** Backup buckets block every kind of public access. */
export const backupBucketPublicAccessBlocked: StackValidationPolicy = {
  name: "aws-s3-backup-bucket-public-access-blocked",
  description: "Buckets that hold backups have a public access block with all four settings on.",
  severity: "high",
  remediationSteps:
    "Add an `aws.s3.BucketPublicAccessBlock` for the bucket with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const gaps = new PreviewGaps();
    for (const b of backupBucketsWith(args.resources, BUCKET_SETTINGS.publicAccess)) {
      if (b.attached.length === 0) {
        if (b.unresolved > 0) gaps.note(`the public access block of backup bucket ${b.label}`);
        else reportViolation(`backup bucket ${b.label} has no public access block`, b.bucket.urn);
        continue;
      }
      // Any one complete block is enough; report the best one's gaps otherwise.
      const off = b.attached.map((r) =>
        FLAGS.filter((f) => {
          const v = tryKnown(() => asBoolean(at(r.props, f)));
          if (!v.known) gaps.note(`${f} of the public access block of backup bucket ${b.label}`);
          return v.known && v.value !== true;
        }),
      );
      const best = off.reduce((a, c) => (c.length < a.length ? c : a));
      if (best.length > 0)
        reportViolation(
          `backup bucket ${b.label}: public access block has ${best.join(", ")} off`,
          b.bucket.urn,
        );
    }
    gaps.close();
  },
};
