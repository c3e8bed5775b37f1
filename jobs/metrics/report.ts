// The jobs' side of the Pushgateway: the target the `--pushgateway` and `--stack` flags (flags.ts) name,
// and running a backup so that its outcome is pushed
// whether it succeeds or fails. A push that fails is a warning in the log, never a failed job.
import type { Flags } from "../cli/args";
import { optStr } from "../cli/args";
import { UsageError } from "../cli/errors";
import { log } from "../cli/log";
import type { StoreKind } from "../store/catalog";
import { type JobOutcome, pushOutcome } from "./pushgateway";

/** Where to push, and the stack label. */
export interface PushTarget {
  url: string;
  stack: string;
}

/** The Pushgateway the flags name, checked; undefined when none is configured. */
export function pushTarget(flags: Flags): PushTarget | undefined {
  const url = optStr(flags, "pushgateway");
  if (!url) return undefined;
  if (!/^https?:\/\/[^/\s]+/.test(url))
    throw new UsageError(
      `--pushgateway must be an http(s) URL such as http://pushgateway:9091, got "${url}"`,
    );
  const stack = optStr(flags, "stack");
  if (!stack)
    throw new UsageError(
      "missing --stack (or HOLDFAST_STACK): the metrics pushed to --pushgateway are labelled by stack",
    );
  return { url, stack };
}

/** Pushes an outcome when a Pushgateway is configured; a push that fails is logged as a warning. */
export async function reportOutcome(
  target: PushTarget | undefined,
  outcome: Omit<JobOutcome, "stack">,
): Promise<void> {
  if (!target) return;
  const labels = { stack: target.stack, store: outcome.store, database: outcome.database };
  const error = await pushOutcome(target.url, { ...outcome, stack: target.stack });
  if (error)
    log.warn("the outcome was not pushed to the Pushgateway; the job's result stands", { error, ...labels });
  else log.info("outcome pushed to the Pushgateway", { kind: outcome.kind, ok: outcome.ok, ...labels });
}

/** What a successful backup reports besides its time. */
export interface BackupMeasures {
  sizeBytes: number;
  /** What it sent to the bucket. */
  uploadedBytes: number;
  /** Keys (Redis) or rows (LanceDB). */
  items: number;
  /** LanceDB: the version of each table in the snapshot. */
  tableVersions?: Record<string, number>;
}

/**
 * Runs a backup and pushes its outcome: on success its time, duration, size, bytes sent, keys or rows
 * (and LanceDB's table versions); on any failure (the error is thrown on unchanged) the time of the
 * failure.
 */
export async function withBackupOutcome<T>(
  target: PushTarget | undefined,
  labels: { store: StoreKind; database: string },
  run: () => Promise<T>,
  measure: (result: T) => BackupMeasures,
): Promise<T> {
  const started = Date.now();
  let result: T;
  try {
    result = await run();
  } catch (err) {
    await reportOutcome(target, { kind: "backup", ...labels, ok: false, at: new Date() });
    throw err;
  }
  const at = new Date();
  await reportOutcome(target, {
    kind: "backup",
    ...labels,
    ok: true,
    at,
    durationSeconds: (at.getTime() - started) / 1000,
    ...measure(result),
  });
  return result;
}
