// aws-s3-backup-bucket-retention: a bucket of backups manages retention with lifecycle rules; no rule
// expires current objects by age (an outage of the backups that long would let it delete every backup,
// the newest included: age retention is the prune job's, which keeps the newest N) unless the config
// allows it, and then not sooner than the platform's minimum; and no rule expires the noncurrent version
// a delete or overwrite leaves sooner than its minimum.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { BUCKET_SETTINGS, backupBucketsWith } from "../lib/buckets";
import { configSchema, settings } from "../lib/config";
import { PreviewGaps, asArray, asBoolean, asNumber, asString, at, tryKnown } from "../lib/props";

const DEFAULTS = {
  /** Whether a rule may expire current objects by age at all (a bucket without a prune job). */
  allowAgeExpiration: false,
  /** With allowAgeExpiration, days a backup is kept at least: no expiration rule may be shorter. */
  minimumRetentionDays: 30,
  /** Days a deleted or overwritten version is kept at least. */
  minimumNoncurrentDays: 7,
};

/** One lifecycle rule, in the shape of either the separate resource or the bucket's inline block. */
interface Rule {
  id: string;
  enabled: boolean;
  expirationDays?: number;
  expirationDate?: string;
  noncurrentDays?: number;
}

function rulesOf(read: () => unknown, inline: boolean): Rule[] {
  const list = asArray(read());
  return list.map((r, i) => ({
    id: asString(at(r, "id")) ?? `#${i + 1}`,
    enabled: inline ? asBoolean(at(r, "enabled")) === true : asString(at(r, "status")) === "Enabled",
    expirationDays: asNumber(at(r, "expiration", "days")),
    expirationDate: asString(at(r, "expiration", "date")),
    noncurrentDays: asNumber(at(r, "noncurrentVersionExpiration", inline ? "days" : "noncurrentDays")),
  }));
}

/** Backup buckets have lifecycle rules that keep backups and noncurrent versions long enough. */
export const backupBucketRetention: StackValidationPolicy = {
  name: "aws-s3-backup-bucket-retention",
  description:
    "Buckets that hold backups have lifecycle rules; none expires current backups by age (unless allowed, then not sooner than the minimum) or noncurrent versions sooner than the minimum.",
  severity: "high",
  remediationSteps: [
    "Add an `aws.s3.BucketLifecycleConfiguration` for the bucket whose noncurrentVersionExpiration days are at least minimumNoncurrentDays.",
    "Do not expire current backups by age: let the prune job apply retention (it keeps the newest backups whatever their age). Where no prune job runs, set allowAgeExpiration and keep expiration days at least minimumRetentionDays.",
    "Never expire by date: a date expires every matching backup at once.",
  ].join("\n"),
  configSchema: configSchema(DEFAULTS, {
    allowAgeExpiration: {
      type: "boolean",
      description:
        "Allow rules that expire current objects by age (off: an outage of the backups would let such a rule delete the newest).",
    },
    minimumRetentionDays: {
      type: "integer",
      minimum: 1,
      description: "With allowAgeExpiration, the shortest expiration (days) a lifecycle rule may set.",
    },
    minimumNoncurrentDays: {
      type: "integer",
      minimum: 1,
      description: "Shortest noncurrent-version expiration (days) a lifecycle rule may set.",
    },
  }),
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const s = settings(args, DEFAULTS);
    const gaps = new PreviewGaps();
    for (const b of backupBucketsWith(args.resources, BUCKET_SETTINGS.lifecycle)) {
      const sources: { what: string; read: () => Rule[] }[] = b.attached.map((r: PolicyResource) => ({
        what: r.name,
        read: () => rulesOf(() => at(r.props, "rules"), false),
      }));
      const inline = tryKnown(() => at(b.bucket.props, "lifecycleRules"));
      if (!inline.known || asArray(inline.value).length > 0)
        sources.push({
          what: "inline lifecycleRules",
          read: () => rulesOf(() => at(b.bucket.props, "lifecycleRules"), true),
        });
      if (sources.length === 0) {
        if (b.unresolved > 0) gaps.note(`the lifecycle rules of backup bucket ${b.label}`);
        else
          reportViolation(
            `backup bucket ${b.label} has no lifecycle rules: retention is not managed`,
            b.bucket.urn,
          );
        continue;
      }
      for (const source of sources) {
        const rules = tryKnown(source.read);
        if (!rules.known) {
          gaps.note(`the lifecycle rules ${source.what} of backup bucket ${b.label}`);
          continue;
        }
        for (const rule of rules.value.filter((r) => r.enabled)) {
          const where = `backup bucket ${b.label}, lifecycle rule ${rule.id}`;
          if (rule.expirationDays !== undefined && !s.allowAgeExpiration)
            reportViolation(
              `${where} expires current objects after ${rule.expirationDays} days however few backups are left: ` +
                "a backup outage that long deletes the newest too (leave age retention to the prune job)",
              b.bucket.urn,
            );
          else if (rule.expirationDays !== undefined && rule.expirationDays < s.minimumRetentionDays)
            reportViolation(
              `${where} expires objects after ${rule.expirationDays} days (minimum ${s.minimumRetentionDays})`,
              b.bucket.urn,
            );
          if (rule.expirationDate !== undefined)
            reportViolation(
              `${where} expires objects on ${rule.expirationDate}: every matching backup at once`,
              b.bucket.urn,
            );
          if (rule.noncurrentDays !== undefined && rule.noncurrentDays < s.minimumNoncurrentDays)
            reportViolation(
              `${where} expires noncurrent versions after ${rule.noncurrentDays} days (minimum ${s.minimumNoncurrentDays})`,
              b.bucket.urn,
            );
        }
      }
    }
    gaps.close();
  },
};
