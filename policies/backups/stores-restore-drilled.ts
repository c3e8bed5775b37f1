// stores-restore-drilled: a backup nobody has restored is a hope. Every store the stack backs up has a
// scheduled restore drill (monthly by default) that reaches it.
import type { StackValidationPolicy } from "@pulumi/policy";
import { PreviewGaps } from "../lib/props";
import { backupJobsOf, jobsFor, storesOf } from "../lib/stores";

/** Every store has a scheduled restore drill. */
export const storesRestoreDrilled: StackValidationPolicy = {
  name: "stores-restore-drilled",
  description:
    "Every Redis and LanceDB store of the stack has a scheduled restore drill (a restore-drill CronJob in its namespace, or a scheduled ECS task).",
  severity: "medium",
  remediationSteps:
    "Holdfast's BackupSchedule creates a `restore-drill` CronJob (holdfast.dev/store: all); or schedule `holdfast drill` yourself, at least monthly.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const gaps = new PreviewGaps();
    const { stores, unknown } = storesOf(args.resources);
    for (const r of unknown) gaps.note(`whether ${r.name} is a data store`);
    const { jobs, pending } = backupJobsOf(args.resources);
    for (const store of stores) {
      // A dataset on S3 has no backups of its own to restore (see lancedb-s3-dataset-protected).
      if (store.s3Uri !== undefined) continue;
      if (jobsFor(jobs, store, ["restore-drill"]).length > 0) continue;
      if (jobsFor(pending, store, ["restore-drill"]).length > 0)
        gaps.note(`whether the restore-drill task of ${store.what} is scheduled`);
      else
        reportViolation(
          `${store.kind === "redis" ? "Redis" : "LanceDB"} store ${store.what} has no scheduled restore drill` +
            (store.namespace ? ` in namespace ${store.namespace}` : ""),
          store.resource.urn,
        );
    }
    gaps.close();
  },
};
