import type { s3 } from "@pulumi/aws/types/input";
import { LIFECYCLE_RULE_IDS, RetentionSettings, lifecycleRules } from "./lifecycle";
import { backupStoreLayout } from "../../core/store-layout";

const base: RetentionSettings = {
  prefix: "prod",
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
  it("never expires a current object by age or date, whatever the settings: the newest backups outlive any outage", () => {
    for (const settings of [
      base,
      { ...base, transitionDays: 40 },
      { ...base, transitionDays: 5, transitionStorageClass: "GLACIER_IR", noncurrentVersionDays: 1 },
    ]) {
      for (const r of lifecycleRules(settings)) {
        const expiration = r.expiration as { days?: number; date?: string } | undefined;
        expect({ id: r.id, days: expiration?.days, date: expiration?.date }).toEqual({
          id: r.id,
          days: undefined,
          date: undefined,
        });
      }
    }
  });

  it("keeps noncurrent versions for the configured days, removes bare delete markers and aborts uploads after a day", () => {
    const rules = lifecycleRules({ ...base, noncurrentVersionDays: 45 });
    expect(rules).toEqual([
      {
        id: LIFECYCLE_RULE_IDS.housekeeping,
        status: "Enabled",
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: 45 },
        expiration: { expiredObjectDeleteMarker: true },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      },
    ]);
  });

  it("moves Redis backups, snapshot records and Lance files to the cheaper class only when transitionDays is set, never the live dataset", () => {
    const moving = lifecycleRules({ ...base, transitionDays: 30 });
    const expected = [{ days: 30, storageClass: "STANDARD_IA" }];
    const prefixes = {
      [LIFECYCLE_RULE_IDS.redis]: "prod/redis/",
      [LIFECYCLE_RULE_IDS.lanceSnapshots]: "prod/lancedb/snapshots/",
      [LIFECYCLE_RULE_IDS.lanceFiles]: "prod/lancedb/files/",
    };
    for (const [id, prefix] of Object.entries(prefixes))
      expect(rule(moving, id)).toEqual({ id, status: "Enabled", filter: { prefix }, transitions: expected });
    expect(
      moving.some((r) => "prod/lancedb/live/x".startsWith((r.filter as { prefix?: string }).prefix ?? "\0")),
    ).toBe(false);
  });

  it("refuses settings S3 would reject or that would make a restore wait", () => {
    expect(() => lifecycleRules({ ...base, noncurrentVersionDays: 0 })).toThrow(/noncurrentVersionDays/);
    expect(() => lifecycleRules({ ...base, noncurrentVersionDays: 1.5 })).toThrow(/noncurrentVersionDays/);
    expect(() => lifecycleRules({ ...base, transitionDays: 10 })).toThrow(/STANDARD_IA after 30/);
    expect(() => lifecycleRules({ ...base, transitionDays: 40, transitionStorageClass: "GLACIER" })).toThrow(
      /one of STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR/,
    );
    expect(() =>
      lifecycleRules({ ...base, transitionDays: 5, transitionStorageClass: "GLACIER_IR" }),
    ).not.toThrow();
  });
});
