// SentinelRedis: a Sentinel-replicated Redis set with RDB+AOF persistence on Retain volumes, ACL users
// with generated passwords, and start-up logic that never lets a pod holding data elect itself.
// The objects are rendered by ./spec and ./conf; this component only wires them into resources.
import { DEFAULT_REDIS_IMAGE } from "../../core/engines";
import { passwordKey } from "../shared/job-env";
import type { RedisEngine } from "../shared/enums";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import {
  REDIS_USER_ROLES,
  RedisPasswords,
  dataNodeUsers,
  renderReplicationAuth,
  renderSentinelAuth,
  renderUsersAcl,
} from "./acl";
import { retainStorageClass } from "../shared/k8s";
import { replBacklogProblem } from "./conf";
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

/**
 * Arguments of a SentinelRedis set. Every value may come from another resource (a pulumi.Input); the
 * set resolves them before it renders its objects.
 */
export interface SentinelRedisArgs {
  /** Namespace the set lives in (must exist). */
  namespace: pulumi.Input<string>;
  /** Image of the Redis and sentinel containers. Default: the official Redis image, pinned. */
  redisImage?: pulumi.Input<string>;
  /** The engine redisImage runs: it names the binaries the containers start. Default redis. */
  engine?: pulumi.Input<RedisEngine>;
  /** Image with the holdfast CLI, run by the init and hand-over containers. */
  jobsImage: pulumi.Input<string>;
  /** Name the sentinels monitor the primary under. Default `holdfast`. */
  masterName?: pulumi.Input<string>;
  /** Data pods: a primary and replicas. Default 3. */
  replicas?: pulumi.Input<number>;
  /** Sentinel pods; odd. Default 3. */
  sentinels?: pulumi.Input<number>;
  /** Sentinels that must agree the primary is down. Default 2. */
  quorum?: pulumi.Input<number>;
  /** Milliseconds of silence before the primary is considered down. Default 5000. */
  downAfterMilliseconds?: pulumi.Input<number>;
  /** Sentinel failover-timeout in milliseconds. Default 60000. */
  failoverTimeoutMilliseconds?: pulumi.Input<number>;
  /** Replicas the primary needs connected to accept writes. Default 1. */
  minReplicasToWrite?: pulumi.Input<number>;
  /** Seconds a replica may lag and still count for minReplicasToWrite. Default 10. */
  minReplicasMaxLag?: pulumi.Input<number>;
  /**
   * Replication backlog of each data node, a memory quantity: the writes a replica or a ContinuousBackup
   * stream may miss and still continue without a full resync (without a gap in the stream's chain). It
   * counts toward maxmemory and may be at most a quarter of it. Default `64Mi`.
   */
  replBacklogSize?: pulumi.Input<string>;
  /**
   * An existing StorageClass for the data volumes, which must reclaim with Retain. Default: the set
   * creates `<namespace>-<name>-retain` (encrypted gp3, expandable, Retain).
   */
  storageClassName?: pulumi.Input<string>;
  /** Size of each data volume. Default `8Gi`. */
  storageSize?: pulumi.Input<string>;
  /** CPU request of a data container. Default `100m`. */
  cpuRequest?: pulumi.Input<string>;
  /** CPU limit of a data container. Default `1`. */
  cpuLimit?: pulumi.Input<string>;
  /** Memory request and limit of a data container; maxmemory is 75% of it. Default `512Mi`. */
  memoryLimit?: pulumi.Input<string>;
  /** Memory request and limit of a sentinel. Default `64Mi`. */
  sentinelMemoryLimit?: pulumi.Input<string>;
  /** Size of each sentinel's state volume (its rewritten sentinel.conf). Default `1Gi`. */
  sentinelStorageSize?: pulumi.Input<string>;
  /** Zones the pods spread over. Default `["us-east-1a"]`. */
  zones?: pulumi.Input<pulumi.Input<string>[]>;
  /** Require one pod per node and an even zone spread (instead of preferring it). Default false. */
  strictScheduling?: pulumi.Input<boolean>;
  /** Namespaces besides the set's own whose pods may connect. Default none. */
  allowedNamespaces?: pulumi.Input<pulumi.Input<string>[]>;
  /** Seconds a terminating primary waits for a replica to take over. Default 60. */
  handoverTimeoutSeconds?: pulumi.Input<number>;
  /** Image of the redis_exporter sidecars. Default: DEFAULT_EXPORTER_IMAGE. */
  exporterImage?: pulumi.Input<string>;
  /** Namespaces whose pods may scrape the exporters (Prometheus). Default `["monitoring"]`. */
  monitoringNamespaces?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Give the data nodes the `stream` user (`-@all +psync +replconf +ping`, password `stream-password` in
   * the set's Secret) that a ContinuousBackup stream joins the set as. Changing it rolls the data pods
   * (Redis reads its ACL file at start). Default false.
   */
  streamUser?: pulumi.Input<boolean>;
}

/** The default Redis image (components/redis/engines.ts says why). */
export { DEFAULT_REDIS_IMAGE } from "../../core/engines";

/** The default replication backlog: 64Mi, a sixth of the default pods' maxmemory (384Mi). */
export const DEFAULT_REPL_BACKLOG_SIZE = "64Mi";

/** The default exporter image, pinned by version. */
export const DEFAULT_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.67.0";

/** Applies the defaults of SentinelRedisArgs. @throws when the backlog does not fit the pods' memory */
export function redisSetSettings(name: string, args: pulumi.Unwrap<SentinelRedisArgs>): RedisSetSettings {
  const storageClassName = args.storageClassName || `${args.namespace}-${name}-retain`;
  const backlog = args.replBacklogSize ?? DEFAULT_REPL_BACKLOG_SIZE;
  const problem = replBacklogProblem(backlog, args.memoryLimit ?? "512Mi");
  if (problem) throw new Error(`SentinelRedis ${name}: replBacklogSize ${problem}`);
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
    replBacklogSize: backlog,
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
    streamUser: args.streamUser ?? false,
  };
}

/** A Sentinel-replicated Redis set. */
export class SentinelRedis extends pulumi.ComponentResource {
  /** Name of the data StatefulSet. */
  public readonly statefulSetName: pulumi.Output<string>;
  /** Name of the sentinel StatefulSet. */
  public readonly sentinelStatefulSetName: pulumi.Output<string>;
  /** Service clients ask for the primary: `host:port`. */
  public readonly sentinelEndpoint: pulumi.Output<string>;
  /** Every sentinel pod's `host:port`, comma-separated, for jobs that need a majority's view. */
  public readonly sentinelAddresses: pulumi.Output<string>;
  /** Name the sentinels monitor the primary under. */
  public readonly masterName: pulumi.Output<string>;
  /** Secret holding every user's password (`<role>-password`) and the ACL files. */
  public readonly secretName: pulumi.Output<string>;
  /** PVCs of the data pods, in ordinal order. */
  public readonly claimNames: pulumi.Output<string[]>;
  /** StorageClass of the data volumes. */
  public readonly storageClassName: pulumi.Output<string>;
  /** Generated passwords, by role (a Pulumi secret). */
  public readonly passwords: pulumi.Output<RedisPasswords>;

  /**
   * @param name base name of the set's Kubernetes objects.
   * @param args the set's settings; see SentinelRedisArgs for defaults.
   * @param opts resource options; pass the Kubernetes provider here.
   */
  constructor(name: string, args: SentinelRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:redis:SentinelRedis", name, {}, opts);
    const s = pulumi.output(args).apply((a) => redisSetSettings(name, a as pulumi.Unwrap<SentinelRedisArgs>));
    const names = redisSetNames(name);
    const passwords = pulumi.secret(
      pulumi.all(
        Object.fromEntries(
          REDIS_USER_ROLES.map((role) => [
            role,
            new random.RandomPassword(
              `${name}-${role}-password`,
              { length: 32, special: false },
              { parent: this },
            ).result,
          ]),
        ),
      ) as unknown as pulumi.Output<RedisPasswords>,
    );

    if (!args.storageClassName) {
      // What decides whether the data survives a delete is protected and kept on delete.
      new k8s.storage.v1.StorageClass(
        `${name}-storage`,
        {
          metadata: s.apply((v) => ({ name: v.storageClassName, labels: setLabels(v) })),
          ...retainStorageClass(),
        },
        { parent: this, protect: true, retainOnDelete: true },
      );
    }
    this.configuration(name, s, passwords);
    this.workloads(name, s);

    this.statefulSetName = pulumi.output(names.statefulSet);
    this.sentinelStatefulSetName = pulumi.output(names.sentinelStatefulSet);
    this.sentinelEndpoint = pulumi.interpolate`${names.sentinelService}.${s.namespace}.svc.cluster.local:${SENTINEL_PORT}`;
    this.sentinelAddresses = s.apply(sentinelAddresses);
    this.masterName = s.masterName;
    this.secretName = pulumi.output(names.secret);
    this.claimNames = s.apply(dataClaimNames);
    this.storageClassName = s.storageClassName;
    this.passwords = passwords;
    this.registerOutputs({
      statefulSetName: this.statefulSetName,
      sentinelStatefulSetName: this.sentinelStatefulSetName,
      sentinelEndpoint: this.sentinelEndpoint,
      sentinelAddresses: this.sentinelAddresses,
      masterName: this.masterName,
      secretName: this.secretName,
      claimNames: this.claimNames,
      storageClassName: this.storageClassName,
    });
  }

  /** The Secret with the passwords and ACL files, the ConfigMap with redis.conf and sentinel.conf. */
  private configuration(
    name: string,
    s: pulumi.Output<RedisSetSettings>,
    passwords: pulumi.Output<RedisPasswords>,
  ): void {
    const names = redisSetNames(name);
    new k8s.core.v1.Secret(
      `${name}-auth`,
      {
        metadata: s.apply((v) => objectMeta(v, names.secret)),
        type: "Opaque",
        stringData: pulumi.secret(
          pulumi.all([s, passwords]).apply(([v, p]) => ({
            [AUTH_FILES.usersAcl]: renderUsersAcl(p, "hash", dataNodeUsers(v.streamUser)),
            [AUTH_FILES.replication]: renderReplicationAuth(p),
            [AUTH_FILES.sentinelAuth]: renderSentinelAuth(v.masterName, p),
            ...Object.fromEntries(REDIS_USER_ROLES.map((role) => [passwordKey(role), p[role]])),
          })),
        ),
      },
      { parent: this },
    );
    new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: s.apply((v) => objectMeta(v, names.configMap)),
        data: s.apply((v) => ({
          "redis.conf": clusterRedisConf(v),
          "sentinel.conf": clusterSentinelConf(v),
        })),
      },
      { parent: this },
    );
  }

  /** The service account, Services, StatefulSets, disruption budgets and NetworkPolicy of the set. */
  private workloads(name: string, s: pulumi.Output<RedisSetSettings>): void {
    const names = redisSetNames(name);
    const child = { parent: this };
    // What holds data is protected and kept on delete.
    const keep = { parent: this, protect: true, retainOnDelete: true };
    const meta = (objectName: string, role?: "data" | "sentinel") =>
      s.apply((v) => objectMeta(v, objectName, role && redisLabels(v, role)));

    new k8s.core.v1.ServiceAccount(
      `${name}-account`,
      { metadata: meta(names.serviceAccount), automountServiceAccountToken: false },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-headless`,
      { metadata: meta(names.headlessService, "data"), spec: s.apply((v) => headlessServiceSpec(v, "data")) },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-sentinel-headless`,
      {
        metadata: meta(names.sentinelHeadlessService, "sentinel"),
        spec: s.apply((v) => headlessServiceSpec(v, "sentinel")),
      },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-sentinel-service`,
      { metadata: meta(names.sentinelService, "sentinel"), spec: s.apply(sentinelServiceSpec) },
      child,
    );
    new k8s.apps.v1.StatefulSet(
      `${name}-data`,
      { metadata: meta(names.statefulSet, "data"), spec: s.apply(dataStatefulSetSpec) },
      keep,
    );
    new k8s.apps.v1.StatefulSet(
      `${name}-sentinel`,
      { metadata: meta(names.sentinelStatefulSet, "sentinel"), spec: s.apply(sentinelStatefulSetSpec) },
      keep,
    );
    const budgets = s.apply(disruptionBudgets);
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-data-budget`,
      { metadata: meta(names.dataBudget, "data"), spec: budgets.data },
      child,
    );
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-sentinel-budget`,
      { metadata: meta(names.sentinelBudget, "sentinel"), spec: budgets.sentinel },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-network`,
      { metadata: meta(names.networkPolicy), spec: s.apply(networkPolicySpec) },
      child,
    );
  }
}

/** Metadata of one of the set's objects: its name, the set's namespace, the set's or a role's labels. */
function objectMeta(s: RedisSetSettings, name: string, labels: Record<string, string> = setLabels(s)) {
  return { name, namespace: s.namespace, labels };
}
