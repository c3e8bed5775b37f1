// SentinelRedis: a Sentinel-replicated Redis set with RDB+AOF persistence on Retain volumes, ACL users
// with generated passwords, and start-up logic that never lets a pod holding data elect itself.
// The objects are rendered by ./spec and ./conf; this component only wires them into resources.
import { DEFAULT_REDIS_IMAGE, type EngineKind } from "../../core/engines";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import {
  REDIS_USER_ROLES,
  RedisPasswords,
  renderReplicationAuth,
  renderSentinelAuth,
  renderUsersAcl,
} from "./acl";
import { retainStorageClass } from "../shared/k8s";
import {
  AUTH_FILES,
  RedisSetSettings,
  clusterRedisConf,
  clusterSentinelConf,
  dataClaimNames,
  dataStatefulSetSpec,
  disruptionBudgets,
  headlessServiceSpec,
  networkPolicySpec,
  redisLabels,
  sentinelAddresses,
  sentinelServiceSpec,
  sentinelStatefulSetSpec,
  setLabels,
} from "./spec";
import { redisSetNames, SENTINEL_PORT } from "../../core/redis-set";

/** Arguments of a SentinelRedis set. */
export interface SentinelRedisArgs {
  /** Namespace the set lives in (must exist). */
  namespace: string;
  /** Image of the Redis and sentinel containers. Default: the official Redis 7 image, pinned. */
  redisImage?: pulumi.Input<string>;
  /** The engine redisImage runs: it names the binaries the containers start. Default redis. */
  engine?: EngineKind;
  /** Image with the holdfast CLI, run by the init and hand-over containers. */
  jobsImage: pulumi.Input<string>;
  /** Name the sentinels monitor the primary under. Default `holdfast`. */
  masterName?: string;
  /** Data pods: a primary and replicas. Default 3. */
  replicas?: number;
  /** Sentinel pods; odd. Default 3. */
  sentinels?: number;
  /** Sentinels that must agree the primary is down. Default 2. */
  quorum?: number;
  /** Milliseconds of silence before the primary is considered down. Default 5000. */
  downAfterMilliseconds?: number;
  /** Sentinel failover-timeout in milliseconds. Default 60000. */
  failoverTimeoutMilliseconds?: number;
  /** Replicas the primary needs connected to accept writes. Default 1. */
  minReplicasToWrite?: number;
  /** Seconds a replica may lag and still count for minReplicasToWrite. Default 10. */
  minReplicasMaxLag?: number;
  /**
   * An existing StorageClass for the data volumes, which must reclaim with Retain. Default: the set
   * creates `<namespace>-<name>-retain` (encrypted gp3, expandable, Retain).
   */
  storageClassName?: string;
  /** Size of each data volume. Default `8Gi`. */
  storageSize?: string;
  /** CPU request of a data container. Default `100m`. */
  cpuRequest?: string;
  /** CPU limit of a data container. Default `1`. */
  cpuLimit?: string;
  /** Memory request and limit of a data container; maxmemory is 75% of it. Default `512Mi`. */
  memoryLimit?: string;
  /** Memory request and limit of a sentinel. Default `64Mi`. */
  sentinelMemoryLimit?: string;
  /** Size of each sentinel's state volume (its rewritten sentinel.conf). Default `1Gi`. */
  sentinelStorageSize?: string;
  /** Zones the pods spread over. Default `["us-east-1a"]`. */
  zones?: string[];
  /** Require one pod per node and an even zone spread (instead of preferring it). Default false. */
  strictScheduling?: boolean;
  /** Namespaces besides the set's own whose pods may connect. Default none. */
  allowedNamespaces?: string[];
  /** Seconds a terminating primary waits for a replica to take over. Default 60. */
  handoverTimeoutSeconds?: number;
  /** Image of the redis_exporter sidecars. Default: DEFAULT_EXPORTER_IMAGE. */
  exporterImage?: pulumi.Input<string>;
  /** Namespaces whose pods may scrape the exporters (Prometheus). Default `["monitoring"]`. */
  monitoringNamespaces?: string[];
}

/** The default Redis image (components/redis/engines.ts says why). */
export { DEFAULT_REDIS_IMAGE } from "../../core/engines";

/** The default exporter image, pinned by version. */
export const DEFAULT_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.67.0";

/** Applies the defaults of SentinelRedisArgs. */
export function redisSetSettings(name: string, args: SentinelRedisArgs): RedisSetSettings {
  const storageClassName = args.storageClassName || `${args.namespace}-${name}-retain`;
  return {
    name,
    namespace: args.namespace,
    redisImage: args.redisImage ?? DEFAULT_REDIS_IMAGE,
    engine: args.engine ?? "redis",
    jobsImage: args.jobsImage,
    masterName: args.masterName ?? "holdfast",
    replicas: args.replicas ?? 3,
    sentinels: args.sentinels ?? 3,
    quorum: args.quorum ?? 2,
    downAfterMilliseconds: args.downAfterMilliseconds ?? 5000,
    failoverTimeoutMilliseconds: args.failoverTimeoutMilliseconds ?? 60000,
    minReplicasToWrite: args.minReplicasToWrite ?? 1,
    minReplicasMaxLag: args.minReplicasMaxLag ?? 10,
    storageClassName,
    storageSize: args.storageSize ?? "8Gi",
    cpuRequest: args.cpuRequest ?? "100m",
    cpuLimit: args.cpuLimit ?? "1",
    memoryLimit: args.memoryLimit ?? "512Mi",
    sentinelMemoryLimit: args.sentinelMemoryLimit ?? "64Mi",
    sentinelStorageSize: args.sentinelStorageSize ?? "1Gi",
    zones: args.zones ?? ["us-east-1a"],
    strictScheduling: args.strictScheduling ?? false,
    allowedNamespaces: args.allowedNamespaces ?? [],
    handoverTimeoutSeconds: args.handoverTimeoutSeconds ?? 60,
    exporterImage: args.exporterImage ?? DEFAULT_EXPORTER_IMAGE,
    monitoringNamespaces: args.monitoringNamespaces ?? ["monitoring"],
  };
}

/** A Sentinel-replicated Redis set. */
export class SentinelRedis extends pulumi.ComponentResource {
  /** Name of the data StatefulSet. */
  public readonly statefulSetName: string;
  /** Name of the sentinel StatefulSet. */
  public readonly sentinelStatefulSetName: string;
  /** Service clients ask for the primary: `host:port`. */
  public readonly sentinelEndpoint: string;
  /** Every sentinel pod's `host:port`, for jobs that need a majority's view. */
  public readonly sentinelAddresses: string;
  /** Name the sentinels monitor the primary under. */
  public readonly masterName: string;
  /** Secret holding every user's password (`<role>-password`) and the ACL files. */
  public readonly secretName: string;
  /** PVCs of the data pods, in ordinal order. */
  public readonly claimNames: string[];
  /** StorageClass of the data volumes. */
  public readonly storageClassName: string;
  /** Generated passwords, by role (Pulumi secrets). */
  public readonly passwords: Record<keyof RedisPasswords, pulumi.Output<string>>;

  /**
   * @param name base name of the set's Kubernetes objects.
   * @param args the set's settings; see SentinelRedisArgs for defaults.
   * @param opts resource options; pass the Kubernetes provider here.
   */
  constructor(name: string, args: SentinelRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:redis:SentinelRedis", name, {}, opts);
    const s = redisSetSettings(name, args);
    const names = redisSetNames(name);
    const child = { parent: this };
    // What holds data, or decides whether it survives a delete, is protected and kept on delete.
    const keep = { parent: this, protect: true, retainOnDelete: true };
    const meta = (objectName: string, labels = setLabels(s)) => ({
      name: objectName,
      namespace: s.namespace,
      labels,
    });

    const passwords = Object.fromEntries(
      REDIS_USER_ROLES.map((role) => [
        role,
        new random.RandomPassword(`${name}-${role}-password`, { length: 32, special: false }, child).result,
      ]),
    ) as Record<keyof RedisPasswords, pulumi.Output<string>>;
    const all = pulumi.all(passwords) as unknown as pulumi.Output<RedisPasswords>;

    if (!args.storageClassName) {
      new k8s.storage.v1.StorageClass(
        `${name}-storage`,
        { metadata: { name: s.storageClassName, labels: setLabels(s) }, ...retainStorageClass() },
        keep,
      );
    }

    new k8s.core.v1.Secret(
      `${name}-auth`,
      {
        metadata: meta(names.secret),
        type: "Opaque",
        stringData: pulumi.secret(
          all.apply((p) => ({
            [AUTH_FILES.usersAcl]: renderUsersAcl(p),
            [AUTH_FILES.replication]: renderReplicationAuth(p),
            [AUTH_FILES.sentinelAuth]: renderSentinelAuth(s.masterName, p),
            ...Object.fromEntries(REDIS_USER_ROLES.map((role) => [`${role}-password`, p[role]])),
          })),
        ),
      },
      child,
    );

    new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: meta(names.configMap),
        data: { "redis.conf": clusterRedisConf(s), "sentinel.conf": clusterSentinelConf(s) },
      },
      child,
    );

    new k8s.core.v1.ServiceAccount(
      `${name}-account`,
      { metadata: meta(names.serviceAccount), automountServiceAccountToken: false },
      child,
    );

    new k8s.core.v1.Service(
      `${name}-headless`,
      { metadata: meta(names.headlessService, redisLabels(s, "data")), spec: headlessServiceSpec(s, "data") },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-sentinel-headless`,
      {
        metadata: meta(names.sentinelHeadlessService, redisLabels(s, "sentinel")),
        spec: headlessServiceSpec(s, "sentinel"),
      },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-sentinel-service`,
      { metadata: meta(names.sentinelService, redisLabels(s, "sentinel")), spec: sentinelServiceSpec(s) },
      child,
    );

    new k8s.apps.v1.StatefulSet(
      `${name}-data`,
      { metadata: meta(names.statefulSet, redisLabels(s, "data")), spec: dataStatefulSetSpec(s) },
      keep,
    );
    new k8s.apps.v1.StatefulSet(
      `${name}-sentinel`,
      {
        metadata: meta(names.sentinelStatefulSet, redisLabels(s, "sentinel")),
        spec: sentinelStatefulSetSpec(s),
      },
      keep,
    );

    const budgets = disruptionBudgets(s);
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-data-budget`,
      { metadata: meta(names.dataBudget, redisLabels(s, "data")), spec: budgets.data },
      child,
    );
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-sentinel-budget`,
      { metadata: meta(names.sentinelBudget, redisLabels(s, "sentinel")), spec: budgets.sentinel },
      child,
    );

    new k8s.networking.v1.NetworkPolicy(
      `${name}-network`,
      { metadata: meta(names.networkPolicy), spec: networkPolicySpec(s) },
      child,
    );

    this.statefulSetName = names.statefulSet;
    this.sentinelStatefulSetName = names.sentinelStatefulSet;
    this.sentinelEndpoint = `${names.sentinelService}.${s.namespace}.svc.cluster.local:${SENTINEL_PORT}`;
    this.sentinelAddresses = sentinelAddresses(s);
    this.masterName = s.masterName;
    this.secretName = names.secret;
    this.claimNames = dataClaimNames(s);
    this.storageClassName = s.storageClassName;
    this.passwords = passwords;
    this.registerOutputs({
      statefulSetName: this.statefulSetName,
      sentinelStatefulSetName: this.sentinelStatefulSetName,
      sentinelEndpoint: this.sentinelEndpoint,
      masterName: this.masterName,
      secretName: this.secretName,
      claimNames: this.claimNames,
    });
  }
}
