// The last restore drill: the newest Job of the stack's restore-drill CronJob (scheduled or triggered:
// both are owned by it) passed, and not longer ago than --drill-max-age. The cluster keeps the last
// Jobs of a CronJob (its history limits), so their outcome is there without a Pushgateway.
import type * as KubeClient from "@kubernetes/client-node";
import { formatDuration } from "../cli/format";
import { type CheckGroup, resultsOf } from "./check";

const DRILL = "restore-drill";

function condition(job: KubeClient.V1Job, type: string): KubeClient.V1JobCondition | undefined {
  return (job.status?.conditions ?? []).find((c) => c.type === type && c.status === "True");
}

function startedAt(job: KubeClient.V1Job): number {
  return new Date(job.status?.startTime ?? job.metadata?.creationTimestamp ?? 0).getTime();
}

/** See the module comment. */
export const drillChecks: CheckGroup = async (ctx) => {
  const r = resultsOf("drill");
  const cronJob = ctx.stack.outputs.schedule.cronJobs[DRILL];
  if (!cronJob) return [r.skip("last drill", "the stack schedules no restore drill")];
  if (!ctx.clusterReachable) return [r.unreachable("last drill")];
  const { namespace } = ctx.stack.outputs;
  const jobs = await ctx.api.call("list jobs", (o) => ctx.api.batch.listNamespacedJob({ namespace }, o));
  const drills = jobs.items
    .filter((j) =>
      (j.metadata?.ownerReferences ?? []).some((o) => o.kind === "CronJob" && o.name === cronJob),
    )
    .sort((a, b) => startedAt(b) - startedAt(a));
  const trigger = `holdfast trigger --cronjob ${cronJob} --namespace ${namespace} --reason drill`;
  const last = drills.find((j) => condition(j, "Complete") || condition(j, "Failed"));
  if (!last)
    return [
      r.warn(
        "last drill",
        `no finished drill is kept in ${namespace}${drills.length > 0 ? " (one is running)" : ""}: a restore of these backups is untested; run one (${trigger})`,
      ),
    ];
  const name = last.metadata?.name ?? "?";
  const failed = condition(last, "Failed");
  const endedAt = new Date(
    last.status?.completionTime ?? failed?.lastTransitionTime ?? startedAt(last),
  ).getTime();
  const age = formatDuration(Math.max(0, ctx.now.getTime() - endedAt));
  if (failed)
    return [
      r.fail(
        "last drill",
        `job ${name} FAILED ${age} ago (${failed.reason ?? "Failed"}${failed.message ? `: ${failed.message}` : ""}): see kubectl -n ${namespace} logs job/${name}`,
      ),
    ];
  if (ctx.now.getTime() - endedAt > ctx.maxDrillAgeMs)
    return [
      r.fail(
        "last drill",
        `job ${name} passed ${age} ago, over --drill-max-age ${formatDuration(ctx.maxDrillAgeMs)}: run one (${trigger})`,
      ),
    ];
  return [r.ok("last drill", `job ${name} passed ${age} ago`)];
};
