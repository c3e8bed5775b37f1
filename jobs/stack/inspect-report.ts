// The report `holdfast pod inspect redis` writes as one JSON line, and finding it in a Job's log: what the
// restore reads of the set before and after. Apart from the inspection itself (redis-inspect.ts), so a
// command that only reads the report loads no Redis client.

/** Marks the report line among the Job's log lines. */
export const INSPECT_KIND = "holdfast.redis-inspect/1";

/** What one sentinel says. */
export interface SentinelReport {
  address: string;
  reachable: boolean;
  /** The primary it names. */
  primary?: string;
  /** Replicas it knows as up. */
  replicas?: number;
  /** Replicas it lists as down or disconnected (stale entries). */
  staleReplicas?: number;
  error?: string;
}

/** What one data node says of itself. */
export interface NodeReport {
  address: string;
  reachable: boolean;
  role?: "primary" | "replica";
  /** A replica's primary. */
  following?: string;
  /** A replica whose link is up and not syncing. */
  inSync?: boolean;
  /** A primary's replicas in state online. */
  onlineReplicas?: number;
  /**
   * A primary's replicas that count for min-replicas-to-write (INFO min_slaves_good_slaves: online, lag
   * within min-replicas-max-lag); absent when the primary has no such setting.
   */
  goodReplicas?: number;
  /** Its replication offset (master_repl_offset on a primary, slave_repl_offset on a replica). */
  offset?: number;
  /** Keys of all databases. */
  keys?: number;
  error?: string;
}

/** The report. */
export interface InspectReport {
  kind: typeof INSPECT_KIND;
  at: string;
  /** The primary a sentinel majority names. */
  primary?: string;
  /** Its index in `nodes` (the StatefulSet ordinal when the nodes are given in order). */
  primaryIndex?: number;
  sentinels: SentinelReport[];
  nodes: NodeReport[];
  /** Keys per database on the primary (INFO keyspace). */
  keyspace?: Record<string, number>;
  /** Keys per pattern on the primary, all databases. */
  patterns?: Record<string, number>;
  /** The set is whole (and, when expected, led by the expected primary). */
  healthy: boolean;
  /** Why it is not. */
  problems: string[];
  /** What is worth knowing but not waited for (sentinels that do not list every replica yet). */
  notes?: string[];
}

/** The report line in a Job's log (the last one, if the command ran more than once). */
export function reportFromLog(log: string): InspectReport | undefined {
  const lines = log.split("\n").filter((l) => l.includes(INSPECT_KIND));
  for (const line of lines.reverse()) {
    try {
      const r = JSON.parse(line.slice(line.indexOf("{"))) as InspectReport;
      if (r.kind === INSPECT_KIND) return r;
    } catch {
      // a log line that only mentions the kind
    }
  }
  return undefined;
}
