// Runs a plan: every action not marked skip, in order (consecutive actions of one group at once, the
// group ending when all of them have), each timed, with the progress record on the StatefulSet updated
// after each one that changed the cluster.
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
import { type InspectReport, reportFromLog } from "./inspect-report";
import { compareCounts, type CountCheck, type ExpectedCounts } from "./verify";

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

/** Where the command's time went before the run: everything before step 2. */
export interface Preparation {
  /** From node's start to the command running: the CLI's and the command's modules. */
  startMs: number;
  /** The stack's outputs, the cluster's client (its library loaded), the bucket checked. */
  openMs: number;
  /** The preflight and the plan: the backup chosen and checked, the cluster's objects read. */
  planMs: number;
}

/** What a run did and found. */
export interface RunOutcome {
  /** The command's start, opening the stack and planning, before this run began. */
  preparation?: Preparation;
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
  /** A point: the key counts pod 0's restore Job replayed. */
  restored?: ExpectedCounts;
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
  /** How long the command took to start and plan (reported with the run). */
  preparation?: Preparation;
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

/**
 * What a volume Job's command says of its own time (the `timings` of its result or log line, in ms):
 * `own work 2.1s (download 1.2s, verify 0.8s, place 0.0s)`. The rest of the action's time is
 * Kubernetes': the Job's pod scheduled and started, the CLI loaded, the Job's end seen.
 */
export function timingsFromLog(jobLog: string): string | undefined {
  for (const line of jobLog.split("\n").reverse()) {
    const m = /"timings":(\{[^{}]*\})/.exec(line);
    if (!m) continue;
    try {
      const t = JSON.parse(m[1]) as Record<string, number>;
      const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
      const parts = Object.entries(t)
        .filter(([k, v]) => k.endsWith("Ms") && k !== "totalMs" && typeof v === "number")
        .map(([k, v]) => `${k.slice(0, -2)} ${s(v)}`);
      return `own work ${typeof t.totalMs === "number" ? s(t.totalMs) : "?"}${parts.length ? ` (${parts.join(", ")})` : ""}`;
    } catch {
      // not the result line
    }
  }
  return undefined;
}

/**
 * The key counts a restore Job of a point reports in its --json result (`databases`: keys and keys
 * with a TTL per database), as the verification compares them.
 */
export function countsFromLog(jobLog: string): ExpectedCounts | undefined {
  for (const line of jobLog.split("\n").reverse()) {
    if (!line.startsWith("{") || !line.includes('"databases"')) continue;
    try {
      const v = JSON.parse(line) as { databases?: Record<string, { keys: number; expires: number }> };
      if (!v.databases) continue;
      const dbs = Object.entries(v.databases);
      return {
        databases: Object.fromEntries(dbs.map(([db, d]) => [db, d.keys])),
        patterns: {},
        expiring: Object.fromEntries(dbs.map(([db, d]) => [db, d.expires])),
      };
    } catch {
      // not the result line
    }
  }
  return undefined;
}

/** What a run of a plan carries from action to action. */
interface RunState {
  o: ExecuteOptions;
  now: () => Date;
  started: number;
  outcome: RunOutcome;
  /** The StatefulSets the plan scales to zero: no pod of theirs may run while a volume Job does. */
  downSets: Set<string>;
  /** Whether `downSets` were checked since the last scale-down. */
  checkedDown: boolean;
  /** Writes the restore record on a StatefulSet (saves run one after another). */
  save(statefulSet: string): Promise<void>;
  /** The StatefulSet that holds the restore record. */
  recordHolder: string;
}

type Handler<K extends PlanAction["kind"]> = (
  r: RunState,
  a: Extract<PlanAction, { kind: K }>,
) => Promise<string | undefined>;

function jobFailed(name: string, message: string | undefined, jobLog: string): string {
  const why = failureLines(jobLog);
  return `Job ${name} failed: ${message ?? "unknown"}${why ? ` — ${why}` : ""}`;
}

const inspect: Handler<"inspect"> = async ({ o, outcome }, a) => {
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
};

const safetyBackup: Handler<"safety-backup"> = async ({ o, outcome, now }, a) => {
  const before = new Set((await o.listBackups()).map((b) => b.id));
  const job = await triggerCronJob(o.kube.batch, o.kube.namespace, a.cronJob, a.reason, now());
  log.info(`safety backup: job ${job.name} started`);
  const r = await waitForJob(o.kube.batch, job, o.backupTimeoutMs, o.kube.pollMs);
  if (!r.succeeded) throw new Error(jobFailed(job.name, r.message, await o.kube.jobLog(job.name)));
  const fresh = (await o.listBackups())
    .filter((b) => !before.has(b.id) && b.reason === a.reason)
    .sort((x, y) => compareBackupIds(y.id, x.id))[0];
  if (!fresh) throw new Error(`Job ${job.name} succeeded but no new ${a.reason} backup is in the bucket`);
  outcome.safetyBackup = fresh.id;
  return `backup ${fresh.id}: ${fresh.items} ${o.store === "redis" ? "keys" : "rows"}`;
};

const record: Handler<"record"> = async (r, a) => {
  const { outcome } = r;
  const prior = outcome.record;
  outcome.record =
    prior && prior.backup === a.backup
      ? prior
      : prior
        ? { ...prior, backup: a.backup, done: [] }
        : {
            version: 1,
            store: r.o.store,
            backup: a.backup,
            startedAt: r.now().toISOString(),
            safetyBackup: outcome.safetyBackup,
            replicas: a.replicas,
            done: [],
          };
  await r.save(a.statefulSet);
  return prior ? `continuing the restore started ${prior.startedAt}` : undefined;
};

const scale: Handler<"scale"> = async (r, a) => {
  if (a.replicas === 0) r.checkedDown = false;
  await r.o.kube.scale(a.statefulSet, a.replicas);
  const pods = await r.o.kube.waitForPods(a.statefulSet, a.replicas, r.o.readyTimeoutMs, a.ready);
  return a.replicas === 0
    ? "no pod runs"
    : `${pods.filter((p) => p.ready).length} of ${pods.length} pods ready`;
};

const createClaim: Handler<"create-claim"> = async ({ o }, a) => {
  try {
    await o.kube.createClaim(a.claim);
  } catch (err) {
    if (!(err instanceof KubeError && err.status === 409)) throw err;
  }
  return undefined;
};

/** Never touch a volume a running pod may write: whatever happened since the plan was made. */
async function checkDown(r: RunState): Promise<void> {
  if (r.checkedDown) return;
  for (const sts of r.downSets) {
    const found = await r.o.kube.readStatefulSet(sts);
    const pods = found ? await r.o.kube.pods(found.spec?.selector?.matchLabels ?? {}) : [];
    if (pods.length > 0)
      throw new Error(
        `pods of statefulset ${sts} run again (${pods.map((p) => p.name).join(", ")}); no volume was touched by this step`,
      );
  }
  r.checkedDown = true;
}

const volumeJob: Handler<"job"> = async (r, a) => {
  await checkDown(r);
  const j = await r.o.kube.runJob(a.job, r.o.jobTimeoutMs);
  if (!j.succeeded) throw new Error(jobFailed(j.name, j.message, j.log));
  const aside = asideFromLog(j.log);
  if (aside) r.outcome.keptAside.push({ claim: a.claim, dir: aside });
  if (a.reportsCounts) {
    const restored = countsFromLog(j.log);
    if (!restored) throw new Error(`Job ${j.name} succeeded but did not report the keys it restored`);
    r.outcome.restored = restored;
    if (r.outcome.record) r.outcome.record = { ...r.outcome.record, restored };
  }
  const own = timingsFromLog(j.log);
  return (
    (aside ? `previous content in ${aside}` : "the volume held nothing to keep") + (own ? `; ${own}` : "")
  );
};

const verify: Handler<"verify"> = async ({ o, outcome }, a) => {
  const r = await o.kube.runJob(a.job, o.jobTimeoutMs);
  const report = reportFromLog(r.log);
  if (!report) throw new Error(jobFailed(r.name, r.message, r.log));
  outcome.after = report;
  if (!report.healthy || report.primaryIndex !== a.primaryIndex)
    throw new Error(
      `the set did not come back whole: ${report.problems.join("; ") || "pod 0 is not primary"}`,
    );
  const expected = a.expected ?? outcome.restored ?? outcome.record?.restored;
  if (!expected)
    throw new Error(
      "the key counts of the restored point are not known (the restore Job's report is lost); the set is whole: compare it by hand",
    );
  outcome.checks = compareCounts(expected, report.keyspace ?? {}, report.patterns ?? {});
  const failed = outcome.checks.filter((c) => !c.ok);
  if (failed.length > 0)
    throw new Error(
      `the restored data does not match the backup: ${failed.map((c) => `${c.name} ${c.detail}`).join("; ")}`,
    );
  const counts = outcome.checks.map((c) => `${c.name} ${c.actual}`).join(", ");
  return report.notes?.length ? `${counts}; ${report.notes.join("; ")}` : counts;
};

const finish: Handler<"finish"> = async ({ o, outcome, now, started }, a) => {
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
};

/** One handler per kind of action. */
const HANDLERS: { [K in PlanAction["kind"]]: Handler<K> } = {
  inspect,
  "safety-backup": safetyBackup,
  record,
  scale,
  "create-claim": createClaim,
  job: volumeJob,
  verify,
  finish,
};

function handle(r: RunState, a: PlanAction): Promise<string | undefined> {
  return (HANDLERS[a.kind] as Handler<typeof a.kind>)(r, a as never);
}

/** Marks `a` done in the restore record (the actions a re-run may skip). */
async function progress(r: RunState, a: PlanAction): Promise<void> {
  if (!r.outcome.record || a.kind === "record" || a.kind === "finish" || a.kind === "inspect") return;
  r.outcome.record = withDone(r.outcome.record, a.key);
  await r.save(r.recordHolder);
}

/** Runs one action (or reports it skipped), recording its outcome. */
async function runAction(r: RunState, step: PlanStep, a: PlanAction): Promise<void> {
  const { outcome } = r;
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
    detail = await handle(r, a);
    await progress(r, a);
  } catch (err) {
    outcome.totalMs = Date.now() - r.started;
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
}

/** Runs the actions of a step in order; consecutive actions of one group run together. */
async function runStep(r: RunState, step: PlanStep): Promise<void> {
  const stepStarted = Date.now();
  let i = 0;
  while (i < step.actions.length) {
    const first = step.actions[i];
    const batch = [first];
    while (first.group && step.actions[i + batch.length]?.group === first.group)
      batch.push(step.actions[i + batch.length]);
    i += batch.length;
    // Every action of a group ends (and records its progress) before a failure stops the run: nothing
    // is left running behind the report of where the run stopped.
    const settled = await Promise.allSettled(batch.map((a) => runAction(r, step, a)));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) {
      r.outcome.totalMs = Date.now() - r.started;
      throw failed.reason;
    }
  }
  if (step.actions.some((a) => !a.skip))
    r.outcome.steps.push({ n: step.n, title: step.title, ms: Date.now() - stepStarted });
}

/** Runs `plan`. */
export async function executePlan(o: ExecuteOptions): Promise<RunOutcome> {
  const actions = o.plan.steps.flatMap((s) => s.actions);
  const outcome: RunOutcome = {
    preparation: o.preparation,
    actions: [],
    steps: [],
    checks: [],
    keptAside: [],
    record: o.record,
    safetyBackup: o.record?.safetyBackup,
    totalMs: 0,
  };
  // Saves run one after another, each with the record as it is then: the last one holds every change.
  let saving: Promise<void> = Promise.resolve();
  const r: RunState = {
    o,
    now: o.now ?? (() => new Date()),
    started: Date.now(),
    outcome,
    downSets: new Set(
      actions.flatMap((a) => (a.kind === "scale" && a.replicas === 0 ? [a.statefulSet] : [])),
    ),
    checkedDown: false,
    save(statefulSet) {
      saving = saving.then(async () => {
        if (outcome.record)
          await o.kube.annotate(statefulSet, { [RESTORE_ANNOTATION]: serializeRecord(outcome.record) });
      });
      return saving;
    },
    recordHolder: actions.find((a) => a.kind === "record")?.statefulSet ?? "",
  };
  for (const step of o.plan.steps) await runStep(r, step);
  outcome.totalMs = Date.now() - r.started;
  return outcome;
}
