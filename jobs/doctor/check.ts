// What a doctor check is and how its results read: one line per check, `ok`, `FAIL`, `warn` (worth a
// look, not a failure) or `skip` (not checked, and why), in a log or as JSON. Each check group is a
// module of its own that turns what it reads into results; commands.ts runs them in order.
import type { StackContext } from "../stack/context";
import type { StoreLocation } from "../store/catalog";
import type { ClusterApi } from "./cluster-api";

export type CheckStatus = "ok" | "fail" | "warn" | "skip";

/** The outcome of one check. */
export interface CheckResult {
  /** The group: cluster, access, monitoring, storage, identity, bucket, backups, image, drill. */
  group: string;
  /** What was checked, short and stable (for --json consumers): `reachable`, `crd prometheusrules...`. */
  check: string;
  status: CheckStatus;
  /** One line: what was found, and for a failure what to do. */
  detail: string;
}

/** What every check group reads from. */
export interface DoctorContext {
  stack: StackContext;
  /** The stack's cluster, through the operator's kubeconfig context. */
  api: ClusterApi;
  /** The stack's backup location (opened once, lazily). */
  backups: () => Promise<StoreLocation>;
  /** The cluster answered; groups that need it skip when it did not. */
  clusterReachable: boolean;
  /** Bound on each call a check makes. */
  timeoutMs: number;
  /** The newest backup must be younger than this. */
  maxBackupAgeMs: number;
  /** The last drill must be younger than this. */
  maxDrillAgeMs: number;
  now: Date;
}

/** A check group: reads what it needs and returns one result per check. */
export type CheckGroup = (ctx: DoctorContext) => Promise<CheckResult[]>;

/** The results of one group: a maker per status, and the skip of a check when the cluster did not answer. */
export interface GroupResults extends Record<CheckStatus, (check: string, detail: string) => CheckResult> {
  /** `skip`, "not checked: the cluster did not answer": for a check that needs the cluster. */
  unreachable: (check: string) => CheckResult;
}

/** Builds results of one group. */
export function resultsOf(group: string): GroupResults {
  const make = (status: CheckStatus) => (check: string, detail: string) => ({ group, check, status, detail });
  return {
    ok: make("ok"),
    fail: make("fail"),
    warn: make("warn"),
    skip: make("skip"),
    unreachable: (check) => make("skip")(check, "not checked: the cluster did not answer"),
  };
}

/**
 * Checks each item in turn, one result each: one question at a time to the cluster or the bucket, and
 * the results in the items' order.
 */
export async function eachChecked<T>(
  items: readonly T[],
  check: (item: T) => Promise<CheckResult>,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const item of items) results.push(await check(item));
  return results;
}

/** The failures when there are any, else the one line that says every item passed. */
export function failuresOr(failures: CheckResult[], allPassed: () => CheckResult): CheckResult[] {
  return failures.length > 0 ? failures : [allPassed()];
}

/** A group that threw: one failed result naming what went wrong, so the others still run. */
export function groupFailed(group: string, err: unknown): CheckResult {
  return resultsOf(group).fail("error", `could not check: ${String((err as Error)?.message ?? err)}`);
}

const WORD: Record<CheckStatus, string> = { ok: "ok  ", fail: "FAIL", warn: "warn", skip: "skip" };

/** One line per result: `ok   bucket      versioning: Enabled`. */
export function formatResults(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.group.length));
  return results
    .map((r) => `${WORD[r.status]} ${r.group.padEnd(width)}  ${r.check}: ${r.detail}`.replace(/\s+$/, ""))
    .join("\n");
}

/** The closing line: counts by status. */
export function summaryLine(stack: string, results: CheckResult[]): string {
  const n = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const failed = n("fail");
  return (
    `doctor: stack ${stack}: ${failed === 0 ? "ready" : `${failed} check${failed === 1 ? "" : "s"} FAILED`}` +
    ` (${n("ok")} ok, ${n("warn")} warn, ${n("skip")} not checked)`
  );
}
