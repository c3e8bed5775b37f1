// Pure renderers of every Kubernetes object of a Sentinel-replicated Redis set: names, the files in the
// ConfigMap, the StatefulSets with their init logic and hand-over hook, services, budgets and the
// network policy. SentinelRedis wires these into resources; the tests read the same output.
import { engineBinaries, type EngineKind } from "../../core/engines";
import { redisUserEnv, sentinelEnv, sentinelUserEnv } from "../shared/job-env";
import { serviceHost } from "../../core/kube";
import { quantityToBytes } from "../../core/quantity";
import {
  METRICS_PORT,
  PATHS,
  REDIS_CLIENT_LABEL,
  REDIS_PORT,
  REDIS_UID,
  redisSetNames,
  SENTINEL_PORT,
} from "../../core/redis-set";
import type * as pulumi from "@pulumi/pulumi";
import type { apps, core, networking, policy } from "@pulumi/kubernetes/types/input";
import {
  containerEnv,
  namespacesSelector,
  podNameEnv,
  recommendedLabels,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  secretEnv,
  selectorLabels,
  spreadPods,
  volumeClaimTemplate,
} from "../shared/k8s";
import { dataNodeUsers, usersDigest } from "./acl";
import { busyReplyThresholdFor, maxmemoryFor, renderRedisConf, renderSentinelConf } from "./conf";

/** Settings of one Redis set, resolved from stack config. */
export interface RedisSetSettings {
  /** Base name of the set's objects (StatefulSet `name`, sentinels `name-sentinel`). */
  name: string;
  namespace: string;
  /** Image of the data and sentinel containers. */
  redisImage: pulumi.Input<string>;
  /** The engine redisImage runs (its binary names). */
  engine: EngineKind;
  /** Image with the holdfast CLI: start-up role logic, AOF repair, hand-over. */
  jobsImage: pulumi.Input<string>;
  /** Name the sentinels monitor the primary under. */
  masterName: string;
  /** Data pods: one primary, the rest replicas. */
  replicas: number;
  sentinels: number;
  quorum: number;
  downAfterMilliseconds: number;
  failoverTimeoutMilliseconds: number;
  minReplicasToWrite: number;
  minReplicasMaxLag: number;
  /** Replication backlog of each data node, a memory quantity (see replBacklogProblem). */
  replBacklogSize: string;
  /** StorageClass of the data volumes (its reclaim policy must be Retain). */
  storageClassName: string;
  storageSize: string;
  cpuRequest: string;
  cpuLimit: string;
  memoryLimit: string;
  sentinelMemoryLimit: string;
  /** Size of each sentinel's state volume. */
  sentinelStorageSize: string;
  zones: string[];
  strictScheduling: boolean;
  /** Namespaces, besides the set's own, whose pods may connect. */
  allowedNamespaces: string[];
  /** Image of the redis_exporter sidecars. */
  exporterImage: pulumi.Input<string>;
  /** Namespaces whose pods (Prometheus) may scrape the exporters. */
  monitoringNamespaces: string[];
  /** Seconds a terminating primary waits for the sentinels to promote a replica. */
  handoverTimeoutSeconds: number;
  /** The data nodes have the `stream` user (a continuous-protection stream joins the set). */
  streamUser: boolean;
}

/** The annotation of the data pods that names their ACL users' digest (see usersDigest). */
export const USERS_ANNOTATION = "holdfast.dev/acl-users";

/** Stable DNS name of data pod `ordinal`. */
export function dataPodHost(s: RedisSetSettings, ordinal: number): string {
  const n = redisSetNames(s.name);
  return serviceHost(`${n.statefulSet}-${ordinal}.${n.headlessService}`, s.namespace);
}

/** Stable DNS name of sentinel pod `ordinal`. */
export function sentinelPodHost(s: RedisSetSettings, ordinal: number): string {
  const n = redisSetNames(s.name);
  return serviceHost(`${n.sentinelStatefulSet}-${ordinal}.${n.sentinelHeadlessService}`, s.namespace);
}

/** `host:port` of every sentinel, comma-separated, as the holdfast CLI takes them. */
export function sentinelAddresses(s: RedisSetSettings): string {
  return Array.from({ length: s.sentinels }, (_, i) => `${sentinelPodHost(s, i)}:${SENTINEL_PORT}`).join(",");
}

/** `host:port` of every data pod, comma-separated. */
export function dataAddresses(s: RedisSetSettings): string {
  return Array.from({ length: s.replicas }, (_, i) => `${dataPodHost(s, i)}:${REDIS_PORT}`).join(",");
}

/** The PVC names of the data pods. */
export function dataClaimNames(s: RedisSetSettings): string[] {
  const n = redisSetNames(s.name);
  return Array.from({ length: s.replicas }, (_, i) => `${n.volumeClaim}-${n.statefulSet}-${i}`);
}

/** Files of the Secret a data node reads, as mounted under PATHS.auth. */
export const AUTH_FILES = {
  usersAcl: "users.acl",
  replication: "replication.conf",
  sentinelAuth: "sentinel-auth.conf",
};

/** The redis.conf of the ConfigMap: exactly what a data pod loads, plus the role lines its init writes. */
export function clusterRedisConf(s: RedisSetSettings): string {
  return renderRedisConf({
    port: REDIS_PORT,
    bind: "* -::*",
    dataDir: PATHS.data,
    aclFile: `${PATHS.auth}/${AUTH_FILES.usersAcl}`,
    includes: [`${PATHS.auth}/${AUTH_FILES.replication}`, `${PATHS.run}/role.conf`],
    maxmemoryBytes: maxmemoryFor(s.memoryLimit),
    minReplicasToWrite: s.minReplicasToWrite,
    minReplicasMaxLag: s.minReplicasMaxLag,
    busyReplyThresholdMs: busyReplyThresholdFor(s.downAfterMilliseconds),
    replBacklogBytes: quantityToBytes(s.replBacklogSize),
  });
}

/** The sentinel.conf of the ConfigMap; the sentinel's init points the monitor line at the current primary. */
export function clusterSentinelConf(s: RedisSetSettings): string {
  return renderSentinelConf({
    port: SENTINEL_PORT,
    bind: "* -::*",
    masterName: s.masterName,
    bootstrapPrimaryHost: dataPodHost(s, 0),
    primaryPort: REDIS_PORT,
    quorum: s.quorum,
    downAfterMilliseconds: s.downAfterMilliseconds,
    failoverTimeoutMilliseconds: s.failoverTimeoutMilliseconds,
    dir: PATHS.run,
  });
}

/** Labels of the data pods and of the sentinel pods. */
export function redisLabels(s: RedisSetSettings, component: "data" | "sentinel"): Record<string, string> {
  return recommendedLabels(s.name, "redis", component);
}

/** Labels every object of the set carries. */
export function setLabels(s: RedisSetSettings): Record<string, string> {
  return recommendedLabels(s.name, "redis", "set");
}

/**
 * The probes of an engine's pods, run with its own cli (redis-cli, valkey-cli; both read REDISCLI_AUTH):
 * - data readiness: a primary, or a replica whose link to its primary is up (a replica still syncing
 *   does not count toward the disruption budget), as the probe user;
 * - data liveness: it answers PING, or is busy loading its dataset (not a reason to restart it);
 * - sentinel readiness and liveness: it answers PING as the discovery user.
 */
export function engineProbes(engine: EngineKind): {
  data: string[];
  dataLiveness: string[];
  sentinel: string[];
} {
  const cli = engineBinaries(engine).cli;
  return {
    data: [
      "sh",
      "-c",
      `out=$(${cli} --no-auth-warning --user probe -h 127.0.0.1 -p ${REDIS_PORT} INFO replication) || exit 1; ` +
        'case "$out" in *role:master*|*master_link_status:up*) exit 0;; esac; echo "replica not in sync"; exit 1',
    ],
    dataLiveness: [
      "sh",
      "-c",
      `r=$(${cli} --no-auth-warning --user probe -h 127.0.0.1 -p ${REDIS_PORT} PING) || exit 1; ` +
        'case "$r" in PONG|LOADING*) exit 0;; esac; echo "$r"; exit 1',
    ],
    sentinel: [
      "sh",
      "-c",
      `r=$(${cli} --no-auth-warning --user discovery -h 127.0.0.1 -p ${SENTINEL_PORT} PING) || exit 1; ` +
        '[ "$r" = PONG ] || { echo "$r"; exit 1; }',
    ],
  };
}

/** The Redis engine's probes (see engineProbes). */
export const DATA_READINESS = engineProbes("redis").data;
export const DATA_LIVENESS = engineProbes("redis").dataLiveness;
export const SENTINEL_PROBE = engineProbes("redis").sentinel;

/**
 * The redis container's preStop: it waits until the holdfast sidecar's hand-over has finished (the
 * marker file), so a primary keeps serving until a replica has taken over.
 */
export function waitForHandover(timeoutSeconds: number): string[] {
  return [
    "sh",
    "-c",
    `i=0; while [ ! -e ${PATHS.run}/handover.done ] && [ $i -lt ${timeoutSeconds} ]; do sleep 1; i=$((i+1)); done`,
  ];
}

const runVolumes: core.v1.Volume[] = [
  { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
  { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
];

/** The redis_exporter sidecar of a data pod or a sentinel, reading its node as the exporter user. */
export function exporterContainer(s: RedisSetSettings, port: number): core.v1.Container {
  return {
    name: "exporter",
    image: s.exporterImage,
    env: [
      { name: "REDIS_ADDR", value: `redis://127.0.0.1:${port}` },
      { name: "REDIS_USER", value: "exporter" },
      secretEnv("REDIS_PASSWORD", redisSetNames(s.name).secret, "exporter-password"),
      { name: "REDIS_EXPORTER_WEB_LISTEN_ADDRESS", value: `:${METRICS_PORT}` },
    ],
    ports: [{ name: "metrics", containerPort: METRICS_PORT }],
    // A broken exporter is restarted on its own; it never makes the Redis pod unready.
    livenessProbe: { httpGet: { path: "/health", port: "metrics" }, periodSeconds: 30, failureThreshold: 3 },
    securityContext: restrictedContainerSecurity(),
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
  };
}

/** A holdfast container of the set's pods (init or sidecar): the jobs image, restricted, small. */
function holdfastContainer(
  s: RedisSetSettings,
  c: { name: string; command: string[]; env: core.v1.EnvVar[]; volumeMounts: core.v1.VolumeMount[] },
): core.v1.Container {
  return {
    name: c.name,
    image: s.jobsImage,
    command: c.command,
    env: c.env,
    volumeMounts: c.volumeMounts,
    securityContext: restrictedContainerSecurity(),
    resources: { requests: { cpu: "20m", memory: "96Mi" }, limits: { cpu: "500m", memory: "160Mi" } },
  };
}

/**
 * Environment every holdfast container of a data pod shares: who it is, where the sentinels are, and
 * its data directory.
 */
function dataPodEnv(s: RedisSetSettings): core.v1.EnvVar[] {
  const n = redisSetNames(s.name);
  return [
    podNameEnv,
    { name: "HOLDFAST_ANNOUNCE_HOST", value: serviceHost(`$(POD_NAME).${n.headlessService}`, s.namespace) },
    { name: "HOLDFAST_PORT", value: String(REDIS_PORT) },
    ...containerEnv(sentinelEnv(sentinelAddresses(s), s.masterName)),
    { name: "HOLDFAST_RUN_DIR", value: PATHS.run },
    { name: "HOLDFAST_DATA_DIR", value: PATHS.data },
  ];
}

/**
 * Where the set's containers mount their volumes: a data pod's claim, a sentinel's state, config, auth
 * files, run and tmp.
 */
function podMounts(s: RedisSetSettings) {
  return {
    data: { name: redisSetNames(s.name).volumeClaim, mountPath: PATHS.data },
    // A sentinel's own config file, which it rewrites as it learns the set (current primary, replicas,
    // peers, epochs): kept on a small volume so a sentinel restarted while the data pods are down too
    // still knows which pod was primary.
    state: { name: redisSetNames(s.name).sentinelStateClaim, mountPath: PATHS.data },
    config: { name: "config", mountPath: PATHS.config, readOnly: true },
    auth: { name: "auth", mountPath: PATHS.auth, readOnly: true },
    run: { name: "run", mountPath: PATHS.run },
    tmp: { name: "tmp", mountPath: PATHS.tmp },
  };
}

/**
 * The data pod's init container: `holdfast pod init redis` decides the node's role (asking the sentinels
 * as the discovery user) and writes the redis.conf the redis container loads.
 */
function dataInitContainer(s: RedisSetSettings): core.v1.Container {
  const n = redisSetNames(s.name);
  const mounts = podMounts(s);
  return holdfastContainer(s, {
    name: "init",
    command: ["holdfast", "pod", "init", "redis"],
    env: [
      ...dataPodEnv(s),
      { name: "HOLDFAST_CONFIG", value: `${PATHS.config}/redis.conf` },
      ...containerEnv(sentinelUserEnv(n.secret)),
    ],
    volumeMounts: [mounts.data, mounts.config, mounts.run, mounts.tmp],
  });
}

/** The redis container of a data pod: the server, its probes, and a preStop that waits for the hand-over. */
function redisContainer(s: RedisSetSettings): core.v1.Container {
  const n = redisSetNames(s.name);
  const mounts = podMounts(s);
  return {
    name: "redis",
    image: s.redisImage,
    command: [engineBinaries(s.engine).server, `${PATHS.run}/redis.conf`],
    ports: [{ name: "redis", containerPort: REDIS_PORT }],
    env: [secretEnv("REDISCLI_AUTH", n.secret, "probe-password")],
    volumeMounts: [mounts.data, mounts.auth, mounts.run, mounts.tmp],
    securityContext: restrictedContainerSecurity(),
    resources: {
      requests: { cpu: s.cpuRequest, memory: s.memoryLimit },
      limits: { cpu: s.cpuLimit, memory: s.memoryLimit },
    },
    readinessProbe: {
      exec: { command: engineProbes(s.engine).data },
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 2,
    },
    livenessProbe: {
      exec: { command: engineProbes(s.engine).dataLiveness },
      initialDelaySeconds: 30,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 6,
    },
    lifecycle: { preStop: { exec: { command: waitForHandover(s.handoverTimeoutSeconds) } } },
  };
}

/**
 * The holdfast sidecar of a data pod. It records the node's role as it changes, and runs the hand-over at
 * termination: pause writes, let the sentinels promote a caught-up replica, then follow it. The redis
 * container's preStop waits for it.
 */
function dataAgentContainer(s: RedisSetSettings): core.v1.Container {
  const n = redisSetNames(s.name);
  const mounts = podMounts(s);
  return {
    ...holdfastContainer(s, {
      name: "holdfast",
      command: ["holdfast", "pod", "agent", "redis"],
      env: [
        ...dataPodEnv(s),
        { name: "HOLDFAST_TIMEOUT", value: `${s.handoverTimeoutSeconds}s` },
        ...containerEnv([...redisUserEnv(n.secret, "admin"), ...sentinelUserEnv(n.secret, "sentinel")]),
      ],
      volumeMounts: [mounts.data, mounts.run, mounts.tmp],
    }),
    lifecycle: { preStop: { exec: { command: ["holdfast", "pod", "handover", "redis"] } } },
  };
}

/** The volumes of a data pod: redis.conf from the ConfigMap, the ACL and replication files, run and tmp. */
function dataPodVolumes(s: RedisSetSettings): core.v1.Volume[] {
  const n = redisSetNames(s.name);
  return [
    {
      name: "config",
      configMap: { name: n.configMap, items: [{ key: "redis.conf", path: "redis.conf" }] },
    },
    {
      name: "auth",
      secret: {
        secretName: n.secret,
        defaultMode: 0o440,
        items: [
          { key: AUTH_FILES.usersAcl, path: AUTH_FILES.usersAcl },
          { key: AUTH_FILES.replication, path: AUTH_FILES.replication },
        ],
      },
    },
    ...runVolumes,
  ];
}

/** The data pods' StatefulSet spec: an init container, redis, the holdfast sidecar and an exporter per pod. */
export function dataStatefulSetSpec(s: RedisSetSettings): apps.v1.StatefulSetSpec {
  const n = redisSetNames(s.name);
  const labels = redisLabels(s, "data");
  const selector = selectorLabels(labels);
  return {
    serviceName: n.headlessService,
    replicas: s.replicas,
    // Parallel: a pod waiting for the sentinels (see `holdfast pod init redis`) must not hold back the others.
    podManagementPolicy: "Parallel",
    updateStrategy: { type: "RollingUpdate" },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    selector: { matchLabels: selector },
    template: {
      metadata: { labels, annotations: { [USERS_ANNOTATION]: usersDigest(dataNodeUsers(s.streamUser)) } },
      spec: {
        serviceAccountName: n.serviceAccount,
        automountServiceAccountToken: false,
        securityContext: restrictedPodSecurity(REDIS_UID),
        terminationGracePeriodSeconds: s.handoverTimeoutSeconds + 30,
        ...spreadPods(selector, { zones: s.zones, strict: s.strictScheduling }),
        initContainers: [dataInitContainer(s)],
        containers: [redisContainer(s), dataAgentContainer(s), exporterContainer(s, REDIS_PORT)],
        volumes: dataPodVolumes(s),
      },
    },
    volumeClaimTemplates: [volumeClaimTemplate(n.volumeClaim, labels, s.storageClassName, s.storageSize)],
  };
}

/**
 * The sentinel's init container: `holdfast pod init sentinel` finds the current primary (from the peer
 * sentinels, else the data nodes, else what the state volume's file knew) and writes the sentinel.conf
 * the sentinel runs.
 */
function sentinelInitContainer(s: RedisSetSettings): core.v1.Container {
  const n = redisSetNames(s.name);
  const mounts = podMounts(s);
  return holdfastContainer(s, {
    name: "init",
    command: ["holdfast", "pod", "init", "sentinel"],
    env: [
      podNameEnv,
      {
        name: "HOLDFAST_ANNOUNCE_HOST",
        value: serviceHost(`$(POD_NAME).${n.sentinelHeadlessService}`, s.namespace),
      },
      { name: "HOLDFAST_PORT", value: String(SENTINEL_PORT) },
      { name: "HOLDFAST_SENTINEL", value: sentinelAddresses(s) },
      { name: "HOLDFAST_REDIS_NODES", value: dataAddresses(s) },
      { name: "HOLDFAST_MASTER_NAME", value: s.masterName },
      { name: "HOLDFAST_CONFIG", value: `${PATHS.config}/sentinel.conf` },
      { name: "HOLDFAST_AUTH", value: `${PATHS.auth}/${AUTH_FILES.sentinelAuth}` },
      { name: "HOLDFAST_STATE_DIR", value: PATHS.data },
      ...containerEnv([...sentinelUserEnv(n.secret, "sentinel"), ...redisUserEnv(n.secret, "sentinel")]),
    ],
    volumeMounts: [mounts.config, mounts.auth, mounts.state, mounts.tmp],
  });
}

/** The sentinels' StatefulSet spec. Sentinels keep no data: their view is rebuilt by init from peers. */
export function sentinelStatefulSetSpec(s: RedisSetSettings): apps.v1.StatefulSetSpec {
  const n = redisSetNames(s.name);
  const labels = redisLabels(s, "sentinel");
  const selector = selectorLabels(labels);
  const mounts = podMounts(s);
  return {
    serviceName: n.sentinelHeadlessService,
    replicas: s.sentinels,
    podManagementPolicy: "Parallel",
    updateStrategy: { type: "RollingUpdate" },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    selector: { matchLabels: selector },
    template: {
      metadata: { labels },
      spec: {
        serviceAccountName: n.serviceAccount,
        automountServiceAccountToken: false,
        securityContext: restrictedPodSecurity(REDIS_UID),
        terminationGracePeriodSeconds: 30,
        ...spreadPods(selector, { zones: s.zones, strict: s.strictScheduling }),
        initContainers: [sentinelInitContainer(s)],
        containers: [
          {
            name: "sentinel",
            image: s.redisImage,
            command: [engineBinaries(s.engine).server, `${PATHS.data}/sentinel.conf`, "--sentinel"],
            ports: [{ name: "sentinel", containerPort: SENTINEL_PORT }],
            env: [secretEnv("REDISCLI_AUTH", n.secret, "discovery-password")],
            volumeMounts: [mounts.state, mounts.run, mounts.tmp],
            securityContext: restrictedContainerSecurity(),
            resources: {
              requests: { cpu: "20m", memory: s.sentinelMemoryLimit },
              limits: { cpu: "250m", memory: s.sentinelMemoryLimit },
            },
            readinessProbe: {
              exec: { command: engineProbes(s.engine).sentinel },
              periodSeconds: 5,
              timeoutSeconds: 3,
            },
            livenessProbe: {
              exec: { command: engineProbes(s.engine).sentinel },
              initialDelaySeconds: 15,
              periodSeconds: 10,
              timeoutSeconds: 5,
              failureThreshold: 6,
            },
          },
          exporterContainer(s, SENTINEL_PORT),
        ],
        volumes: [
          {
            name: "config",
            configMap: { name: n.configMap, items: [{ key: "sentinel.conf", path: "sentinel.conf" }] },
          },
          {
            name: "auth",
            secret: {
              secretName: n.secret,
              defaultMode: 0o440,
              items: [{ key: AUTH_FILES.sentinelAuth, path: AUTH_FILES.sentinelAuth }],
            },
          },
          ...runVolumes,
        ],
      },
    },
    volumeClaimTemplates: [
      volumeClaimTemplate(n.sentinelStateClaim, labels, s.storageClassName, s.sentinelStorageSize),
    ],
  };
}

/** The headless services that give every pod a stable DNS name, ready or not. */
export function headlessServiceSpec(
  s: RedisSetSettings,
  component: "data" | "sentinel",
): core.v1.ServiceSpec {
  const port = component === "data" ? REDIS_PORT : SENTINEL_PORT;
  return {
    clusterIP: "None",
    // Replicas and sentinels must resolve a pod before it is ready: that is how they find each other.
    publishNotReadyAddresses: true,
    selector: selectorLabels(redisLabels(s, component)),
    ports: [{ name: component === "data" ? "redis" : "sentinel", port, targetPort: port }],
  };
}

/** The service clients connect to: any ready sentinel, which names the current primary. */
export function sentinelServiceSpec(s: RedisSetSettings): core.v1.ServiceSpec {
  return {
    type: "ClusterIP",
    selector: selectorLabels(redisLabels(s, "sentinel")),
    ports: [{ name: "sentinel", port: SENTINEL_PORT, targetPort: SENTINEL_PORT }],
  };
}

/** Voluntary disruptions take at most one data pod, and never the sentinels' majority. */
export function disruptionBudgets(s: RedisSetSettings): {
  data: policy.v1.PodDisruptionBudgetSpec;
  sentinel: policy.v1.PodDisruptionBudgetSpec;
} {
  const majority = Math.floor(s.sentinels / 2) + 1;
  return {
    data: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(redisLabels(s, "data")) } },
    sentinel: {
      maxUnavailable: s.sentinels - majority,
      selector: { matchLabels: selectorLabels(redisLabels(s, "sentinel")) },
    },
  };
}

/**
 * Redis and the sentinels take connections from the set's own pods (replication, the sentinels) and from
 * pods labelled REDIS_CLIENT_LABEL in the set's namespace and the named namespaces, nothing else; only
 * the monitoring namespaces (and the set's own) may scrape the exporters.
 */
export function networkPolicySpec(s: RedisSetSettings): networking.v1.NetworkPolicySpec {
  const setPods = {
    matchLabels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": s.name },
  };
  return {
    podSelector: setPods,
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [
          { podSelector: setPods },
          {
            namespaceSelector: namespacesSelector(s.namespace, s.allowedNamespaces),
            podSelector: { matchLabels: { [REDIS_CLIENT_LABEL]: "true" } },
          },
        ],
        ports: [
          { protocol: "TCP", port: REDIS_PORT },
          { protocol: "TCP", port: SENTINEL_PORT },
        ],
      },
      {
        from: [{ namespaceSelector: namespacesSelector(s.namespace, s.monitoringNamespaces) }],
        ports: [{ protocol: "TCP", port: METRICS_PORT }],
      },
    ],
  };
}
