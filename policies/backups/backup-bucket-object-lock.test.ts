import { checkStack } from "../evaluate/harness";
import { backupBucket, named, without } from "../volumes/fixtures";
import { backupBucketObjectLock as policy } from "./backup-bucket-object-lock";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const required = { required: true, minimumDays: 30 };

describe("aws-s3-backup-bucket-object-lock", () => {
  it("#1 passes a locked bucket with a GOVERNANCE default retention of 35 days", async () => {
    expect((await checkStack(policy, backupBucket(), required)).messages).toEqual([]);
  });

  it("#2 asks nothing unless the config requires it", async () => {
    const f = without(backupBucket(), "backups-object-lock");
    delete named(f, "backups-bucket").props.objectLockEnabled;
    expect((await checkStack(policy, f)).messages).toEqual([]);
  });

  it("#3 reports a bucket created without Object Lock", async () => {
    const f = backupBucket();
    delete named(f, "backups-bucket").props.objectLockEnabled;
    expect((await checkStack(policy, f, required)).messages).toEqual([
      "backup bucket backups-bucket (backups-bucket-7f3a) does not have Object Lock enabled",
    ]);
  });

  it("#4 reports a locked bucket without a default retention", async () => {
    expect(
      (await checkStack(policy, without(backupBucket(), "backups-object-lock"), required)).messages,
    ).toEqual([expect.stringContaining("has no Object Lock default retention")]);
  });

  it("#5 reports a retention too short, or of a mode the config does not accept", async () => {
    expect((await checkStack(policy, backupBucket(), { required: true, minimumDays: 60 })).messages).toEqual([
      expect.stringContaining("GOVERNANCE 35 days is not one of GOVERNANCE/COMPLIANCE for at least 60 days"),
    ]);
    expect(
      (await checkStack(policy, backupBucket(), { ...required, modes: ["COMPLIANCE"] })).messages,
    ).toHaveLength(1);
    const years = backupBucket();
    (named(years, "backups-object-lock").props.rule as Props).defaultRetention = {
      mode: "GOVERNANCE",
      years: 1,
    };
    expect((await checkStack(policy, years, { required: true, minimumDays: 365 })).messages).toEqual([]);
  });
});
