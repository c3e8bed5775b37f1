// The stack commands: an operator names a stack and Holdfast does the rest on its cluster.
//   holdfast stack restore redis|lancedb --stack S --backup ID|latest [--dry-run] [--yes]
//   holdfast stack backup redis|lancedb --stack S --reason TEXT [--wait]
//   holdfast stack list|status --stack S
// and `holdfast redis inspect`, which the restore runs as a Job inside the cluster.
import { durationMs, type Flags, type FlagSpecs, hostPort, list, optStr, str } from "../cli/args";
import type { Command } from "../cli/command";
import { OperationError, UsageError } from "../cli/errors";
import { log } from "../cli/log";
import { backupStoreCommands } from "../backup/commands";
import { JSON_FLAG } from "../store/flags";
import { httpStatus, describeKubeError } from "../kube/client";
import { lancedbStore } from "../lancedb/backup/store-module";
import { credentialsFromEnv, parseAddresses } from "../redis/client";
import { redisStore } from "../redis-backup/store";
import { checkRequestedBackup, EXAMPLE_ID } from "../store/backup-id";
import { TriggerError, triggerCronJob, waitForJob } from "../schedule/trigger";
import { checkConfirmable, confirmStack } from "./confirm";
import { durationFlag, openBackups, openStack, STACK_FLAGS, type StackDeps } from "./context";
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

/** What tests inject; the CLI uses the defaults. */
let deps: StackDeps = {};

/** Replaces the injected dependencies (tests running the commands in-process). */
export function setStackDeps(d: StackDeps): void {
  deps = d;
}

type Store = "redis" | "lancedb";

const RESTORE_FLAGS: FlagSpecs = {
  ...STACK_FLAGS,
  backup: {
    type: "string",
    required: true,
    help: `the backup id (${EXAMPLE_ID}), or latest (the newest committed, undamaged one not taken by a restore)`,
  },
  "dry-run": { type: "boolean", default: false, help: "print the plan and change nothing" },
  yes: { type: "boolean", default: false, help: "do not ask for the name of a protected stack" },
  "no-safety-backup": {
    type: "boolean",
    default: false,
    help: "skip the backup of the current data before the restore (it is still kept in holdfast-aside/ on each volume)",
  },
  "job-timeout": { type: "string", default: "6h", help: "how long each Job may take; default 6h" },
  "ready-timeout": {
    type: "string",
    default: "15m",
    help: "how long pods may take to stop or become ready; default 15m",
  },
  "backup-timeout": {
    type: "string",
    default: "3h",
    help: "how long the safety backup may take; default 3h",
  },
  ...JSON_FLAG,
};

/** `holdfast stack restore <store> ...` with `backup` and the flags that shape the run, for messages. */
function commandLine(store: Store, flags: Flags, backup: string): string {
  const parts = ["holdfast", "stack", "restore", store, "--stack", str(flags, "stack"), "--backup", backup];
  for (const f of ["outputs", "work-dir", "context"]) {
    const v = optStr(flags, f);
    if (v) parts.push(`--${f}`, /^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v));
  }
  if (flags.yes) parts.push("--yes");
  return parts.join(" ");
}

async function restore(store: Store, flags: Flags): Promise<number> {
  const requested = checkRequestedBackup(str(flags, "backup"));
  const dryRun = Boolean(flags["dry-run"]);
  const yes = Boolean(flags.yes);
  const json = Boolean(flags.json);
  const safety = !flags["no-safety-backup"];
  const timeouts = {
    jobTimeoutMs: durationFlag(flags, "job-timeout"),
    readyTimeoutMs: durationFlag(flags, "ready-timeout"),
    backupTimeoutMs: durationFlag(flags, "backup-timeout"),
  };
  const ctx = await openStack(flags, deps);
  if (!dryRun) checkConfirmable(ctx.outputs, yes);
  const at = await openBackups(ctx);

  let plan: Plan;
  let record: RestoreRecord | undefined;
  let listBackups: () => Promise<BackupSummary[]>;
  try {
    if (store === "redis") {
      const facts = await gatherRedisFacts(ctx, at, requested, safety);
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
    throw err;
  }

  if (dryRun) {
    process.stdout.write(
      json ? JSON.stringify({ dryRun: true, plan }, null, 2) + "\n" : formatPlan(plan) + "\n",
    );
    return 0;
  }
  if (!json) process.stdout.write(formatPlan(plan) + "\n\n");
  await confirmStack(ctx.outputs, yes, `This restores backup ${plan.backup.id} into it.`);

  const commands = {
    resume: commandLine(store, flags, plan.backup.id),
    restore: (backup: string) => commandLine(store, flags, backup),
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

function restoreCommand(store: Store): Command {
  return {
    words: ["stack", "restore", store],
    summary:
      store === "redis"
        ? "restore a backup into a stack's Redis set: safety backup, scale down, restore pod 0, resync the rest, verify"
        : "restore a snapshot into a stack's LanceDB volume: safety backup, scale down, restore, bring back",
    flags: RESTORE_FLAGS,
    run: (flags) => restore(store, flags),
  };
}

function backupCommand(store: Store): Command {
  return {
    words: ["stack", "backup", store],
    summary: `back up a stack's ${store === "redis" ? "Redis" : "LanceDB"} now: a one-off Job from its CronJob, with a reason`,
    flags: {
      ...STACK_FLAGS,
      reason: { type: "string", required: true, help: "why, recorded in the backup (e.g. pre-training)" },
      wait: { type: "boolean", default: false, help: "wait until the backup finishes; exit 1 if it fails" },
      timeout: { type: "string", default: "3h", help: "how long --wait waits; default 3h" },
    },
    async run(flags) {
      const reason = str(flags, "reason");
      if (!/^[\w .:,/-]{1,200}$/.test(reason))
        throw new UsageError("--reason must be up to 200 letters, digits, spaces and .:,/-_");
      const timeoutMs = durationMs(str(flags, "timeout"), "--timeout");
      const ctx = await openStack(flags, deps);
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
      if (!flags.wait) return 0;
      const result = await waitForJob(ctx.kube.batch, job, timeoutMs, ctx.kube.pollMs);
      if (!result.succeeded)
        throw new OperationError(
          `job ${job.name} did not succeed: ${result.message ?? "unknown"}`,
          `See kubectl -n ${job.namespace} logs job/${job.name}; the scheduled backups continue as before.`,
        );
      log.info(`job ${job.name} succeeded`, { seconds: Math.round(result.durationMs / 1000) });
      return 0;
    },
  };
}

/** `stack list` / `stack status`: the store command of the same name on the stack's bucket and prefix. */
function storeCommand(word: "list" | "status"): Command {
  const inner = backupStoreCommands.find((c) => c.words.length === 1 && c.words[0] === word)!;
  const { bucket: _b, prefix: _p, ...innerFlags } = inner.flags;
  return {
    words: ["stack", word],
    summary:
      word === "list"
        ? "list a stack's committed backups (its bucket and prefix from the stack's outputs)"
        : "exit 1 when a stack's newest backup is older than --max-age",
    flags: { ...STACK_FLAGS, ...innerFlags },
    async run(flags) {
      const ctx = await openStack(flags, deps);
      process.env.AWS_REGION ||= ctx.outputs.backup.region;
      return inner.run({ ...flags, bucket: ctx.outputs.backup.bucket, prefix: ctx.outputs.backup.prefix });
    },
  };
}

const inspectCommand: Command = {
  words: ["redis", "inspect"],
  summary: "report a Redis set's sentinels, roles, DBSIZE and pattern counts as one JSON line (restore Jobs)",
  flags: {
    sentinel: { type: "string", required: true, help: "every sentinel as HOST:PORT, comma-separated" },
    "master-name": {
      type: "string",
      required: true,
      help: "the name the sentinels monitor the primary under",
    },
    nodes: {
      type: "string",
      required: true,
      help: "every data pod as HOST:PORT, comma-separated, in ordinal order",
    },
    pattern: { type: "string", multiple: true, help: "a key pattern to count on the primary; repeatable" },
    "expect-primary": { type: "string", help: "the node that must lead the set (HOST:PORT)" },
    wait: {
      type: "string",
      default: "0s",
      help: "wait this long for a whole set (led by --expect-primary); exit 1 if it is not; default 0s (report at once)",
    },
  },
  async run(flags) {
    const waitMs = durationMs(str(flags, "wait"), "--wait");
    const expect = optStr(flags, "expect-primary");
    const report = await inspectRedis({
      sentinels: parseAddresses(str(flags, "sentinel"), "--sentinel"),
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
  },
};

/** The stack commands. */
export const stackCommands: Command[] = [
  restoreCommand("redis"),
  restoreCommand("lancedb"),
  backupCommand("redis"),
  backupCommand("lancedb"),
  storeCommand("list"),
  storeCommand("status"),
  inspectCommand,
];
