import { checkStack } from "../evaluate/harness";
import { backupBucket, named, without } from "../volumes/fixtures";
import { backupBucketRetention as policy } from "./backup-bucket-retention";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const rules = (f: ReturnType<typeof backupBucket>) => named(f, "backups-lifecycle").props.rules as Props[];

describe("aws-s3-backup-bucket-retention", () => {
  it("#1 passes rules that expire no current object by age and keep noncurrent versions long enough (90 days against 7)", async () => {
    expect((await checkStack(policy, backupBucket())).messages).toEqual([]);
    expect((await checkStack(policy, backupBucket(), { minimumNoncurrentDays: 90 })).messages).toEqual([]);
  });

  it("#2 reports a backup bucket without lifecycle rules", async () => {
    expect((await checkStack(policy, without(backupBucket(), "backups-lifecycle"))).messages).toEqual([
      "backup bucket backups-bucket (backups-bucket-7f3a) has no lifecycle rules: retention is not managed",
    ]);
  });

  it("#3 reports a rule that expires current backups by age: an outage that long would delete the newest", async () => {
    const f = backupBucket();
    rules(f)[0].expiration = { days: 35 };
    expect((await checkStack(policy, f)).messages).toEqual([
      "backup bucket backups-bucket (backups-bucket-7f3a), lifecycle rule transition-redis-backups expires current objects after 35 days however few backups are left: a backup outage that long deletes the newest too (leave age retention to the prune job)",
    ]);
  });

  it("#7 with allowAgeExpiration, passes an expiration at the minimum and reports a shorter one", async () => {
    const f = backupBucket();
    rules(f)[0].expiration = { days: 35 };
    expect(
      (await checkStack(policy, f, { allowAgeExpiration: true, minimumRetentionDays: 35 })).messages,
    ).toEqual([]);
    expect(
      (await checkStack(policy, f, { allowAgeExpiration: true, minimumRetentionDays: 36 })).messages,
    ).toEqual([
      "backup bucket backups-bucket (backups-bucket-7f3a), lifecycle rule transition-redis-backups expires objects after 35 days (minimum 36)",
    ]);
  });

  it("#4 reports a noncurrent-version expiration shorter than minimumNoncurrentDays", async () => {
    const f = backupBucket();
    rules(f)[1].noncurrentVersionExpiration.noncurrentDays = 1;
    expect((await checkStack(policy, f)).messages).toEqual([
      expect.stringContaining(
        "rule noncurrent-versions-and-uploads expires noncurrent versions after 1 days (minimum 7)",
      ),
    ]);
  });

  it("#5 reports an expiration by date, and ignores disabled rules", async () => {
    const f = backupBucket();
    rules(f)[0].expiration = { date: "2027-01-01T00:00:00Z" };
    expect((await checkStack(policy, f)).messages).toEqual([
      expect.stringContaining("expires objects on 2027-01-01"),
    ]);
    rules(f)[0].status = "Disabled";
    expect((await checkStack(policy, f)).messages).toEqual([]);
  });

  it("#6 reads the bucket's inline lifecycleRules", async () => {
    const f = without(backupBucket(), "backups-lifecycle");
    named(f, "backups-bucket").props.lifecycleRules = [{ enabled: true, expiration: { days: 3 } }];
    expect((await checkStack(policy, f)).messages).toEqual([
      expect.stringContaining("rule #1 expires current objects after 3 days"),
    ]);
  });
});
