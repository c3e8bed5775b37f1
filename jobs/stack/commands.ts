// What the stack commands do (their flags are in specs.ts): `stack restore`, `stack backup`,
// `stack list|status` and `pod inspect redis`.
import { type Flags, num, optStr, str } from "../cli/args";
import type { Command, RunCommand } from "../cli/command";
import { runnerOf } from "../cli/command";
import { OperationError, UsageError } from "../cli/errors";
import { log } from "../cli/log";
import { httpStatus, describeKubeError } from "../kube/client";
import { checkRequestedBackup } from "../store/backup-id";
import { TriggerError, triggerCronJob, waitForJob } from "../schedule/trigger";
import { checkConfirmable, confirmStack } from "./confirm";
import { openBackups, openStack } from "./context";
import { waitBound } from "./specs";
import { executePlan, type Preparation, RunFailed } from "./execute";
import { KubeError } from "./kube";
import { formatPlan } from "./plan";
import { clusterError } from "./preflight";
import type { PreparedRestore } from "./prepared";
import { describeStop, formatSummary } from "./report";
import type { PointTarget } from "../redis-stream/point-plan";

// Each store's restore is loaded for that store only: a LanceDB restore loads no Redis client, no Redis
// backup code and no stream (require: tsx keeps import() native).
/* eslint-disable @typescript-eslint/no-require-imports */
const redisRestore = (): typeof import("./redis-restore") => require("./redis-restore");
const lancedbRestore = (): typeof import("./lancedb-restore") => require("./lancedb-restore");
const pointFlags = (): typeof import("../redis-stream/point-flags") => require("../redis-stream/point-flags");
/* eslint-enable @typescript-eslint/no-require-imports */

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
  if (store === "redis") return pointFlags().restoreTargetOf(flags);
  return { backup: checkRequestedBackup(str(flags, "backup")) };
}

/** Seconds, to a tenth, for the log. */
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** Opens the stack and plans the restore; `timing` gets how long each took. */
async function prepare(
  store: Store,
  flags: Flags,
  target: { backup: string; point?: PointTarget },
  timing: Preparation,
): Promise<{ ctx: Awaited<ReturnType<typeof openStack>>; prepared: PreparedRestore }> {
  const safety = !flags["no-safety-backup"];
  let t0 = Date.now();
  const ctx = await openStack(flags);
  if (!flags["dry-run"]) checkConfirmable(ctx.outputs, Boolean(flags.yes));
  const at = await openBackups(ctx);
  timing.openMs = Date.now() - t0;
  t0 = Date.now();
  try {
    const prepared =
      store === "redis"
        ? await redisRestore().prepareRedisRestore(ctx, at, target.backup, safety, target.point)
        : await lancedbRestore().prepareLanceDbRestore(ctx, at, target.backup, safety);
    timing.planMs = Date.now() - t0;
    return { ctx, prepared };
  } catch (err) {
    if (err instanceof KubeError) clusterError(err, ctx);
    throw store === "redis" ? pointFlags().pointError(err) : err;
  }
}

async function restore(store: Store, flags: Flags): Promise<number> {
  // Until here: node's start, the CLI's and this command's modules.
  const timing: Preparation = { startMs: Math.round(process.uptime() * 1000), openMs: 0, planMs: 0 };
  const target = stackRestoreTarget(store, flags);
  const { point } = target;
  const dryRun = Boolean(flags["dry-run"]);
  const yes = Boolean(flags.yes);
  const json = Boolean(flags.json);
  const timeouts = {
    jobTimeoutMs: num(flags, "job-timeout"),
    readyTimeoutMs: num(flags, "ready-timeout"),
    backupTimeoutMs: num(flags, "backup-timeout"),
  };
  const { ctx, prepared } = await prepare(store, flags, target, timing);
  const { plan, record, listBackups } = prepared;

  if (dryRun) {
    process.stdout.write(
      json ? JSON.stringify({ dryRun: true, plan }, null, 2) + "\n" : formatPlan(plan) + "\n",
    );
    return 0;
  }
  // One line, and only for a run: a dry run's stderr and bad input's one line stay as they were.
  log.info("started and planned", {
    started: seconds(timing.startMs),
    opened: seconds(timing.openMs),
    planned: seconds(timing.planMs),
  });
  if (!json) process.stdout.write(formatPlan(plan) + "\n\n");
  await confirmStack(
    ctx.outputs,
    yes,
    point ? `This restores it to ${plan.backup.id}.` : `This restores backup ${plan.backup.id} into it.`,
  );

  const commands = {
    resume: commandLine(store, flags, point ? pointFlags().pointArgs(point) : ["--backup", plan.backup.id]),
    restore: (backup: string) => commandLine(store, flags, ["--backup", backup]),
  };
  try {
    const outcome = await executePlan({
      kube: ctx.kube,
      plan,
      store,
      record,
      listBackups,
      preparation: timing,
      ...timeouts,
    });
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
