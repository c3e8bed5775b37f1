// The stream's alerts: it lags (what it has received waits to be durable in the bucket), it lags far
// enough that a loss now costs minutes of writes, or it is down (no link to the primary, or no metrics
// at all). Each links its own runbook page. Pure; ContinuousBackup wires them into a PrometheusRule.
import { STREAM_METRICS as M } from "../../core/metrics";
import { completeRule, type AlertRule, type AlertRuleDraft } from "../monitoring/alerts";
import { streamSeries } from "../monitoring/selectors";

/** Seconds of lag that warn, and that are critical. */
export const STREAM_LAG_WARNING_SECONDS = 30;
export const STREAM_LAG_CRITICAL_SECONDS = 300;

/** What the stream's alerts watch. */
export interface StreamAlertSettings {
  /** The stack's name, on every alert. */
  stack: string;
  /** Namespace of the stream's pod. */
  namespace: string;
  /** Name of the stream's Deployment (its pods are `<name>-<hash>-<id>`). */
  deployment: string;
  /** Absolute URL of the folder of runbook pages (as AlertSettings.runbookBaseUrl). */
  runbookBaseUrl: string;
}

/** The matchers (without braces) of the stream's scraped series (shared with the replica alert). */
export { streamSeries };

function streamRules(s: StreamAlertSettings): AlertRuleDraft[] {
  const series = streamSeries(s);
  const lag = `max(${M.lag}{${series}})`;
  return [
    {
      alert: "HoldfastStreamLagging",
      expr: `${lag} > ${STREAM_LAG_WARNING_SECONDS}`,
      for: "1m",
      labels: { severity: "warning" },
      annotations: {
        summary: `The Redis stream of stack ${s.stack} is more than ${STREAM_LAG_WARNING_SECONDS} seconds behind`,
        description:
          "Writes the stream received {{ $value | humanizeDuration }} ago are not yet durable in the bucket: " +
          "a point-in-time restore cannot reach them. The bucket is slow or refuses writes; see the stream's log " +
          "and `holdfast timeline --store redis` for what is restorable.",
      },
    },
    {
      alert: "HoldfastStreamLagCritical",
      expr: `${lag} > ${STREAM_LAG_CRITICAL_SECONDS}`,
      labels: { severity: "critical" },
      annotations: {
        summary: `The Redis stream of stack ${s.stack} is more than ${STREAM_LAG_CRITICAL_SECONDS / 60} minutes behind`,
        description:
          "The newest {{ $value | humanizeDuration }} of writes exist only in the stream's memory and the " +
          "primary's backlog. Find why the bucket refuses or stalls its writes (credentials, Object Lock, " +
          "throttling) before the primary's output buffer for the stream overflows.",
      },
    },
    {
      alert: "HoldfastStreamDown",
      // absent() answers when the pod is gone or not scraped; min() when it runs without a link.
      expr: `min(${M.linkUp}{${series}}) < 1 or absent(${M.linkUp}{${series}})`,
      for: "2m",
      labels: { severity: "critical" },
      annotations: {
        summary: `The Redis stream of stack ${s.stack} is down`,
        description:
          "No stream is connected to the primary (or none is scraped): writes since it stopped can only be " +
          "restored up to the last scheduled backup, and past the primary's backlog the next start makes a " +
          `gap. Look at the Deployment ${s.deployment} in namespace ${s.namespace}.`,
      },
    },
  ];
}

/** The stream's alert group, each rule with the stack's label and its runbook link. */
export function streamAlertGroups(s: StreamAlertSettings): { name: string; rules: AlertRule[] }[] {
  return [{ name: "holdfast-stream", rules: streamRules(s).map((r) => completeRule(s, r)) }];
}
