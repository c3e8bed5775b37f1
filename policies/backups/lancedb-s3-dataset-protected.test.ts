import { UNKNOWN, checkStack } from "../evaluate/harness";
import { storesBackupScheduled } from "./stores-backup-scheduled";
import type { Fixture } from "../evaluate/harness";
import { backupBucket, without } from "../volumes/fixtures";
import { lancedbS3DatasetProtected as policy } from "./lancedb-s3-dataset-protected";
import { cronJob, lancedbStore } from "./fixtures";

describe("lancedb-s3-dataset-protected", () => {
  it("#1 passes a dataset on S3 in a versioned, Object Locked bucket of the stack", async () => {
    expect((await checkStack(policy, [lancedbStore("s3"), ...backupBucket()])).messages).toEqual([]);
  });

  it("#2 reports a bucket without Object Lock, and one without versioning either", async () => {
    const unlocked = without(backupBucket(), "backups-object-lock").map((f: Fixture) =>
      f.name === "backups-bucket" ? { ...f, props: { ...f.props, objectLockEnabled: false } } : f,
    );
    expect((await checkStack(policy, [lancedbStore("s3"), ...unlocked])).messages).toEqual([
      expect.stringMatching(
        /keeps its dataset at s3:\/\/backups-bucket-7f3a\/prod\/lancedb\/live\/ with no backup job: its bucket backups-bucket-7f3a has no Object Lock,/,
      ),
    ]);
    const bare = without(unlocked, "backups-versioning");
    expect((await checkStack(policy, [lancedbStore("s3"), ...bare])).messages).toEqual([
      expect.stringContaining("has no versioning and no Object Lock"),
    ]);
  });

  it("#3 reports a dataset in a bucket outside the stack", async () => {
    expect((await checkStack(policy, [lancedbStore("s3", "someone-elses")])).messages).toEqual([
      expect.stringContaining("bucket someone-elses is not in this stack"),
    ]);
  });

  it("#4 leaves stores on volumes, and S3 stores with a backup job, alone", async () => {
    expect((await checkStack(policy, [lancedbStore("efs"), lancedbStore("ebs")])).messages).toEqual([]);
    expect(
      (await checkStack(policy, [lancedbStore("s3", "x"), cronJob("lancedb-backup", "lancedb")])).messages,
    ).toEqual([]);
  });
});

describe("lancedb-s3-dataset-protected during preview", () => {
  it("a LANCEDB_URI unknown during preview (it names the program's bucket) is the preview advisory, and no backup job is asked for", async () => {
    const store = lancedbStore("s3");
    const app = (store.props.spec as Record<string, any>).template.spec.containers[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
    app.env[0].value = UNKNOWN;
    expect((await checkStack(policy, [store, ...backupBucket()])).violations).toEqual([
      expect.objectContaining({
        unknown: true,
        message: expect.stringContaining("where StatefulSet holdfast/lancedb keeps its dataset"),
      }),
    ]);
    expect((await checkStack(storesBackupScheduled, [store])).violations).toEqual([]);
  });
});
