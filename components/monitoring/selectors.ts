// What the alerts and the dashboard watch, and the PromQL label matchers that pick a stack's own series out
// of a shared Prometheus: the jobs' pushes by their stack label, the exporters' scrapes by namespace and pod.
import type { BackupStore } from "../shared/enums";

/** Which series belong to a stack. */
export interface StackSeries {
  /** The stack's name: the `stack` label of the jobs' pushed metrics. */
  stack: string;
  /** Namespace of the stack's pods (the exporters' series carry it). */
  namespace: string;
  /** The StatefulSets of the Redis data pods and of the sentinels. */
  redis: { statefulSet: string; sentinelStatefulSet: string };
}

/** The matchers (without braces) of a stack's pushed job metrics, data pods and sentinels. */
export function selectors(s: StackSeries): { jobs: string; data: string; sentinels: string } {
  return {
    jobs: `stack="${s.stack}"`,
    data: `namespace="${s.namespace}", pod=~"${s.redis.statefulSet}-[0-9]+"`,
    sentinels: `namespace="${s.namespace}", pod=~"${s.redis.sentinelStatefulSet}-[0-9]+"`,
  };
}

/** The Redis set the alerts and the dashboard watch. */
export interface WatchedRedis {
  /** StatefulSet of the data pods. */
  statefulSet: string;
  /** StatefulSet of the sentinels. */
  sentinelStatefulSet: string;
  /** Name the sentinels monitor the primary under. */
  masterName: string;
  /** Sentinels that must agree the primary is down. */
  quorum: number;
}

/** What the alerts and the dashboard watch: a stack's series, its Redis set, its stores' promises. */
export interface WatchedStack extends StackSeries {
  /** The Redis set: StatefulSet names, master name, sentinel quorum. */
  redis: WatchedRedis;
  /** Stores that have a scheduled backup. */
  stores: BackupStore[];
  /** The newest good backup may be this old. */
  backupMaxAgeHours: number;
  /** The newest good drill may be this old. */
  drillMaxAgeDays: number;
  /**
   * The continuous-protection stream, when the stack runs one: its Deployment, in the stack's namespace.
   * It is connected to the primary as a replica, so the replica alert discounts it.
   */
  stream?: WatchedStream;
}

/** A continuous-protection stream the monitoring watches. */
export interface WatchedStream {
  /** The stream's Deployment, in the stack's namespace. */
  deployment: string;
}

/** The matchers (without braces) of a continuous-protection stream's scraped series. */
export function streamSeries(s: { namespace: string; deployment: string }): string {
  return `namespace="${s.namespace}", pod=~"${s.deployment}-[a-z0-9]+-[a-z0-9]+"`;
}
