// aws-s3-backup-bucket-object-lock: where the platform demands it (prod), backups are written under S3
// Object Lock with a default retention, so not even an administrator's credentials can delete a backup
// before its time (COMPLIANCE), or only with an explicit bypass (GOVERNANCE).
import type { StackValidationPolicy } from "@pulumi/policy";
import { BUCKET_SETTINGS, backupBucketsWith } from "../lib/buckets";
import { configSchema, settings } from "../lib/config";
import { PreviewGaps, asBoolean, asNumber, asString, at, tryKnown } from "../lib/props";

const DEFAULTS = {
  /** Require Object Lock on backup buckets. */
  required: false,
  /** Shortest default retention (days) accepted. */
  minimumDays: 1,
  /** Accepted retention modes. */
  modes: ["GOVERNANCE", "COMPLIANCE"],
};

/** Backup buckets have Object Lock with a default retention, when the config requires it. */
export const backupBucketObjectLock: StackValidationPolicy = {
  name: "aws-s3-backup-bucket-object-lock",
  description:
    "When required by the pack's config, buckets that hold backups have Object Lock on with a default retention of an accepted mode and length.",
  severity: "high",
  remediationSteps: [
    "Create the bucket with `objectLockEnabled: true` (S3 cannot add it to an existing bucket: create a new one and move the backups).",
    "Add an `aws.s3.BucketObjectLockConfiguration` with `rule.defaultRetention` { mode, days } of at least minimumDays.",
  ].join("\n"),
  configSchema: configSchema(DEFAULTS, {
    required: { type: "boolean", description: "Require Object Lock on every backup bucket." },
    minimumDays: { type: "integer", minimum: 1, description: "Shortest default retention (days) accepted." },
    modes: {
      type: "array",
      items: { type: "string", enum: ["GOVERNANCE", "COMPLIANCE"] },
      minItems: 1,
      description: "Accepted Object Lock modes.",
    },
  }),
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const s = settings(args, DEFAULTS);
    if (!s.required) return;
    const gaps = new PreviewGaps();
    for (const b of backupBucketsWith(args.resources, BUCKET_SETTINGS.objectLock)) {
      const enabled = tryKnown(
        () =>
          asBoolean(at(b.bucket.props, "objectLockEnabled")) === true ||
          asString(at(b.bucket.props, "objectLockConfiguration", "objectLockEnabled")) === "Enabled",
      );
      if (!enabled.known) gaps.note(`whether backup bucket ${b.label} has Object Lock`);
      else if (!enabled.value) {
        reportViolation(`backup bucket ${b.label} does not have Object Lock enabled`, b.bucket.urn);
        continue;
      }
      const retentions = [
        ...b.attached.map((r) => () => at(r.props, "rule", "defaultRetention")),
        () => at(b.bucket.props, "objectLockConfiguration", "rule", "defaultRetention"),
      ].map((read) =>
        tryKnown(() => {
          const mode = asString(at(read(), "mode"));
          const days = asNumber(at(read(), "days")) ?? (asNumber(at(read(), "years")) ?? 0) * 365;
          return mode ? { mode, days } : undefined;
        }),
      );
      const known = retentions.flatMap((r) => (r.known && r.value ? [r.value] : []));
      const good = known.filter((r) => s.modes.includes(r.mode) && r.days >= s.minimumDays);
      if (good.length > 0) continue;
      if (known.length > 0)
        reportViolation(
          `backup bucket ${b.label}: Object Lock default retention ${known.map((r) => `${r.mode} ${r.days} days`).join(", ")} ` +
            `is not one of ${s.modes.join("/")} for at least ${s.minimumDays} days`,
          b.bucket.urn,
        );
      else if (b.unresolved > 0 || retentions.some((r) => !r.known))
        gaps.note(`the Object Lock retention of backup bucket ${b.label}`);
      else
        reportViolation(
          `backup bucket ${b.label} has no Object Lock default retention: objects are not locked`,
          b.bucket.urn,
        );
    }
    gaps.close();
  },
};
