import type { s3 } from "@pulumi/aws/types/input";
import { LIFECYCLE_RULE_IDS, RetentionSettings, lifecycleRules } from "./lifecycle";
import { backupStoreLayout } from "./layout";

const base: RetentionSettings = {
  prefix: "prod",
  retentionDays: 30,
  noncurrentVersionDays: 30,
  transitionDays: 0,
  transitionStorageClass: "STANDARD_IA",
};

function rule(rules: s3.BucketLifecycleConfigurationRule[], id: string) {
  const found = rules.find((r) => r.id === id);
  if (!found) throw new Error(`no rule ${id} in ${rules.map((r) => r.id).join(", ")}`);
  return found as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe("backupStoreLayout", () => {
  it("puts Redis backups, Lance files and snapshot records under the stack's prefix", () => {
    expect(backupStoreLayout("/prod/")).toEqual({
      root: "prod/",
      redis: "prod/redis/",
      lanceFiles: "prod/lancedb/files/",
      lanceSnapshots: "prod/lancedb/snapshots/",
    });
  });

  it("refuses an empty prefix or one with wildcards", () => {
    expect(() => backupStoreLayout("/")).toThrow(/must not be empty/);
    expect(() => backupStoreLayout("a*")).toThrow(/must not contain/);
  });
});

describe("lifecycleRules", () => {
  it("expires Redis backups and snapshot records after the retention days", () => {
    const rules = lifecycleRules({ ...base, retentionDays: 12 });
    expect(rule(rules, LIFECYCLE_RULE_IDS.redis)).toMatchObject({
      status: "Enabled",
      filter: { prefix: "prod/redis/" },
      expiration: { days: 12 },
    });
    expect(rule(rules, LIFECYCLE_RULE_IDS.lanceSnapshots)).toMatchObject({
      filter: { prefix: "prod/lancedb/snapshots/" },
      expiration: { days: 12 },
    });
  });

  it("never expires Lance files by age", () => {
    for (const settings of [base, { ...base, transitionDays: 40, retentionDays: 60 }]) {
      const rules = lifecycleRules(settings);
      const touchingFiles = rules.filter((r) => {
        const prefix = (r.filter as { prefix?: string } | undefined)?.prefix;
        return prefix === undefined || "prod/lancedb/files/x.lance".startsWith(prefix);
      });
      // Only the whole-bucket housekeeping rule and the transition rule apply to Lance files, and
      // neither has an expiration in days.
      expect(touchingFiles.map((r) => r.id).sort()).toEqual(
        settings.transitionDays
          ? [LIFECYCLE_RULE_IDS.housekeeping, LIFECYCLE_RULE_IDS.lanceFiles].sort()
          : [LIFECYCLE_RULE_IDS.housekeeping],
      );
      for (const r of touchingFiles) {
        expect((r.expiration as { days?: number } | undefined)?.days).toBeUndefined();
      }
    }
  });

  it("keeps noncurrent versions for the configured days, removes bare delete markers and aborts uploads after a day", () => {
    const housekeeping = rule(
      lifecycleRules({ ...base, noncurrentVersionDays: 45 }),
      LIFECYCLE_RULE_IDS.housekeeping,
    );
    expect(housekeeping).toEqual({
      id: LIFECYCLE_RULE_IDS.housekeeping,
      status: "Enabled",
      filter: {},
      noncurrentVersionExpiration: { noncurrentDays: 45 },
      expiration: { expiredObjectDeleteMarker: true },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
    });
  });

  it("moves backups and Lance files to the cheaper class only when transitionDays is set", () => {
    const none = lifecycleRules(base);
    expect(none.some((r) => r.transitions !== undefined)).toBe(false);
    expect(none.map((r) => r.id)).not.toContain(LIFECYCLE_RULE_IDS.lanceFiles);

    const moving = lifecycleRules({ ...base, retentionDays: 90, transitionDays: 30 });
    const expected = [{ days: 30, storageClass: "STANDARD_IA" }];
    expect(rule(moving, LIFECYCLE_RULE_IDS.redis).transitions).toEqual(expected);
    expect(rule(moving, LIFECYCLE_RULE_IDS.lanceSnapshots).transitions).toEqual(expected);
    expect(rule(moving, LIFECYCLE_RULE_IDS.lanceFiles)).toEqual({
      id: LIFECYCLE_RULE_IDS.lanceFiles,
      status: "Enabled",
      filter: { prefix: "prod/lancedb/files/" },
      transitions: expected,
    });
  });

  it("refuses settings S3 would reject or that would make a restore wait", () => {
    expect(() => lifecycleRules({ ...base, retentionDays: 0 })).toThrow(/retentionDays/);
    expect(() => lifecycleRules({ ...base, noncurrentVersionDays: 1.5 })).toThrow(/noncurrentVersionDays/);
    expect(() => lifecycleRules({ ...base, transitionDays: 10, retentionDays: 60 })).toThrow(
      /STANDARD_IA after 30/,
    );
    expect(() =>
      lifecycleRules({
        ...base,
        transitionDays: 30,
        retentionDays: 30,
        transitionStorageClass: "GLACIER_IR",
      }),
    ).toThrow(/less than retentionDays/);
    expect(() =>
      lifecycleRules({ ...base, transitionDays: 40, retentionDays: 90, transitionStorageClass: "GLACIER" }),
    ).toThrow(/one of STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR/);
    expect(() =>
      lifecycleRules({ ...base, transitionDays: 5, retentionDays: 30, transitionStorageClass: "GLACIER_IR" }),
    ).not.toThrow();
  });
});
