// The seed's alerts ("no backup in 24 hours", "key count drops >10%", "AOF rewrite failures", "memory
// above 90%") and Holdfast's own (a failed restore drill, no replica online, sentinel quorum lost) as a
// PrometheusRule, and the PodMonitor that scrapes the exporters. Pure; BackupAlerts wires them.
import { EXPORTER_METRICS as X, JOB_METRICS as J } from "./metrics";

/** One alerting rule, as a PrometheusRule carries it. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "critical" | "warning" };
  annotations: { summary: string; description: string; runbook: string };
}

/** What the alerts watch. */
export interface AlertSettings {
  stack: string;
  namespace: string;
  /** The Redis set: StatefulSet names, master name, sentinel quorum. */
  redis: { statefulSet: string; sentinelStatefulSet: string; masterName: string; quorum: number };
  /** Stores that have a scheduled backup. */
  stores: ("redis" | "lancedb")[];
  /** The newest good backup may be this old. */
  backupMaxAgeHours: number;
  /** The newest good drill may be this old. */
  drillMaxAgeDays: number;
}

const by = "stack, store, database";

/** The alert groups of a stack. */
export function alertGroups(s: AlertSettings): { name: string; rules: AlertRule[] }[] {
  const stack = `stack="${s.stack}"`;
  const data = `namespace="${s.namespace}", pod=~"${s.redis.statefulSet}-[0-9]+"`;
  const sentinels = `namespace="${s.namespace}", pod=~"${s.redis.sentinelStatefulSet}-[0-9]+"`;
  const maxAge = s.backupMaxAgeHours * 3600;
  const runbook = "README.md#runbooks";
  const backups: AlertRule[] = [
    {
      alert: "HoldfastBackupTooOld",
      expr: `time() - max by (${by}) (${J.backupLastSuccess}{${stack}}) > ${maxAge}`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: `No successful {{ $labels.store }} backup of stack ${s.stack} in ${s.backupMaxAgeHours} hours`,
        description:
          "The newest good {{ $labels.store }} backup of {{ $labels.database }} is {{ $value | humanizeDuration }} old. " +
          "Check the backup CronJob's last runs; take one now with `holdfast trigger --cronjob <store>-backup`.",
        runbook,
      },
    },
    ...s.stores.map((store): AlertRule => ({
      alert: "HoldfastBackupNeverSucceeded",
      expr: `absent(${J.backupLastSuccess}{${stack}, store="${store}"})`,
      for: `${s.backupMaxAgeHours}h`,
      labels: { severity: "critical" },
      annotations: {
        summary: `No ${store} backup of stack ${s.stack} has ever reported success`,
        description: `No job pushed ${J.backupLastSuccess} for ${store}: the backups fail, or the Pushgateway is not configured.`,
        runbook,
      },
    })),
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
        runbook,
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
          "The seed tests restores monthly; the drill CronJob has not succeeded since {{ $value | humanizeDuration }}.",
        runbook,
      },
    },
  ];
  const redis: AlertRule[] = [
    {
      alert: "HoldfastRedisKeysDropped",
      expr: `sum(max by (db) (${X.dbKeys}{${data}})) < 0.9 * sum(max by (db) (${X.dbKeys}{${data}} offset 1h))`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Redis lost more than 10% of its keys within an hour",
        description:
          "A flush, a mass delete or a bad restore? Compare with the newest backup's manifest (`holdfast list`).",
        runbook,
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
        runbook,
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
        runbook,
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
        runbook,
      },
    },
    {
      alert: "HoldfastRedisNoReplica",
      expr: `max(${X.connectedReplicas}{${data}} and on (pod) ${X.instanceInfo}{${data}, role="master"}) < 1`,
      for: "2m",
      labels: { severity: "critical" },
      annotations: {
        summary: "The Redis primary has no replica online",
        description:
          "A failure of the primary now loses data, and with min-replicas-to-write it refuses writes.",
        runbook,
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
        runbook,
      },
    },
    {
      alert: "HoldfastSentinelQuorumLost",
      expr:
        `max(${X.sentinelOkSentinels}{${sentinels}, master_name="${s.redis.masterName}"}) < ${s.redis.quorum}` +
        ` or count(${X.up}{${sentinels}} == 1) < ${s.redis.quorum}`,
      for: "1m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Fewer sentinels than the quorum are up",
        description: "The set cannot fail over, and restarting data pods wait instead of starting.",
        runbook,
      },
    },
  ];
  return [
    { name: "holdfast-backups", rules: backups },
    { name: "holdfast-redis", rules: redis },
  ];
}

/** The PodMonitor spec that scrapes the exporters of a Redis set. */
export function podMonitorSpec(setName: string) {
  return {
    selector: { matchLabels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": setName } },
    podMetricsEndpoints: [{ port: "metrics", interval: "30s" }],
  };
}
