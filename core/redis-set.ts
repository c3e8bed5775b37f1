// What a rendered Redis set and the holdfast jobs agree on: its ports, the pods' user and mount paths,
// the label that lets a pod connect, and the names of the set's Kubernetes objects.

/** Ports of the data nodes and sentinels inside the cluster. */
export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;
/** Port of the redis_exporter sidecars (Prometheus scrapes it as `metrics`). */
export const METRICS_PORT = 9121;

/**
 * The label of the pods that may connect to Redis and the sentinels (value `"true"`), in the set's
 * namespace and the allowed ones: the application's pods, and Holdfast's own jobs that talk to Redis.
 */
export const REDIS_CLIENT_LABEL = "holdfast.dev/redis-client";

/** UID of the `redis` user of the official Redis image; every container of the set runs as it. */
export const REDIS_UID = 999;

/** Where the pods mount what they read and write. */
export const PATHS = {
  data: "/data",
  config: "/etc/holdfast/config",
  auth: "/etc/holdfast/auth",
  run: "/run/holdfast",
  tmp: "/tmp",
};

/** The names of the set's Kubernetes objects. */
export interface RedisSetNames {
  statefulSet: string;
  sentinelStatefulSet: string;
  headlessService: string;
  sentinelHeadlessService: string;
  /** What clients connect to: any ready sentinel. */
  sentinelService: string;
  configMap: string;
  secret: string;
  serviceAccount: string;
  dataBudget: string;
  sentinelBudget: string;
  networkPolicy: string;
  /** PVC template name; pod N's claim is `<volumeClaim>-<statefulSet>-N`. */
  volumeClaim: string;
  /** PVC template name of the sentinels' state. */
  sentinelStateClaim: string;
}

/** Names derived from the set's base name. */
export function redisSetNames(name: string): RedisSetNames {
  return {
    statefulSet: name,
    sentinelStatefulSet: `${name}-sentinel`,
    headlessService: `${name}-headless`,
    sentinelHeadlessService: `${name}-sentinel-headless`,
    sentinelService: `${name}-sentinel`,
    configMap: `${name}-config`,
    secret: `${name}-auth`,
    serviceAccount: name,
    dataBudget: name,
    sentinelBudget: `${name}-sentinel`,
    networkPolicy: name,
    volumeClaim: "data",
    sentinelStateClaim: "state",
  };
}
