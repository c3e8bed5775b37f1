// The PromQL label matchers that pick a stack's own series out of a shared Prometheus: the jobs' pushes by
// their stack label, the exporters' scrapes by namespace and pod. The alerts and the dashboard both use them.

/** Which series belong to a stack. */
export interface StackSeries {
  stack: string;
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
