import { checkStack } from "../evaluate/harness";
import { dataResourcesProtected } from "./data-resources-protected";
import {
  backupBucket,
  named,
  persistentVolume,
  persistentVolumeClaim,
  statefulSet,
  storageClass,
} from "./fixtures";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("data-resources-protected", () => {
  const stack = () => [
    statefulSet(),
    persistentVolume(),
    persistentVolumeClaim(),
    storageClass(),
    ...backupBucket(),
  ];

  it("#1 passes when every data resource, backup bucket and backup key is protected", async () => {
    expect((await checkStack(dataResourcesProtected, stack())).messages).toEqual([]);
  });

  it.each([
    ["redis-data", "StatefulSet with volumeClaimTemplates redis-data is not protected"],
    ["lancedb-data-volume", "PersistentVolume lancedb-data-volume is not protected"],
    ["lancedb-data-claim", "PersistentVolumeClaim lancedb-data-claim is not protected"],
    ["backups-bucket", "backup bucket backups-bucket (backups-bucket-7f3a) is not protected"],
    ["backups-key", "KMS key backups-key encrypts backups and is not protected"],
  ])("#2 reports %s unprotected", async (name, message) => {
    const fixtures = stack();
    named(fixtures, name).protect = false;
    const { violations } = await checkStack(dataResourcesProtected, fixtures);
    expect(violations.map((v) => v.message)).toEqual([expect.stringContaining(message)]);
    expect(violations[0].urn).toMatch(new RegExp(`::${name}$`));
  });

  it("#3 reports EBS volumes and EFS file systems, and ignores a StatefulSet without claim templates", async () => {
    const ebs = {
      type: "aws:ebs/volume:Volume",
      name: "disk",
      props: { size: 10, availabilityZone: "us-east-1a" },
    };
    const efs = { type: "aws:efs/fileSystem:FileSystem", name: "share", props: { encrypted: true } };
    const stateless = statefulSet();
    stateless.protect = false;
    delete (stateless.props.spec as Props).volumeClaimTemplates;
    const { messages } = await checkStack(dataResourcesProtected, [ebs, efs, stateless]);
    expect(messages).toEqual([
      expect.stringContaining("EBS volume disk"),
      expect.stringContaining("EFS file system share"),
    ]);
  });

  it("#4 finds a key that encrypts a backup bucket by reference, untagged, and a bucket named as backups, untagged", async () => {
    const fixtures = backupBucket();
    const key = named(fixtures, "backups-key");
    key.protect = false;
    delete key.props.tags;
    const bucket = named(fixtures, "backups-bucket");
    delete bucket.props.tags;
    bucket.protect = false;
    const { messages } = await checkStack(dataResourcesProtected, fixtures);
    expect(messages).toEqual([
      expect.stringContaining("backup bucket backups-bucket"),
      expect.stringContaining("KMS key backups-key"),
    ]);
  });

  it("#5 leaves other buckets and keys alone", async () => {
    const other = { type: "aws:s3/bucket:Bucket", name: "assets", props: { bucket: "site-assets" } };
    const key = { type: "aws:kms/key:Key", name: "app-key", props: {} };
    expect((await checkStack(dataResourcesProtected, [other, key])).messages).toEqual([]);
  });
});
