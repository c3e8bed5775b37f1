// What a job tells Prometheus about itself: the outcome of a backup or a drill, pushed to a Pushgateway
// in the text exposition format, grouped by job, stack, store and database. A POST replaces only the
// metrics it carries, so a failure leaves the time of the last success in place for the alerts.
import { JOB_METRIC_HELP, JOB_METRICS, type JobMetric } from "../../core/metrics";
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
  /** What the backup sent to the bucket (LanceDB sends only the files the store lacks). */
  uploadedBytes?: number;
  /** Keys (Redis) or rows (LanceDB) the backup holds. */
  items?: number;
  /** LanceDB: the version of each table the snapshot holds, by table name. */
  tableVersions?: Record<string, number>;
}

/** One sample of an outcome: a metric, its labels besides the grouping key's, its value. */
export interface OutcomeSample {
  name: JobMetric;
  labels?: Record<string, string>;
  value: number;
}

/** The samples of an outcome. */
export function outcomeSamples(o: JobOutcome): OutcomeSample[] {
  const seconds = o.at.getTime() / 1000;
  if (o.kind === "drill")
    return [{ name: o.ok ? JOB_METRICS.drillLastSuccess : JOB_METRICS.drillLastFailure, value: seconds }];
  if (!o.ok) return [{ name: JOB_METRICS.backupLastFailure, value: seconds }];
  const optional: [JobMetric, number | undefined][] = [
    [JOB_METRICS.backupDuration, o.durationSeconds],
    [JOB_METRICS.backupSize, o.sizeBytes],
    [JOB_METRICS.backupUploaded, o.uploadedBytes],
    [JOB_METRICS.backupKeys, o.items],
  ];
  return [
    { name: JOB_METRICS.backupLastSuccess, value: seconds },
    ...optional.filter(([, v]) => v !== undefined).map(([name, value]) => ({ name, value: value! })),
    ...Object.entries(o.tableVersions ?? {}).map(([table, version]) => ({
      name: JOB_METRICS.lancedbTableVersion,
      labels: { table },
      value: version,
    })),
  ];
}

/** A label value as the text format writes it: backslash, double quote and newline escaped. */
function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * The text exposition format of an outcome's samples: gauges, one HELP and TYPE line per metric before
 * its samples; the grouping key carries the stack, store and database labels.
 */
export function exposition(o: JobOutcome): string {
  const lines: string[] = [];
  const typed = new Set<string>();
  for (const s of outcomeSamples(o)) {
    if (!typed.has(s.name))
      lines.push(`# HELP ${s.name} ${JOB_METRIC_HELP[s.name]}`, `# TYPE ${s.name} gauge`);
    typed.add(s.name);
    const labels = Object.entries(s.labels ?? {}).map(([k, v]) => `${k}="${labelValue(v)}"`);
    lines.push(`${s.name}${labels.length > 0 ? `{${labels.join(",")}}` : ""} ${s.value}`);
  }
  return lines.join("\n") + "\n";
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
