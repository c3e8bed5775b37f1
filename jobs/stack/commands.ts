// What the stack commands do (their flags are in specs.ts): `stack restore`, `stack backup`,
// `stack list|status` and `pod inspect redis`.
import { type Flags, hostPort, list, num, optStr, str } from "../cli/args";
import type { Command, RunCommand } from "../cli/command";
import { runnerOf } from "../cli/command";
import { OperationError, UsageError } from "../cli/errors";
import { log } from "../cli/log";
import { httpStatus, describeKubeError } from "../kube/client";
import { lancedbStore } from "../lancedb/backup/store-module";
import { credentialsFromEnv, parseAddresses } from "../redis/client";
import { redisStore } from "../redis-backup/store";
import { checkRequestedBackup } from "../store/backup-id";
import { TriggerError, triggerCronJob, waitForJob } from "../schedule/trigger";
import { checkConfirmable, confirmStack } from "./confirm";
import { openBackups, openStack } from "./context";
import { waitBound } from "./specs";
import { executePlan, RunFailed } from "./execute";
import { KubeError } from "./kube";
import { gatherLanceDbFacts, planLanceDbRestore } from "./lancedb-restore";
import { formatPlan, type Plan } from "./plan";
import { planRedisRestore } from "./redis-plan";
import { clusterError, gatherRedisFacts } from "./redis-restore";
import { inspectRedis } from "./redis-inspect";
import { describeStop, formatSummary } from "./report";
import type { RestoreRecord } from "./record";
import type { BackupSummary } from "../store/catalog";
import { pointArgs, pointError, restoreTargetOf } from "../redis-stream/point-flags";
import type { PointTarget } from "../redis-stream/point-plan";

type Store = "redis" | "lancedb";

/**
 * `holdfast stack restore <store> ...` with `what` (`--backup ID`, or a point's flags) and the flags that
 * shape the run, for messages.
 */
function commandLine(store: Store, flags: Flags, what: string[]): string {
  const parts = ["holdfast", "stack", "restore", store, "--stack", str(flags, "stack"), ...what];
  for (const f of ["outputs", "work-dir", "context"]) {
    const v = optStr(flags, f);
    if (v) parts.push(`--${f}`, /^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v));
  }
  if (flags.yes) parts.push("--yes");
  return parts.join(" ");
}

/** What a stack restore restores: a backup, or (Redis) a point of the stream. */
function stackRestoreTarget(store: Store, flags: Flags): { backup: string; point?: PointTarget } {
  if (store === "redis") return restoreTargetOf(flags);
  return { backup: checkRequestedBackup(str(flags, "backup")) };
}

async function restore(store: Store, flags: Flags): Promise<number> {
  const { backup: requested, point } = stackRestoreTarget(store, flags);
  const dryRun = Boolean(flags["dry-run"]);
  const yes = Boolean(flags.yes);
  const json = Boolean(flags.json);
  const safety = !flags["no-safety-backup"];
  const timeouts = {
    jobTimeoutMs: num(flags, "job-timeout"),
    readyTimeoutMs: num(flags, "ready-timeout"),
    backupTimeoutMs: num(flags, "backup-timeout"),
  };
  const ctx = await openStack(flags);
  if (!dryRun) checkConfirmable(ctx.outputs, yes);
  const at = await openBackups(ctx);

  let plan: Plan;
  let record: RestoreRecord | undefined;
  let listBackups: () => Promise<BackupSummary[]>;
  try {
    if (store === "redis") {
      const facts = await gatherRedisFacts(ctx, at, requested, safety, point);
      plan = planRedisRestore(facts, { safetyBackup: safety });
      record = facts.record;
      listBackups = async () => (await redisStore.catalog(at)).committed;
    } else {
      const facts = await gatherLanceDbFacts(ctx, at, requested, safety);
      plan = planLanceDbRestore(facts, { safetyBackup: safety });
      record = facts.record;
      listBackups = async () => (await lancedbStore.catalog(at)).committed;
    }
  } catch (err) {
    if (err instanceof KubeError) clusterError(err, ctx);
    throw pointError(err);
  }

  if (dryRun) {
    process.stdout.write(
      json ? JSON.stringify({ dryRun: true, plan }, null, 2) + "\n" : formatPlan(plan) + "\n",
    );
    return 0;
  }
  if (!json) process.stdout.write(formatPlan(plan) + "\n\n");
  await confirmStack(
    ctx.outputs,
    yes,
    point ? `This restores it to ${plan.backup.id}.` : `This restores backup ${plan.backup.id} into it.`,
  );

  const commands = {
    resume: commandLine(store, flags, point ? pointArgs(point) : ["--backup", plan.backup.id]),
    restore: (backup: string) => commandLine(store, flags, ["--backup", backup]),
  };
  try {
    const outcome = await executePlan({ kube: ctx.kube, plan, store, record, listBackups, ...timeouts });
    process.stdout.write(
      json
        ? JSON.stringify({ ok: true, plan, outcome }, null, 2) + "\n"
        : formatSummary(plan, outcome, commands.restore) + "\n",
    );
    return 0;
  } catch (err) {
    if (!(err instanceof RunFailed)) throw err;
    const state = describeStop(plan, err, commands);
    if (json)
      process.stdout.write(
        JSON.stringify({ ok: false, plan, outcome: err.outcome, error: err.message, state }, null, 2) + "\n",
      );
    throw new OperationError(
      `the restore stopped at step ${err.step.n} (${err.step.title}): ${err.message}`,
      state,
    );
  }
}

/** `holdfast stack restore <store>`. */
export function restoreRunner(store: Store): RunCommand {
  return (flags) => restore(store, flags);
}

/** `holdfast stack backup <store>`. */
export function backupRunner(store: Store): RunCommand {
  return async (flags) => {
    const reason = str(flags, "reason");
    if (!/^[\w .:,/-]{1,200}$/.test(reason))
      throw new UsageError("--reason must be up to 200 letters, digits, spaces and .:,/-_");
    const waitMs = waitBound(flags);
    const ctx = await openStack(flags);
    const cronJob = ctx.outputs.schedule.cronJobs[`${store}-backup`];
    if (!cronJob) throw new UsageError(`stack ${ctx.outputs.stack} schedules no ${store} backup`);
    let job;
    try {
      job = await triggerCronJob(ctx.kube.batch, ctx.outputs.namespace, cronJob, reason);
    } catch (err) {
      if (
        err instanceof TriggerError &&
        (err.status === undefined || err.status === 404 || err.status === 403)
      )
        throw new UsageError(
          err.status === undefined
            ? `cannot reach the cluster of stack ${ctx.outputs.stack} (context ${ctx.context || "current"}): ${err.message}`
            : err.message,
        );
      if (httpStatus(err) === undefined && !(err instanceof TriggerError))
        throw new UsageError(
          `cannot reach the cluster of stack ${ctx.outputs.stack}: ${describeKubeError(err)}`,
        );
      throw new OperationError(
        `could not create the backup Job: ${err instanceof TriggerError ? err.message : describeKubeError(err)}`,
        "Nothing was started.",
      );
    }
    log.info(`started job ${job.name} from cronjob ${cronJob}`, { namespace: job.namespace, reason });
    process.stdout.write(`${job.name}\n`);
    if (waitMs === undefined) return 0;
    const result = await waitForJob(ctx.kube.batch, job, waitMs, ctx.kube.pollMs);
    if (!result.succeeded)
      throw new OperationError(
        `job ${job.name} did not succeed: ${result.message ?? "unknown"}`,
        `See kubectl -n ${job.namespace} logs job/${job.name}; the scheduled backups continue as before.`,
      );
    log.info(`job ${job.name} succeeded`, { seconds: Math.round(result.durationMs / 1000) });
    return 0;
  };
}

/** `stack list` / `stack status`: runs the store command `inner` on the stack's bucket and prefix. */
export async function onStackBucket(inner: Command): Promise<RunCommand> {
  const run = await runnerOf(inner);
  return async (flags) => {
    const ctx = await openStack(flags);
    process.env.AWS_REGION ||= ctx.outputs.backup.region;
    return run({ ...flags, bucket: ctx.outputs.backup.bucket, prefix: ctx.outputs.backup.prefix });
  };
}

/** `holdfast pod inspect redis`. */
export const runInspect: RunCommand = async (flags) => {
  const waitMs = num(flags, "wait");
  const expect = optStr(flags, "expect-primary");
  const report = await inspectRedis({
    sentinels: parseAddresses(list(flags, "sentinel").join(","), "--sentinel"),
    masterName: str(flags, "master-name"),
    nodes: parseAddresses(str(flags, "nodes"), "--nodes"),
    patterns: list(flags, "pattern"),
    redisCredentials: credentialsFromEnv("REDIS"),
    sentinelCredentials: credentialsFromEnv("SENTINEL"),
    expectPrimary: expect ? hostPort(expect, "--expect-primary") : undefined,
    waitMs,
    log: log.info,
  });
  process.stdout.write(JSON.stringify(report) + "\n");
  if (report.healthy) log.info("the set is whole", { primary: report.primary });
  else log.warn("the set is not whole", { problems: report.problems });
  return waitMs > 0 && !report.healthy ? 1 : 0;
};
