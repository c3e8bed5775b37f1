import { checkResource, clone } from "../evaluate/harness";
import { bucketNoForceDestroy } from "./bucket-no-force-destroy";
import { backupBucket, named } from "./fixtures";

describe("aws-s3-bucket-no-force-destroy", () => {
  const bucket = () => named(backupBucket(), "backups-bucket");

  it("#1 passes a bucket without forceDestroy", async () => {
    expect((await checkResource(bucketNoForceDestroy, bucket())).messages).toEqual([]);
  });

  it("#2 reports forceDestroy on any bucket (V2 too)", async () => {
    const f = bucket();
    f.props.forceDestroy = true;
    expect((await checkResource(bucketNoForceDestroy, f)).messages).toHaveLength(1);
    expect(
      (await checkResource(bucketNoForceDestroy, { ...clone(f), type: "aws:s3/bucketV2:BucketV2" })).messages,
    ).toHaveLength(1);
  });
});
