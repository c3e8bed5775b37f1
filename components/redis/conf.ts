// Pure renderers of redis.conf and sentinel.conf. The component writes their output into ConfigMaps and
// the tests boot real redis-server and redis-sentinel processes from the same output, with only ports,
// hosts and directories changed.
import { mebibytes, quantityBytes, quantityToBytes } from "../../core/quantity";

/** Settings of a data node's redis.conf. */
export interface RedisConfOptions {
  /** Port Redis listens on (6379 in the cluster). */
  port: number;
  /** Addresses to listen on (`* -::*`, every interface, in the cluster). */
  bind: string;
  /** Data directory holding dump.rdb and appendonlydir/ (the volume). */
  dataDir: string;
  /** Path of the ACL file (from the Secret). */
  aclFile: string;
  /** Files included after the main settings, in order: the replication credentials, then the role file written at start-up. */
  includes: string[];
  /** maxmemory in bytes; with noeviction Redis refuses writes rather than drop irreplaceable keys. */
  maxmemoryBytes: number;
  /** Connected replicas the primary needs to accept writes. */
  minReplicasToWrite: number;
  /** Seconds a replica may lag and still count. */
  minReplicasMaxLag: number;
  /** Milliseconds a script may run before the node answers BUSY and the sidecar kills it. */
  busyReplyThresholdMs: number;
  /**
   * Bytes of replication backlog: the writes a replica (or the stream) may miss and still continue.
   * Omitted: no backlog lines (Redis's own 1 MB, freed after an hour without replicas).
   */
  replBacklogBytes?: number;
}

/**
 * The busy-reply-threshold for a set whose sentinels wait `downAfterMilliseconds`: half of it (at most
 * Redis's own 5 s). The sidecar kills a script as soon as the node answers BUSY, so the script ends
 * with at least half of down-after to spare and the sentinels never count the primary down for it.
 */
export function busyReplyThresholdFor(downAfterMilliseconds: number): number {
  return Math.max(100, Math.min(5000, Math.floor(downAfterMilliseconds / 2)));
}

/** Holdfast's persistence settings: RDB snapshots at three thresholds and an AOF fsynced every second. */
export const PERSISTENCE_LINES = [
  "save 60 1000",
  "save 300 10",
  "save 900 1",
  "appendonly yes",
  "appendfilename appendonly.aof",
  "appenddirname appendonlydir",
  "appendfsync everysec",
  "aof-use-rdb-preamble yes",
  // A truncated tail (a crash mid-write) loads up to the last full command; corruption elsewhere is
  // repaired at start by the init container, after the original is copied aside.
  "aof-load-truncated yes",
  "stop-writes-on-bgsave-error yes",
  "rdbchecksum yes",
];

/** The backlog lines of a redis.conf: its size, and never freed. */
function backlogLines(bytes: number): string[] {
  return [
    "# The writes a replica or the continuous-protection stream may miss (a pod moved, a node drained) and",
    "# still continue with a partial resync. The backlog counts toward maxmemory; it is never freed, so the",
    "# room the data has does not change while the replicas are away.",
    `repl-backlog-size ${bytes}`,
    "repl-backlog-ttl 0",
  ];
}

/** Renders a data node's redis.conf. */
export function renderRedisConf(o: RedisConfOptions): string {
  return [
    "# Holdfast Redis data node. Role lines (replicaof, announce) are added at start by `holdfast pod init redis`.",
    `port ${o.port}`,
    `bind ${o.bind}`,
    "protected-mode no",
    `dir ${o.dataDir}`,
    `aclfile ${o.aclFile}`,
    "",
    "# Persistence: RDB snapshots and an fsync-every-second AOF with an RDB preamble.",
    ...PERSISTENCE_LINES,
    "",
    "# Replication: an isolated primary stops taking writes a failover would discard.",
    `min-replicas-to-write ${o.minReplicasToWrite}`,
    `min-replicas-max-lag ${o.minReplicasMaxLag}`,
    "replica-read-only yes",
    "replica-serve-stale-data yes",
    "repl-diskless-sync yes",
    "repl-diskless-sync-delay 1",
    ...(o.replBacklogBytes === undefined ? [] : backlogLines(o.replBacklogBytes)),
    "",
    "# Scripts: one running this long gets BUSY answers, and the holdfast sidecar kills it (SCRIPT KILL,",
    "# FUNCTION KILL) long before the sentinels' down-after-milliseconds.",
    `busy-reply-threshold ${o.busyReplyThresholdMs}`,
    "",
    "# Memory: never evict, the data cannot be rebuilt.",
    `maxmemory ${o.maxmemoryBytes}`,
    "maxmemory-policy noeviction",
    "",
    ...o.includes.map((file) => `include ${file}`),
    "",
  ].join("\n");
}

/** Settings of a sentinel's sentinel.conf. */
export interface SentinelConfOptions {
  /** Port the sentinel listens on (26379 in the cluster). */
  port: number;
  /** Addresses to listen on. */
  bind: string;
  /** Name the primary is monitored under. */
  masterName: string;
  /** Host of the primary at first boot (pod 0); start-up logic replaces it with the current primary. */
  bootstrapPrimaryHost: string;
  /** Port of the data nodes. */
  primaryPort: number;
  /** Sentinels that must agree the primary is down. */
  quorum: number;
  downAfterMilliseconds: number;
  failoverTimeoutMilliseconds: number;
  /** Directory the sentinel works in. */
  dir: string;
}

/** Renders sentinel.conf without its secrets (see renderSentinelAuth) and announce line. */
export function renderSentinelConf(o: SentinelConfOptions): string {
  return [
    "# Holdfast sentinel. `holdfast pod init sentinel` points the monitor line at the current primary,",
    "# adds the announce line and appends the credentials from the Secret.",
    `port ${o.port}`,
    `bind ${o.bind}`,
    `dir ${o.dir}`,
    "protected-mode no",
    "sentinel resolve-hostnames yes",
    "sentinel announce-hostnames yes",
    `sentinel monitor ${o.masterName} ${o.bootstrapPrimaryHost} ${o.primaryPort} ${o.quorum}`,
    `sentinel down-after-milliseconds ${o.masterName} ${o.downAfterMilliseconds}`,
    `sentinel failover-timeout ${o.masterName} ${o.failoverTimeoutMilliseconds}`,
    `sentinel parallel-syncs ${o.masterName} 1`,
    "",
  ].join("\n");
}

/** The largest share of maxmemory the replication backlog may take (the rest is the data's). */
export const MAX_BACKLOG_SHARE_OF_MAXMEMORY = 0.25;

/**
 * What is wrong with a replication backlog of `size` for data pods limited to `memoryLimit` (both memory
 * quantities), or undefined. Redis counts the backlog toward maxmemory, and with noeviction a full
 * backlog leaves the data maxmemory minus the backlog: at most a quarter of maxmemory keeps three
 * quarters for the data; below 1Mi it is smaller than Redis's own default.
 */
export function replBacklogProblem(size: string, memoryLimit: string): string | undefined {
  const bytes = quantityBytes(size);
  if (bytes === undefined) return `"${size}" is not a memory quantity (64Mi, 1Gi)`;
  if (bytes < 2 ** 20) return `${size} is below Redis's own default of 1Mi`;
  const maxmemory = maxmemoryFor(memoryLimit);
  if (bytes > maxmemory * MAX_BACKLOG_SHARE_OF_MAXMEMORY)
    return (
      `${size} is more than a quarter of maxmemory (${mebibytes(maxmemory)}, 75% of the data pods' ` +
      `memory limit ${memoryLimit}); Redis counts the backlog toward maxmemory, so it would crowd out the data`
    );
  return undefined;
}

/** maxmemory for a container memory limit: 75%, leaving room for copy-on-write during a snapshot fork. */
export function maxmemoryFor(memoryLimit: string): number {
  return Math.floor(quantityToBytes(memoryLimit) * 0.75);
}
