// stores-backup-scheduled: every Redis and LanceDB store of the stack has a scheduled backup job (daily
// by default), in reach of it: a CronJob in its namespace or an ECS task on a schedule. A
// LanceDB dataset on S3 has no volume to back up; `lancedb-s3-dataset-protected` judges it instead.
import type { StackValidationPolicy } from "@pulumi/policy";
import { PreviewGaps } from "../lib/props";
import { backupJobsOf, jobsFor, storesOf } from "../lib/stores";

/** Every store has a scheduled backup. */
export const storesBackupScheduled: StackValidationPolicy = {
  name: "stores-backup-scheduled",
  description:
    "Every Redis and LanceDB store of the stack has a scheduled backup job (a CronJob in its namespace or a scheduled ECS task; ElastiCache: automatic snapshots).",
  severity: "high",
  remediationSteps: [
    "Add Holdfast's BackupSchedule for the store's namespace: it creates the `redis-backup` and `lancedb-backup` CronJobs (labels holdfast.dev/job and holdfast.dev/store).",
    "Or run `holdfast backup redis|lancedb` from your own CronJob or scheduled ECS task; for ElastiCache, set snapshotRetentionLimit.",
  ].join("\n"),
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const gaps = new PreviewGaps();
    const { stores, unknown } = storesOf(args.resources);
    for (const r of unknown) gaps.note(`whether ${r.name} is a data store`);
    const { jobs, pending } = backupJobsOf(args.resources);
    for (const store of stores) {
      // On S3 (or LANCEDB_URI unknown during preview, nothing mounted): lancedb-s3-dataset-protected's.
      if (store.s3Uri !== undefined || store.managedSnapshots) continue;
      const kind = `${store.kind}-backup`;
      if (jobsFor(jobs, store, [kind]).length > 0) continue;
      if (jobsFor(pending, store, [kind]).length > 0)
        gaps.note(`whether the ${kind} task of ${store.what} is scheduled`);
      else
        reportViolation(
          `${store.kind === "redis" ? "Redis" : "LanceDB"} store ${store.what} has no scheduled ${kind} job` +
            (store.namespace ? ` in namespace ${store.namespace}` : "") +
            (store.kind === "redis" && store.resource.type.startsWith("aws:elasticache")
              ? " and keeps no automatic snapshots"
              : ""),
          store.resource.urn,
        );
    }
    gaps.close();
  },
};
