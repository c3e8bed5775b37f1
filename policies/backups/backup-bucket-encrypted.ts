// aws-s3-backup-bucket-encrypted: backups are encrypted at rest with an algorithm the platform accepts,
// set explicitly on the bucket (the default S3 applies is not something a review can see).
import type { StackValidationPolicy } from "@pulumi/policy";
import { BUCKET_SETTINGS, backupBucketsWith, tryKnownOr } from "../lib/buckets";
import { configSchema, settings } from "../lib/config";
import { PreviewGaps, asArray, asString, at, tryKnown } from "../lib/props";

const DEFAULTS = {
  /** Default encryption algorithms accepted for backups. */
  allowedAlgorithms: ["aws:kms", "aws:kms:dsse", "AES256"],
};

/** The default-encryption algorithms of one settings resource (or the bucket's inline block). */
function algorithms(read: () => unknown, many: boolean): { known: boolean; values: string[] } {
  const rules = tryKnown(() => (many ? asArray(read()) : [read()]));
  if (!rules.known) return { known: false, values: [] };
  const values: string[] = [];
  for (let i = 0; i < rules.value.length; i++) {
    const alg = tryKnown(() =>
      asString(at(rules.value[i], "applyServerSideEncryptionByDefault", "sseAlgorithm")),
    );
    if (!alg.known) return { known: false, values };
    if (alg.value) values.push(alg.value);
  }
  return { known: true, values };
}

/** Backup buckets have default encryption with an accepted algorithm. */
export const backupBucketEncrypted: StackValidationPolicy = {
  name: "aws-s3-backup-bucket-encrypted",
  description:
    "Buckets that hold backups have explicit default encryption with an accepted algorithm (SSE-KMS by default in prod).",
  severity: "high",
  remediationSteps:
    'Add an `aws.s3.BucketServerSideEncryptionConfiguration` for the bucket: `applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId }`, with `bucketKeyEnabled: true`.',
  configSchema: configSchema(DEFAULTS, {
    allowedAlgorithms: {
      type: "array",
      items: { type: "string", enum: ["aws:kms", "aws:kms:dsse", "AES256"] },
      minItems: 1,
      description: "Accepted default encryption algorithms (sseAlgorithm).",
    },
  }),
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const { allowedAlgorithms } = settings(args, DEFAULTS);
    const gaps = new PreviewGaps();
    for (const b of backupBucketsWith(args.resources, BUCKET_SETTINGS.encryption)) {
      const found = b.attached.map((r) => algorithms(() => at(r.props, "rules"), true));
      if (tryKnownOr(() => at(b.bucket.props, "serverSideEncryptionConfiguration")) !== undefined)
        found.push(algorithms(() => at(b.bucket.props, "serverSideEncryptionConfiguration", "rule"), false));
      const algs = found.flatMap((f) => f.values);
      const bad = algs.filter((a) => !allowedAlgorithms.includes(a));
      if (bad.length > 0)
        reportViolation(
          `backup bucket ${b.label} encrypts with ${bad.join(", ")}; accepted: ${allowedAlgorithms.join(", ")}`,
          b.bucket.urn,
        );
      else if (algs.length === 0 && (b.unresolved > 0 || found.some((f) => !f.known)))
        gaps.note(`the default encryption of backup bucket ${b.label}`);
      else if (algs.length === 0)
        reportViolation(`backup bucket ${b.label} has no default encryption configuration`, b.bucket.urn);
    }
    gaps.close();
  },
};
