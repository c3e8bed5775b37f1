import { UNKNOWN, checkStack } from "../evaluate/harness";
import { backupBucket, named, without } from "../volumes/fixtures";
import { backupBucketEncrypted as policy } from "./backup-bucket-encrypted";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("aws-s3-backup-bucket-encrypted", () => {
  it("#1 passes SSE-KMS, and AES256 with the default config", async () => {
    expect((await checkStack(policy, backupBucket())).messages).toEqual([]);
    const aes = backupBucket();
    (named(aes, "backups-encryption").props.rules as Props)[0].applyServerSideEncryptionByDefault = {
      sseAlgorithm: "AES256",
    };
    expect((await checkStack(policy, aes)).messages).toEqual([]);
  });

  it("#2 reports a backup bucket without default encryption", async () => {
    expect((await checkStack(policy, without(backupBucket(), "backups-encryption"))).messages).toEqual([
      "backup bucket backups-bucket (backups-bucket-7f3a) has no default encryption configuration",
    ]);
  });

  it("#3 reports an algorithm the config does not accept (prod: KMS only)", async () => {
    const aes = backupBucket();
    (named(aes, "backups-encryption").props.rules as Props)[0].applyServerSideEncryptionByDefault = {
      sseAlgorithm: "AES256",
    };
    expect((await checkStack(policy, aes, { allowedAlgorithms: ["aws:kms"] })).messages).toEqual([
      "backup bucket backups-bucket (backups-bucket-7f3a) encrypts with AES256; accepted: aws:kms",
    ]);
  });

  it("#4 reads the bucket's inline configuration too, and defers an unknown one to the preview advisory", async () => {
    const inline = without(backupBucket(), "backups-encryption");
    named(inline, "backups-bucket").props.serverSideEncryptionConfiguration = {
      rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } },
    };
    expect((await checkStack(policy, inline)).messages).toEqual([]);
    const unknown = backupBucket();
    (named(unknown, "backups-encryption").props.rules as Props)[0] = UNKNOWN;
    expect((await checkStack(policy, unknown)).violations).toEqual([
      expect.objectContaining({ unknown: true }),
    ]);
  });
});
