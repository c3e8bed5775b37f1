// aws-s3-backup-bucket-tls-only: a bucket of backups refuses every request not made over TLS, so
// backups and the credentials that read them never cross a network in clear.
import type { StackValidationPolicy } from "@pulumi/policy";
import { BUCKET_SETTINGS, backupBucketsWith } from "../lib/buckets";
import { PreviewGaps, asRecord, at, tryKnown } from "../lib/props";

/** A statement's field as a list (IAM allows a single value or a list). */
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** True when a policy document denies every principal every S3 action on the objects without TLS. */
export function deniesInsecureTransport(document: unknown): boolean {
  const doc = typeof document === "string" ? safeParse(document) : document;
  return list(asRecord(doc)?.Statement).some((raw) => {
    const s = asRecord(raw);
    if (!s || s.Effect !== "Deny") return false;
    const principal = s.Principal;
    const everyone = principal === "*" || list(asRecord(principal)?.AWS).includes("*");
    const actions = list(s.Action);
    const allS3 = actions.includes("s3:*") || actions.includes("*");
    const objects = list(s.Resource).some((r) => r === "*" || (typeof r === "string" && r.endsWith("/*")));
    const conditions = asRecord(s.Condition) ?? {};
    const insecure = ["Bool", "BoolIfExists"].some((op) => {
      const v = asRecord(conditions[op])?.["aws:SecureTransport"];
      return list(v).some((x) => x === false || x === "false");
    });
    return everyone && allS3 && objects && insecure;
  });
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Backup buckets have a policy that denies requests without TLS. */
export const backupBucketTlsOnly: StackValidationPolicy = {
  name: "aws-s3-backup-bucket-tls-only",
  description:
    "Buckets that hold backups have a bucket policy denying every request made without TLS (aws:SecureTransport false).",
  severity: "medium",
  remediationSteps:
    'Attach an `aws.s3.BucketPolicy` with a statement `{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } }`.',
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const gaps = new PreviewGaps();
    for (const b of backupBucketsWith(args.resources, BUCKET_SETTINGS.policy)) {
      const documents = [...b.attached.map((r) => tryKnown(() => at(r.props, "policy")))];
      const inline = tryKnown(() => at(b.bucket.props, "policy"));
      if (!inline.known || inline.value !== undefined) documents.push(inline);
      const known = documents.filter((d) => d.known);
      if (known.some((d) => d.known && deniesInsecureTransport(d.value))) continue;
      if (known.length < documents.length || b.unresolved > 0)
        gaps.note(`the bucket policy of backup bucket ${b.label}`);
      else
        reportViolation(
          known.length === 0
            ? `backup bucket ${b.label} has no bucket policy denying requests without TLS`
            : `backup bucket ${b.label}: its bucket policy does not deny requests without TLS (aws:SecureTransport false)`,
          b.bucket.urn,
        );
    }
    gaps.close();
  },
};
