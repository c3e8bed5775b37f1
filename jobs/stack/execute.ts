// Runs a plan: every action not marked skip, in order (consecutive actions of one group at once), each
// timed, with the progress record on the StatefulSet updated after each one that changed the cluster.
// The first failure stops the run and is reported with the action it stopped at, so the command can say
// what state the stack is in and how to go on.
import { compareBackupIds } from "../store/backup-id";
import type { BackupSummary } from "../store/catalog";
import { log } from "../cli/log";
import { triggerCronJob, waitForJob } from "../schedule/trigger";
import { KubeError, type StackKube } from "./kube";
import type { Plan, PlanAction, PlanStep } from "./plan";
import {
  LAST_RESTORE_ANNOTATION,
  RESTORE_ANNOTATION,
  type RestoreRecord,
  serializeRecord,
  withDone,
} from "./record";
import { type InspectReport, reportFromLog } from "./redis-inspect";
import { compareCounts, type CountCheck } from "./verify";

/** How one action went. */
export interface ActionOutcome {
  step: number;
  key: string;
  does: string;
  status: "done" | "skipped";
  /** Why it was skipped, or what it found. */
  detail?: string;
  /** The Job it ran. */
  job?: string;
  ms: number;
}

/** What a run did and found. */
export interface RunOutcome {
  actions: ActionOutcome[];
  /** Wall-clock time of each step that ran (its actions may overlap). */
  steps: { n: number; title: string; ms: number }[];
  /** The safety backup taken (or taken by the interrupted run this one continued). */
  safetyBackup?: string;
  /** The set before the restore (Redis). */
  before?: InspectReport;
  /** The set after it (Redis). */
  after?: InspectReport;
  checks: CountCheck[];
  /** Where each volume's previous content went. */
  keptAside: { claim: string; dir: string }[];
  record?: RestoreRecord;
  totalMs: number;
}

/** A run stopped at `action`. */
export class RunFailed extends Error {
  constructor(
    message: string,
    readonly step: PlanStep,
    readonly action: PlanAction,
    readonly outcome: RunOutcome,
  ) {
    super(message);
    this.name = "RunFailed";
  }
}

/** What the executor needs. */
export interface ExecuteOptions {
  kube: StackKube;
  plan: Plan;
  store: "redis" | "lancedb";
  /** The progress record found by the preflight. */
  record?: RestoreRecord;
  /** The store's committed backups (to find the safety backup a Job took). */
  listBackups: () => Promise<BackupSummary[]>;
  jobTimeoutMs: number;
  readyTimeoutMs: number;
  backupTimeoutMs: number;
  now?: () => Date;
}

/** The last lines a failed Job's command wrote about its failure (`holdfast: ...`). */
export function failureLines(jobLog: string): string {
  const lines = jobLog
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("holdfast: "));
  if (lines.length > 0) return lines.slice(-2).join(" ");
  const errors = jobLog
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => {
      try {
        return JSON.parse(l) as { level?: string; msg?: string };
      } catch {
        return {};
      }
    })
    .filter((l) => l.level === "error" || l.level === "warn");
  return errors.length > 0 ? String(errors[errors.length - 1].msg) : "";
}

/** The folder a volume Job reports it moved the previous content to (its --json line). */
export function asideFromLog(jobLog: string): string | undefined {
  for (const line of jobLog.split("\n").reverse()) {
    if (!line.startsWith("{") || !/"aside(Dir)?"/.test(line)) continue;
    try {
      const v = JSON.parse(line) as { asideDir?: string | null; aside?: string | null };
      // `asideDir` in a command's --json result; `aside` in the LanceDB restore's log line.
      if ("asideDir" in v) return v.asideDir ?? undefined;
      if ("aside" in v) return v.aside ?? undefined;
    } catch {
      // not the result line
    }
  }
  return undefined;
}

/** Runs `plan`. */
export async function executePlan(o: ExecuteOptions): Promise<RunOutcome> {
  const started = Date.now();
  const now = o.now ?? (() => new Date());
  const outcome: RunOutcome = {
    actions: [],
    steps: [],
    checks: [],
    keptAside: [],
    record: o.record,
    safetyBackup: o.record?.safetyBackup,
    totalMs: 0,
  };
  const downSets = new Set(
    o.plan.steps
      .flatMap((s) => s.actions)
      .filter((a) => a.kind === "scale" && a.replicas === 0)
      .map((a) => (a as { statefulSet: string }).statefulSet),
  );
  let checkedDown = false;

  // Saves run one after another, each with the record as it is then: the last one holds every change.
  let saving: Promise<void> = Promise.resolve();
  const save = (statefulSet: string): Promise<void> => {
    saving = saving.then(async () => {
      if (outcome.record)
        await o.kube.annotate(statefulSet, { [RESTORE_ANNOTATION]: serializeRecord(outcome.record) });
    });
    return saving;
  };
  const progress = async (a: PlanAction) => {
    if (!outcome.record || a.kind === "record" || a.kind === "finish" || a.kind === "inspect") return;
    outcome.record = withDone(outcome.record, a.key);
    await save(recordHolder);
  };
  const recordHolder =
    (o.plan.steps.flatMap((s) => s.actions).find((a) => a.kind === "record") as { statefulSet?: string })
      ?.statefulSet ?? "";

  const jobFailed = (name: string, message: string | undefined, jobLog: string): string => {
    const why = failureLines(jobLog);
    return `Job ${name} failed: ${message ?? "unknown"}${why ? ` — ${why}` : ""}`;
  };

  async function run(a: PlanAction): Promise<string | undefined> {
    switch (a.kind) {
      case "inspect": {
        const r = await o.kube.runJob(a.job, o.jobTimeoutMs);
        if (!r.succeeded) throw new Error(jobFailed(r.name, r.message, r.log));
        const report = reportFromLog(r.log);
        if (!report) throw new Error(`Job ${r.name} left no report in its log`);
        outcome.before = report;
        const keys = Object.entries(report.keyspace ?? {})
          .map(([db, n]) => `db${db}=${n}`)
          .join(" ");
        return report.primary
          ? `primary ${report.primary} (pod ${report.primaryIndex ?? "?"}), DBSIZE ${keys || "0"}`
          : `no primary: ${report.problems.join("; ")}`;
      }
      case "safety-backup": {
        const before = new Set((await o.listBackups()).map((b) => b.id));
        const job = await triggerCronJob(o.kube.batch, o.kube.namespace, a.cronJob, a.reason, now());
        log.info(`safety backup: job ${job.name} started`);
        const r = await waitForJob(o.kube.batch, job, o.backupTimeoutMs, o.kube.pollMs);
        if (!r.succeeded) throw new Error(jobFailed(job.name, r.message, await o.kube.jobLog(job.name)));
        const fresh = (await o.listBackups())
          .filter((b) => !before.has(b.id) && b.reason === a.reason)
          .sort((x, y) => compareBackupIds(y.id, x.id))[0];
        if (!fresh)
          throw new Error(`Job ${job.name} succeeded but no new ${a.reason} backup is in the bucket`);
        outcome.safetyBackup = fresh.id;
        return `backup ${fresh.id}: ${fresh.items} ${o.store === "redis" ? "keys" : "rows"}`;
      }
      case "record": {
        const prior = outcome.record;
        outcome.record =
          prior && prior.backup === a.backup
            ? prior
            : prior
              ? { ...prior, backup: a.backup, done: [] }
              : {
                  version: 1,
                  store: o.store,
                  backup: a.backup,
                  startedAt: now().toISOString(),
                  safetyBackup: outcome.safetyBackup,
                  replicas: a.replicas,
                  done: [],
                };
        await save(a.statefulSet);
        return prior ? `continuing the restore started ${prior.startedAt}` : undefined;
      }
      case "scale": {
        if (a.replicas === 0) checkedDown = false;
        await o.kube.scale(a.statefulSet, a.replicas);
        const pods = await o.kube.waitForPods(a.statefulSet, a.replicas, o.readyTimeoutMs, a.ready);
        return a.replicas === 0
          ? "no pod runs"
          : `${pods.filter((p) => p.ready).length} of ${pods.length} pods ready`;
      }
      case "create-claim": {
        try {
          await o.kube.createClaim(a.claim);
        } catch (err) {
          if (!(err instanceof KubeError && err.status === 409)) throw err;
        }
        return undefined;
      }
      case "job": {
        if (!checkedDown) {
          // Never touch a volume a running pod may write: whatever happened since the plan was made.
          for (const sts of downSets) {
            const found = await o.kube.readStatefulSet(sts);
            const pods = found ? await o.kube.pods(found.spec?.selector?.matchLabels ?? {}) : [];
            if (pods.length > 0)
              throw new Error(
                `pods of statefulset ${sts} run again (${pods.map((p) => p.name).join(", ")}); no volume was touched by this step`,
              );
          }
          checkedDown = true;
        }
        const r = await o.kube.runJob(a.job, o.jobTimeoutMs);
        if (!r.succeeded) throw new Error(jobFailed(r.name, r.message, r.log));
        const aside = asideFromLog(r.log);
        if (aside) outcome.keptAside.push({ claim: a.claim, dir: aside });
        return aside ? `previous content in ${aside}` : "the volume held nothing to keep";
      }
      case "verify": {
        const r = await o.kube.runJob(a.job, o.jobTimeoutMs);
        const report = reportFromLog(r.log);
        if (!report) throw new Error(jobFailed(r.name, r.message, r.log));
        outcome.after = report;
        if (!report.healthy || report.primaryIndex !== a.primaryIndex)
          throw new Error(
            `the set did not come back whole: ${report.problems.join("; ") || "pod 0 is not primary"}`,
          );
        outcome.checks = compareCounts(a.expected, report.keyspace ?? {}, report.patterns ?? {});
        const failed = outcome.checks.filter((c) => !c.ok);
        if (failed.length > 0)
          throw new Error(
            `the restored data does not match the backup: ${failed.map((c) => `${c.name} ${c.detail}`).join("; ")}`,
          );
        return outcome.checks.map((c) => `${c.name} ${c.actual}`).join(", ");
      }
      case "finish": {
        const last = {
          backup: a.backup,
          safetyBackup: outcome.safetyBackup ?? null,
          startedAt: outcome.record?.startedAt ?? new Date(started).toISOString(),
          finishedAt: now().toISOString(),
        };
        await o.kube.annotate(a.statefulSet, {
          [RESTORE_ANNOTATION]: null,
          [LAST_RESTORE_ANNOTATION]: JSON.stringify(last),
        });
        return undefined;
      }
    }
  }

  const steps = o.plan.steps;
  for (const step of steps) {
    const stepStarted = Date.now();
    let i = 0;
    while (i < step.actions.length) {
      const first = step.actions[i];
      const batch = [first];
      while (first.group && step.actions[i + batch.length]?.group === first.group)
        batch.push(step.actions[i + batch.length]);
      i += batch.length;
      await Promise.all(
        batch.map(async (a) => {
          if (a.skip) {
            outcome.actions.push({
              step: step.n,
              key: a.key,
              does: a.does,
              status: "skipped",
              detail: a.skip,
              ms: 0,
            });
            return;
          }
          log.info(`step ${step.n} ${step.title}: ${a.does}`);
          const t0 = Date.now();
          let detail: string | undefined;
          try {
            detail = await run(a);
            await progress(a);
          } catch (err) {
            outcome.totalMs = Date.now() - started;
            throw new RunFailed((err as Error).message, step, a, outcome);
          }
          const ms = Date.now() - t0;
          outcome.actions.push({
            step: step.n,
            key: a.key,
            does: a.does,
            status: "done",
            detail,
            job: "job" in a ? a.job.metadata?.name : undefined,
            ms,
          });
          log.info(`step ${step.n} ${step.title}: done`, {
            seconds: Math.round(ms / 100) / 10,
            ...(detail ? { detail } : {}),
          });
        }),
      );
    }
    if (step.actions.some((a) => !a.skip))
      outcome.steps.push({ n: step.n, title: step.title, ms: Date.now() - stepStarted });
  }
  outcome.totalMs = Date.now() - started;
  return outcome;
}
