import { UNKNOWN, checkStack } from "../evaluate/harness";
import { backupBucketVersioned } from "./backup-bucket-versioned";
import { backupBucket, named, without } from "./fixtures";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("aws-s3-backup-bucket-versioned", () => {
  it("#1 passes a bucket with BucketVersioning Enabled", async () => {
    expect((await checkStack(backupBucketVersioned, backupBucket())).messages).toEqual([]);
  });

  it("#2 reports a backup bucket without versioning", async () => {
    const fixtures = without(backupBucket(), "backups-versioning");
    delete named(fixtures, "backups-bucket").props.objectLockEnabled;
    expect((await checkStack(backupBucketVersioned, fixtures)).messages).toEqual([
      expect.stringContaining("backup bucket backups-bucket (backups-bucket-7f3a) is not versioned"),
    ]);
  });

  it("#3 reports versioning Suspended, and a versioning resource of another bucket does not count", async () => {
    const fixtures = backupBucket();
    (named(fixtures, "backups-versioning").props.versioningConfiguration as Props).status = "Suspended";
    expect((await checkStack(backupBucketVersioned, fixtures)).messages).toEqual([
      expect.stringContaining("versioning is Suspended"),
    ]);
    const elsewhere = backupBucket();
    named(elsewhere, "backups-versioning").props.bucket = "another-bucket";
    delete named(elsewhere, "backups-bucket").props.objectLockEnabled;
    expect((await checkStack(backupBucketVersioned, elsewhere)).messages).toEqual([
      expect.stringContaining("is not versioned"),
    ]);
  });

  it("#4 during preview: joins by property dependencies when the bucket's name is unknown, and never passes without a join", async () => {
    const fixtures = backupBucket();
    const bucket = named(fixtures, "backups-bucket");
    bucket.props.bucket = UNKNOWN;
    bucket.props.arn = UNKNOWN;
    delete bucket.props.objectLockEnabled;
    const versioning = named(fixtures, "backups-versioning");
    versioning.props.bucket = UNKNOWN;
    versioning.propertyDependencies = { bucket: ["backups-bucket"] };
    expect((await checkStack(backupBucketVersioned, fixtures)).messages).toEqual([]);
    delete versioning.propertyDependencies;
    const { violations } = await checkStack(backupBucketVersioned, fixtures);
    expect(violations).toEqual([
      expect.objectContaining({
        unknown: true,
        enforcementLevel: "advisory",
        message: expect.stringContaining("whether backup bucket backups-bucket is versioned"),
      }),
    ]);
  });
});
