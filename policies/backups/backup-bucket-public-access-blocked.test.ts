import { checkStack } from "../evaluate/harness";
import { backupBucket, named, without } from "../volumes/fixtures";
import { backupBucketPublicAccessBlocked as policy } from "./backup-bucket-public-access-blocked";

describe("aws-s3-backup-bucket-public-access-blocked", () => {
  it("#1 passes a block with all four settings on", async () => {
    expect((await checkStack(policy, backupBucket())).messages).toEqual([]);
  });

  it("#2 reports a backup bucket without a public access block", async () => {
    expect((await checkStack(policy, without(backupBucket(), "backups-public-access"))).messages).toEqual([
      "backup bucket backups-bucket (backups-bucket-7f3a) has no public access block",
    ]);
  });

  it.each(["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])(
    "#3 reports %s off",
    async (flag) => {
      const fixtures = backupBucket();
      named(fixtures, "backups-public-access").props[flag] = false;
      expect((await checkStack(policy, fixtures)).messages).toEqual([
        `backup bucket backups-bucket (backups-bucket-7f3a): public access block has ${flag} off`,
      ]);
    },
  );

  it("#4 ignores buckets that do not hold backups", async () => {
    const site = { type: "aws:s3/bucket:Bucket", name: "site", props: { bucket: "www-example" } };
    expect((await checkStack(policy, [site])).messages).toEqual([]);
  });
});
