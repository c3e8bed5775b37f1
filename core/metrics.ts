// The metrics Holdfast's alerts and dashboard read, named once: those the holdfast jobs push to the
// Pushgateway, and those the redis_exporter sidecars serve. The jobs push exactly these names; the alert
// rules and the dashboard's panels may name no other metric (tests hold them to it).

/**
 * Metrics the holdfast jobs push, labelled stack, store and database; the LanceDB table versions also
 * by table.
 */
export const JOB_METRICS = {
  backupLastSuccess: "holdfast_backup_last_success_timestamp_seconds",
  backupLastFailure: "holdfast_backup_last_failure_timestamp_seconds",
  backupDuration: "holdfast_backup_duration_seconds",
  backupSize: "holdfast_backup_size_bytes",
  /** What the backup sent to the bucket: the whole RDB for Redis, only new files for LanceDB. */
  backupUploaded: "holdfast_backup_uploaded_bytes",
  backupKeys: "holdfast_backup_keys",
  /** The version of each LanceDB table the newest snapshot holds. */
  lancedbTableVersion: "holdfast_lancedb_table_version",
  drillLastSuccess: "holdfast_drill_last_success_timestamp_seconds",
  drillLastFailure: "holdfast_drill_last_failure_timestamp_seconds",
} as const;

/** The name of a metric the jobs push. */
export type JobMetric = (typeof JOB_METRICS)[keyof typeof JOB_METRICS];

/** What each pushed metric means: its HELP line. */
export const JOB_METRIC_HELP: Record<JobMetric, string> = {
  [JOB_METRICS.backupLastSuccess]: "When the newest successful backup finished (seconds since the epoch).",
  [JOB_METRICS.backupLastFailure]: "When the newest failed backup stopped (seconds since the epoch).",
  [JOB_METRICS.backupDuration]: "How long the newest successful backup took.",
  [JOB_METRICS.backupSize]: "Bytes the newest successful backup holds.",
  [JOB_METRICS.backupUploaded]: "Bytes the newest successful backup sent to the bucket.",
  [JOB_METRICS.backupKeys]: "Keys (Redis) or rows (LanceDB) the newest successful backup holds.",
  [JOB_METRICS.lancedbTableVersion]: "Version of a LanceDB table in the newest successful snapshot.",
  [JOB_METRICS.drillLastSuccess]:
    "When the newest restore drill that passed finished (seconds since the epoch).",
  [JOB_METRICS.drillLastFailure]:
    "When the newest restore drill that failed finished (seconds since the epoch).",
};

/** The labels every pushed metric carries (also the Pushgateway grouping key, with job=holdfast). */
export const JOB_METRIC_LABELS = ["stack", "store", "database"] as const;

/**
 * Metrics of the redis_exporter image the sidecars run (DEFAULT_EXPORTER_IMAGE) that the alerts and the
 * dashboard read, as its source names them (namespace `redis`).
 */
export const EXPORTER_METRICS = {
  up: "redis_up",
  dbKeys: "redis_db_keys",
  memoryUsed: "redis_memory_used_bytes",
  memoryMax: "redis_memory_max_bytes",
  aofRewriteStatus: "redis_aof_last_bgrewrite_status",
  aofWriteStatus: "redis_aof_last_write_status",
  connectedReplicas: "redis_connected_slaves",
  /** On a primary, per replica (labels slave_ip, slave_port, slave_state). */
  replicaLag: "redis_connected_slave_lag_seconds",
  instanceInfo: "redis_instance_info",
  sentinelOkSentinels: "redis_sentinel_master_ok_sentinels",
  /** On a sentinel: 1 while the master it names (label master_address) is ok. */
  sentinelMasterStatus: "redis_sentinel_master_status",
} as const;

/**
 * Metrics `holdfast stream redis` serves on its metrics port (scraped, labelled by the scrape target):
 * how far the bucket is behind the set, for the continuous-protection alerts.
 */
export const STREAM_METRICS = {
  /** Seconds between the arrival of the oldest byte not yet durable and now (0 when all is durable). */
  lag: "holdfast_stream_lag_seconds",
  /** When the newest segment became durable (seconds since the epoch). */
  lastDurable: "holdfast_stream_last_durable_timestamp_seconds",
  /** Replication offset durable in the bucket. */
  durableOffset: "holdfast_stream_durable_offset",
  /** Chains begun by a full resynchronisation since the stream started (each one a gap). */
  gaps: "holdfast_stream_gaps_total",
  /** 1 while a replication link to the primary is up. */
  linkUp: "holdfast_stream_link_up",
} as const;

/** Every metric something in a Holdfast stack exports. */
export const EXPORTED_METRICS: string[] = [
  ...Object.values(JOB_METRICS),
  ...Object.values(EXPORTER_METRICS),
  ...Object.values(STREAM_METRICS),
];
