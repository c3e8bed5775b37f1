// lancedb-s3-dataset-protected: a LanceDB dataset opened directly on S3 has no volume to snapshot, so it
// gets no backup job (stack.ts). Its only copies are the bucket's own: old versions kept by versioning,
// made undeletable by Object Lock. This policy makes that visible: it reports such a store unless its
// bucket is in the stack, versioned and Object Locked. Holdfast's dev config makes it advisory.
import type { StackValidationPolicy } from "@pulumi/policy";
import { BUCKET_SETTINGS, BUCKET_TYPES, identities, settingsOf, tryKnownOr } from "../lib/buckets";
import { PreviewGaps, asBoolean, at, tryKnown } from "../lib/props";
import { backupJobsOf, jobsFor, storesOf } from "../lib/stores";

/** A LanceDB dataset on S3 without a backup job lives in a versioned, Object Locked bucket. */
export const lancedbS3DatasetProtected: StackValidationPolicy = {
  name: "lancedb-s3-dataset-protected",
  description:
    "A LanceDB store whose dataset is on S3 (no volume, so no backup job) keeps it in a bucket of the stack that is versioned and Object Locked.",
  severity: "medium",
  remediationSteps: [
    "Keep the dataset in the stack's backup bucket with Object Lock on (Holdfast prod's backupObjectLockMode), or",
    "run the store on a volume (lancedbMode ebs or efs), which gets a scheduled lancedb-backup job.",
  ].join("\n"),
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const gaps = new PreviewGaps();
    const { stores } = storesOf(args.resources);
    const { jobs } = backupJobsOf(args.resources);
    const buckets = args.resources.filter((r) => BUCKET_TYPES.includes(r.type));
    for (const store of stores) {
      if (store.s3Uri === undefined || jobsFor(jobs, store, ["lancedb-backup"]).length > 0) continue;
      if (store.s3Uri === null) {
        gaps.note(`where ${store.what} keeps its dataset (LANCEDB_URI)`);
        continue;
      }
      const name = store.s3Uri.slice("s3://".length).split("/")[0];
      const bucket = buckets.find((b) => identities(b).includes(name));
      const where = `LanceDB store ${store.what} keeps its dataset at ${store.s3Uri} with no backup job`;
      if (!bucket) {
        if (buckets.some((b) => identities(b).length === 0))
          gaps.note(`which bucket holds the dataset of ${store.what}`);
        else
          reportViolation(
            `${where}: bucket ${name} is not in this stack, so its versioning and Object Lock cannot be checked`,
            store.resource.urn,
          );
        continue;
      }
      const versioning = settingsOf(args.resources, bucket, BUCKET_SETTINGS.versioning).attached;
      const locked = tryKnown(() => asBoolean(at(bucket.props, "objectLockEnabled")) === true);
      const versioned =
        versioning.some(
          (v) => tryKnownOr(() => at(v.props, "versioningConfiguration", "status")) === "Enabled",
        ) ||
        (locked.known && locked.value);
      const lockRule = settingsOf(args.resources, bucket, BUCKET_SETTINGS.objectLock).attached.length > 0;
      const missing = [
        versioned ? "" : "versioning",
        locked.known && locked.value && lockRule ? "" : "Object Lock",
      ].filter(Boolean);
      if (!locked.known) gaps.note(`whether bucket ${name} has Object Lock`);
      else if (missing.length > 0)
        reportViolation(
          `${where}: its bucket ${name} has no ${missing.join(" and no ")}, so a deleted or overwritten dataset file is gone`,
          store.resource.urn,
        );
    }
    gaps.close();
  },
};
