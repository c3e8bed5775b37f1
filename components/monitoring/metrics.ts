// The metrics Holdfast's alerts read, named once: those the holdfast jobs push to the Pushgateway, and
// those the redis_exporter sidecars serve. The jobs push exactly these names; the alert rules may name
// no other metric (a test holds them to it).

/** Metrics the holdfast jobs push, labelled stack, store and database. */
export const JOB_METRICS = {
  backupLastSuccess: "holdfast_backup_last_success_timestamp_seconds",
  backupLastFailure: "holdfast_backup_last_failure_timestamp_seconds",
  backupDuration: "holdfast_backup_duration_seconds",
  backupSize: "holdfast_backup_size_bytes",
  backupKeys: "holdfast_backup_keys",
  drillLastSuccess: "holdfast_drill_last_success_timestamp_seconds",
  drillLastFailure: "holdfast_drill_last_failure_timestamp_seconds",
} as const;

/** The labels every pushed metric carries (also the Pushgateway grouping key, with job=holdfast). */
export const JOB_METRIC_LABELS = ["stack", "store", "database"] as const;

/**
 * Metrics of the redis_exporter image the sidecars run (DEFAULT_EXPORTER_IMAGE) that the alerts read,
 * as its source names them (namespace `redis`).
 */
export const EXPORTER_METRICS = {
  up: "redis_up",
  dbKeys: "redis_db_keys",
  memoryUsed: "redis_memory_used_bytes",
  memoryMax: "redis_memory_max_bytes",
  aofRewriteStatus: "redis_aof_last_bgrewrite_status",
  aofWriteStatus: "redis_aof_last_write_status",
  connectedReplicas: "redis_connected_slaves",
  instanceInfo: "redis_instance_info",
  sentinelOkSentinels: "redis_sentinel_master_ok_sentinels",
} as const;

/** Every metric something in a Holdfast stack exports. */
export const EXPORTED_METRICS: string[] = [...Object.values(JOB_METRICS), ...Object.values(EXPORTER_METRICS)];
