// What a job tells Prometheus about itself: the outcome of a backup or a drill, pushed to a Pushgateway
// in the text exposition format, grouped by job, stack, store and database. A POST replaces only the
// metrics it carries, so a failure leaves the time of the last success in place for the alerts.
import { JOB_METRICS } from "../../components/monitoring/metrics";
import type { StoreKind } from "../store/catalog";

/** The outcome of one backup or drill. */
export interface JobOutcome {
  kind: "backup" | "drill";
  stack: string;
  store: StoreKind;
  /** Which database of the store: the Redis master name, the LanceDB database folder. */
  database: string;
  ok: boolean;
  /** When the job finished. */
  at: Date;
  /** Backups only, when they succeed. */
  durationSeconds?: number;
  sizeBytes?: number;
  /** Keys (Redis) or rows (LanceDB) the backup holds. */
  items?: number;
}

/** The metrics of an outcome, as `name -> value`. */
export function outcomeMetrics(o: JobOutcome): Record<string, number> {
  const seconds = o.at.getTime() / 1000;
  if (o.kind === "drill")
    return { [o.ok ? JOB_METRICS.drillLastSuccess : JOB_METRICS.drillLastFailure]: seconds };
  if (!o.ok) return { [JOB_METRICS.backupLastFailure]: seconds };
  const metrics: Record<string, number> = { [JOB_METRICS.backupLastSuccess]: seconds };
  if (o.durationSeconds !== undefined) metrics[JOB_METRICS.backupDuration] = o.durationSeconds;
  if (o.sizeBytes !== undefined) metrics[JOB_METRICS.backupSize] = o.sizeBytes;
  if (o.items !== undefined) metrics[JOB_METRICS.backupKeys] = o.items;
  return metrics;
}

/** The text exposition format of an outcome's metrics (gauges; the grouping key carries the labels). */
export function exposition(o: JobOutcome): string {
  return (
    Object.entries(outcomeMetrics(o))
      .map(([name, value]) => `# TYPE ${name} gauge\n${name} ${value}`)
      .join("\n") + "\n"
  );
}

/** A grouping-key segment; values with a slash (or empty) go base64url-encoded, as the Pushgateway allows. */
function segment(label: string, value: string): string {
  if (value !== "" && !value.includes("/")) return `/${label}/${encodeURIComponent(value)}`;
  return `/${label}@base64/${Buffer.from(value).toString("base64url") || "="}`;
}

/** The Pushgateway URL of an outcome's group. */
export function groupUrl(pushgateway: string, o: JobOutcome): string {
  return (
    pushgateway.replace(/\/+$/, "") +
    "/metrics/job/holdfast" +
    segment("stack", o.stack) +
    segment("store", o.store) +
    segment("database", o.database)
  );
}

/**
 * Pushes an outcome. Never throws: a Pushgateway that is down must not turn a good backup into a failed
 * job; the error is returned for the log.
 */
export async function pushOutcome(
  pushgateway: string,
  o: JobOutcome,
  timeoutMs = 10000,
): Promise<string | undefined> {
  try {
    const response = await fetch(groupUrl(pushgateway, o), {
      method: "POST",
      headers: { "Content-Type": "text/plain; version=0.0.4" },
      body: exposition(o),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return `the Pushgateway answered ${response.status} ${await response.text()}`.trim();
    return undefined;
  } catch (err) {
    return `cannot push to ${pushgateway}: ${(err as Error).message}`;
  }
}
