// The alerts an operator of protected stores asks for ("no backup in 24 hours", "key count drops >10%",
// "AOF rewrite failures", "memory above 90%") and Holdfast's own (a failed restore drill, no replica
// online, sentinel quorum lost) as a PrometheusRule, each linking its own runbook page, and the PodMonitor
// that scrapes the exporters. Pure; BackupAlerts wires them.
import { EXPORTER_METRICS as X, JOB_METRICS as J, STREAM_METRICS as M } from "../../core/metrics";
import { selectors, streamSeries, type WatchedStack } from "./selectors";

/** One alerting rule, as a PrometheusRule carries it. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  /** The stack is on every alert, so one Alertmanager can route the alerts of several stacks. */
  labels: { severity: "critical" | "warning"; stack: string };
  annotations: { summary: string; description: string; runbook_url: string };
}

/** What the alerts watch. */
export interface AlertSettings extends WatchedStack {
  /**
   * Absolute URL of the folder of runbook pages; each alert links `<runbookBaseUrl>/<page>.md`, the page
   * runbookPage names (docs/runbooks/ in this repository).
   */
  runbookBaseUrl: string;
}

/** The runbook page of an alert: `HoldfastRedisKeysDropped` -> `redis-keys-dropped.md`. */
export function runbookPage(alert: string): string {
  const words = alert.replace(/^Holdfast/, "").replace(/([a-z0-9])([A-Z])/g, "$1-$2");
  return `${words.toLowerCase()}.md`;
}

const by = "stack, store, database";

/** A rule before its stack label and runbook link are added. */
export type AlertRuleDraft = Omit<AlertRule, "labels" | "annotations"> & {
  labels: Omit<AlertRule["labels"], "stack">;
  annotations: Omit<AlertRule["annotations"], "runbook_url">;
};

/** The backup and restore-drill alerts: no recent good backup, none ever, a failed or an overdue drill. */
function backupRules(s: AlertSettings): AlertRuleDraft[] {
  const { jobs: stack } = selectors(s);
  const maxAge = s.backupMaxAgeHours * 3600;
  return [
    {
      alert: "HoldfastBackupTooOld",
      expr: `time() - max by (${by}) (${J.backupLastSuccess}{${stack}}) > ${maxAge}`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: `No successful {{ $labels.store }} backup of stack ${s.stack} in ${s.backupMaxAgeHours} hours`,
        description:
          "The newest good {{ $labels.store }} backup of {{ $labels.database }} is {{ $value | humanizeDuration }} old. " +
          `Check the backup CronJob's last runs; take one now with \`holdfast stack backup {{ $labels.store }} --stack ${s.stack} --reason manual --wait\`.`,
      },
    },
    {
      // One rule for every store: two rules with one name and the same labels are a duplicate to promtool.
      alert: "HoldfastBackupNeverSucceeded",
      expr: s.stores
        .map((store) => `absent(${J.backupLastSuccess}{${stack}, store="${store}"})`)
        .join(" or "),
      for: `${s.backupMaxAgeHours}h`,
      labels: { severity: "critical" },
      annotations: {
        summary: `No {{ $labels.store }} backup of stack ${s.stack} has ever reported success`,
        description: `No job pushed ${J.backupLastSuccess} for {{ $labels.store }} in ${s.backupMaxAgeHours} hours: the backups fail, or the Pushgateway is not configured.`,
      },
    },
    {
      alert: "HoldfastDrillFailed",
      expr:
        `max by (${by}) (${J.drillLastFailure}{${stack}}) > max by (${by}) (${J.drillLastSuccess}{${stack}})` +
        ` or (max by (${by}) (${J.drillLastFailure}{${stack}}) unless on (${by}) ${J.drillLastSuccess}{${stack}})`,
      labels: { severity: "critical" },
      annotations: {
        summary: "The last restore drill of {{ $labels.store }} failed",
        description:
          "The newest backup could not be restored and verified: it may not be a backup. Run `holdfast verify --backup latest`.",
      },
    },
    {
      alert: "HoldfastDrillOverdue",
      expr: `time() - max by (${by}) (${J.drillLastSuccess}{${stack}}) > ${s.drillMaxAgeDays * 86400}`,
      for: "1h",
      labels: { severity: "warning" },
      annotations: {
        summary: `No successful restore drill in ${s.drillMaxAgeDays} days`,
        description:
          "A backup is known to restore once a drill has restored it: the restore-drill CronJob last succeeded {{ $value | humanizeDuration }} ago.",
      },
    },
  ];
}

/**
 * The primary's connected replicas that are data pods. A continuous-protection stream is connected as a
 * replica too, so each stream with its link up is taken off (none scraped counts as none).
 */
function realReplicas(s: AlertSettings): string {
  const { data } = selectors(s);
  const connected = `max(${X.connectedReplicas}{${data}} and on (pod) ${X.instanceInfo}{${data}, role="master"})`;
  if (!s.stream) return connected;
  const stream = streamSeries({ namespace: s.namespace, deployment: s.stream.deployment });
  return `(${connected} - on () (sum(${M.linkUp}{${stream}}) or on () vector(0)))`;
}

/**
 * The Redis set's alerts: keys lost, AOF rewrite or write failing, memory near maxmemory, no replica, no
 * primary, sentinel quorum lost.
 */
function redisRules(s: AlertSettings): AlertRuleDraft[] {
  const { data, sentinels } = selectors(s);
  return [
    {
      alert: "HoldfastRedisKeysDropped",
      expr: `sum(max by (db) (${X.dbKeys}{${data}})) < 0.9 * sum(max by (db) (${X.dbKeys}{${data}} offset 1h))`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Redis lost more than 10% of its keys within an hour",
        description: `A flush, a mass delete or a bad restore? Compare with the newest backups' key counts: \`holdfast stack list --stack ${s.stack} --store redis\`.`,
      },
    },
    {
      alert: "HoldfastRedisAofRewriteFailed",
      expr: `min by (pod) (${X.aofRewriteStatus}{${data}}) == 0`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "The last AOF rewrite of {{ $labels.pod }} failed",
        description:
          "Check the pod's log and its volume's free space; the AOF keeps growing until a rewrite succeeds.",
      },
    },
    {
      alert: "HoldfastRedisAofWriteFailed",
      expr: `min by (pod) (${X.aofWriteStatus}{${data}}) == 0`,
      for: "1m",
      labels: { severity: "critical" },
      annotations: {
        summary: "{{ $labels.pod }} cannot write its AOF",
        description: "Redis refuses writes while it cannot persist them. Check the volume (full, read-only).",
      },
    },
    {
      alert: "HoldfastRedisMemoryHigh",
      expr: `max by (pod) (${X.memoryUsed}{${data}} / (${X.memoryMax}{${data}} > 0)) > 0.9`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "{{ $labels.pod }} uses more than 90% of maxmemory",
        description:
          "With noeviction Redis will refuse writes at 100%. Raise redisMemoryLimit or remove data.",
      },
    },
    {
      alert: "HoldfastRedisNoReplica",
      expr: `${realReplicas(s)} < 1`,
      for: "2m",
      labels: { severity: "critical" },
      annotations: {
        summary: "The Redis primary has no replica online",
        description:
          "A failure of the primary now loses data, and with min-replicas-to-write it refuses writes.",
      },
    },
    {
      alert: "HoldfastRedisNoPrimary",
      expr: `absent(${X.instanceInfo}{${data}, role="master"})`,
      for: "2m",
      labels: { severity: "critical" },
      annotations: {
        summary: "No Redis pod serves as primary",
        description:
          "Look at the data pods' init logs: a pod waits for a sentinel majority or for a replica to be promoted.",
      },
    },
    {
      alert: "HoldfastSentinelQuorumLost",
      expr:
        `max(${X.sentinelOkSentinels}{${sentinels}, master_name="${s.redis.masterName}"}) < ${s.redis.quorum}` +
        ` or count(${X.up}{${sentinels}} == 1) < ${s.redis.quorum}` +
        // count() of nothing is nothing: with every sentinel gone, only absent() still answers.
        ` or absent(${X.up}{${sentinels}} == 1)`,
      for: "1m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Fewer sentinels than the quorum are up",
        description: "The set cannot fail over, and restarting data pods wait instead of starting.",
      },
    },
  ];
}

/** A rule as the PrometheusRule carries it: with the stack's label and the link to its runbook page. */
export function completeRule(
  s: Pick<AlertSettings, "stack" | "runbookBaseUrl">,
  r: AlertRuleDraft,
): AlertRule {
  const base = s.runbookBaseUrl.replace(/\/+$/, "");
  return {
    ...r,
    labels: { ...r.labels, stack: s.stack },
    annotations: { ...r.annotations, runbook_url: `${base}/${runbookPage(r.alert)}` },
  };
}

/** The alert groups of a stack: its backups and drills, and its Redis set. */
export function alertGroups(s: AlertSettings): { name: string; rules: AlertRule[] }[] {
  const complete = (r: AlertRuleDraft) => completeRule(s, r);
  return [
    { name: "holdfast-backups", rules: backupRules(s).map(complete) },
    { name: "holdfast-redis", rules: redisRules(s).map(complete) },
  ];
}

/** The PodMonitor spec that scrapes the exporters of a Redis set. */
export function podMonitorSpec(setName: string) {
  return {
    selector: { matchLabels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": setName } },
    podMetricsEndpoints: [{ port: "metrics", interval: "30s" }],
  };
}
