// Pure renderers of every Kubernetes object of a LanceDB store: names, the StatefulSet of the
// application (the user's image with its dataset at /app/lancedb_data) and, in the elected modes, the
// election sidecar and readiness gate; Services, the disruption budget, the sidecar's RBAC, and the
// static EFS volume and claim. LanceDbStore wires these into resources; the tests read the same output.
import type * as pulumi from "@pulumi/pulumi";
import type { apps, core, networking, policy, rbac } from "@pulumi/kubernetes/types/input";
import {
  namespacesSelector,
  recommendedLabels,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  selectorLabels,
  spreadPods,
  volumeClaimTemplate,
} from "../shared/k8s";
import { serviceHost } from "../../core/kube";
import {
  ELECTOR_HEALTH_PORT,
  LANCEDB_CLIENT_LABEL,
  LEADER_CONDITION_TYPE,
  LEADER_DIR,
  LEADER_FILE,
  type LanceDbMode,
} from "../../core/lancedb";

/** Where client-node (and every Kubernetes client) looks for the in-cluster credentials. */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Timings of the Lease election, in seconds (client-go's defaults: 15, 10, 2). */
export interface ElectionSeconds {
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
}

/** Settings of one LanceDB store, resolved from the component's args. */
export interface LanceDbSettings {
  /** Base name of the store's objects. */
  name: string;
  namespace: string;
  mode: LanceDbMode;
  /** The application image that embeds LanceDB (the application's sidecar). */
  appImage: pulumi.Input<string>;
  appPort: number;
  /** UID and GID the application runs as (and owns the EFS access point's directory). */
  appUid: number;
  /** Extra environment of the application container. */
  env: Record<string, pulumi.Input<string>>;
  resources: core.v1.ResourceRequirements;
  /** Where the dataset is mounted in the application container (ebs, efs). */
  dataPath: string;
  readinessProbe?: core.v1.Probe;
  livenessProbe?: core.v1.Probe;
  /** Size of the EBS volume; the nominal capacity of the EFS volume. */
  storageSize: string;
  /** StorageClass of the EBS volume (ebs mode). */
  storageClassName: string;
  /** Image with the holdfast CLI: the election sidecar (efs, s3). */
  jobsImage?: pulumi.Input<string>;
  /** `fs-id::fsap-id` of the EFS access point (efs mode). */
  efsVolumeHandle?: pulumi.Input<string>;
  /** The bucket and key prefix the dataset lives under (s3 mode). */
  s3?: { bucket: pulumi.Input<string>; prefix: string; region?: pulumi.Input<string> };
  /** IAM role the pods' service account assumes (IRSA). */
  roleArn?: pulumi.Input<string>;
  election: ElectionSeconds;
  zones: string[];
  strictScheduling: boolean;
  terminationGracePeriodSeconds: number;
  /** Namespaces, besides the store's own, whose labelled pods may connect to the application. */
  allowedNamespaces: string[];
}

/** The names of the store's Kubernetes objects. */
export interface LanceDbNames {
  statefulSet: string;
  /** The Service clients use: it routes only to the pod allowed to write. */
  service: string;
  /** Stable DNS for every pod, ready or not (the StatefulSet's serviceName). */
  headlessService: string;
  serviceAccount: string;
  /** Role and RoleBinding of the election sidecar. */
  electorRole: string;
  /** The coordination.k8s.io Lease the writer is elected through. */
  lease: string;
  budget: string;
  /** ebs: the volumeClaimTemplate (pod N's claim is `data-<statefulSet>-N`). */
  volumeClaimTemplate: string;
  /** efs: the shared claim every pod mounts. */
  sharedClaim: string;
  /** efs: the cluster-scoped PersistentVolume, prefixed by namespace. */
  persistentVolume: string;
}

/** Names derived from the store's base name. */
export function lanceDbNames(name: string, namespace: string): LanceDbNames {
  return {
    statefulSet: name,
    service: name,
    headlessService: `${name}-headless`,
    serviceAccount: name,
    electorRole: `${name}-elector`,
    lease: `${name}-leader`,
    budget: name,
    volumeClaimTemplate: "data",
    sharedClaim: `${name}-data`,
    persistentVolume: `${namespace}-${name}-data`,
  };
}

/** Whether the mode runs a standby and elects the writer through the Lease. */
export function isElected(mode: LanceDbMode): boolean {
  return mode !== "ebs";
}

/** Pods of the StatefulSet: one on EBS (its volume attaches to one node); a leader and a standby otherwise. */
export function replicasFor(mode: LanceDbMode): number {
  return mode === "ebs" ? 1 : 2;
}

/** The pods' names, in ordinal order. */
export function podNames(s: Pick<LanceDbSettings, "name" | "mode">): string[] {
  return Array.from({ length: replicasFor(s.mode) }, (_, i) => `${s.name}-${i}`);
}

/** The PVCs holding the dataset: one per pod on EBS, the shared one on EFS, none on S3. */
export function dataClaimNames(s: Pick<LanceDbSettings, "name" | "namespace" | "mode">): string[] {
  const n = lanceDbNames(s.name, s.namespace);
  if (s.mode === "ebs") return podNames(s).map((pod) => `${n.volumeClaimTemplate}-${pod}`);
  if (s.mode === "efs") return [n.sharedClaim];
  return [];
}

/**
 * The S3 key prefix of the live dataset: `<prefix>/lancedb/live/`, beside (not under) the backups'
 * `<prefix>/lancedb/files/` and `<prefix>/lancedb/snapshots/`, so the two never collide.
 */
export function liveDatasetKey(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, "");
  return `${p ? `${p}/` : ""}lancedb/live/`;
}

/** What the application opens: the mounted path, or the S3 URI of the live dataset. */
export function datasetUri(bucket: string, s: Pick<LanceDbSettings, "mode" | "dataPath" | "s3">): string {
  return s.mode === "s3" ? `s3://${bucket}/${liveDatasetKey(s.s3?.prefix ?? "")}` : s.dataPath;
}

/** Labels of the store's pods and objects. */
export function lanceDbLabels(s: Pick<LanceDbSettings, "name">): Record<string, string> {
  return recommendedLabels(s.name, "lancedb", "store");
}

/** Names the component sets in the application's environment; the user's env may not set them. */
export const RESERVED_ENV = ["LANCEDB_URI", "HOLDFAST_LANCEDB_MODE", "HOLDFAST_LEADER_FILE"];

/** The application container's environment: the user's, then what tells it where the dataset is. */
export function appEnv(s: LanceDbSettings, uri: pulumi.Input<string>): core.v1.EnvVar[] {
  const env: core.v1.EnvVar[] = Object.keys(s.env)
    .sort()
    .map((name) => ({ name, value: s.env[name] }));
  env.push({ name: "LANCEDB_URI", value: uri }, { name: "HOLDFAST_LANCEDB_MODE", value: s.mode });
  if (isElected(s.mode)) env.push({ name: "HOLDFAST_LEADER_FILE", value: LEADER_FILE });
  if (s.mode === "s3" && s.s3?.region) env.push({ name: "AWS_REGION", value: s.s3.region });
  return env;
}

/** The default probes of the application: its port accepts connections. */
export function defaultAppProbes(port: number): { readiness: core.v1.Probe; liveness: core.v1.Probe } {
  return {
    readiness: { tcpSocket: { port }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
    liveness: {
      tcpSocket: { port },
      initialDelaySeconds: 30,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 6,
    },
  };
}

/** The token, CA and namespace every Kubernetes client reads in cluster; mounted only into the sidecar. */
function kubeApiAccessVolume(): core.v1.Volume {
  return {
    name: "kube-api-access",
    projected: {
      defaultMode: 0o444,
      sources: [
        { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
    },
  };
}

/**
 * The election sidecar: a native sidecar (an init container that keeps running), so it starts before
 * the application and is stopped only after the application has exited. That ordering is what makes
 * releasing the lease at SIGTERM safe.
 */
export function electorContainer(s: LanceDbSettings): core.v1.Container {
  const n = lanceDbNames(s.name, s.namespace);
  const e = s.election;
  const probe = (path: string, periodSeconds: number, failureThreshold: number): core.v1.Probe => ({
    httpGet: { path, port: "elector" },
    periodSeconds,
    timeoutSeconds: 1,
    failureThreshold,
  });
  return {
    name: "elector",
    image: s.jobsImage!,
    restartPolicy: "Always",
    command: ["holdfast", "pod", "elect", "lancedb"],
    env: [
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "HOLDFAST_LEASE", value: n.lease },
      { name: "HOLDFAST_CONDITION_TYPE", value: LEADER_CONDITION_TYPE },
      { name: "HOLDFAST_MARKER_FILE", value: LEADER_FILE },
      { name: "HOLDFAST_LEASE_DURATION", value: `${e.leaseDuration}s` },
      { name: "HOLDFAST_RENEW_DEADLINE", value: `${e.renewDeadline}s` },
      { name: "HOLDFAST_RETRY_PERIOD", value: `${e.retryPeriod}s` },
      { name: "HOLDFAST_HEALTH_PORT", value: String(ELECTOR_HEALTH_PORT) },
    ],
    ports: [{ name: "elector", containerPort: ELECTOR_HEALTH_PORT }],
    volumeMounts: [
      { name: "leader", mountPath: LEADER_DIR },
      { name: "kube-api-access", mountPath: SERVICE_ACCOUNT_DIR, readOnly: true },
      { name: "elector-tmp", mountPath: "/tmp" },
    ],
    securityContext: restrictedContainerSecurity(),
    resources: { requests: { cpu: "20m", memory: "96Mi" }, limits: { cpu: "500m", memory: "160Mi" } },
    // The application starts once the sidecar serves (and has cleared any stale marker).
    startupProbe: probe("/healthz", 1, 60),
    // Ready only while this pod leads, by the sidecar's own clock: the pod leaves the Service even
    // when the sidecar cannot reach the API to clear its condition.
    readinessProbe: { ...probe("/leader", 1, 1), successThreshold: 1 },
    livenessProbe: probe("/healthz", 10, 3),
  };
}

/** The StatefulSet spec of the store. */
export function statefulSetSpec(s: LanceDbSettings, uri: pulumi.Input<string>): apps.v1.StatefulSetSpec {
  const n = lanceDbNames(s.name, s.namespace);
  const labels = lanceDbLabels(s);
  const selector = selectorLabels(labels);
  const elected = isElected(s.mode);
  const probes = defaultAppProbes(s.appPort);

  const volumes: core.v1.Volume[] = [{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }];
  const mounts: core.v1.VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
  if (s.mode === "ebs") mounts.push({ name: n.volumeClaimTemplate, mountPath: s.dataPath });
  if (s.mode === "efs") {
    volumes.push({ name: "data", persistentVolumeClaim: { claimName: n.sharedClaim } });
    mounts.push({ name: "data", mountPath: s.dataPath });
  }
  // s3: nothing is mounted at the data path, and the root filesystem is read-only, so an application
  // that ignores LANCEDB_URI fails loudly instead of writing a dataset that vanishes with the pod.
  if (elected) {
    volumes.push(
      { name: "leader", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
      { name: "elector-tmp", emptyDir: { sizeLimit: "64Mi" } },
      kubeApiAccessVolume(),
    );
    mounts.push({ name: "leader", mountPath: LEADER_DIR, readOnly: true });
  }

  return {
    serviceName: n.headlessService,
    replicas: replicasFor(s.mode),
    // The pods do not wait for each other: a standby is never Ready, and must not hold back the leader.
    podManagementPolicy: "Parallel",
    // A standby never becomes Ready, so a rolling update would stall after the first pod. In the
    // elected modes an update is rolled by deleting the standby, then the leader (docs/architecture.md).
    updateStrategy: elected ? { type: "OnDelete" } : { type: "RollingUpdate" },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    selector: { matchLabels: selector },
    template: {
      metadata: { labels },
      spec: {
        serviceAccountName: n.serviceAccount,
        // Only the sidecar gets API credentials (kube-api-access); the application gets none.
        automountServiceAccountToken: false,
        securityContext: restrictedPodSecurity(s.appUid),
        terminationGracePeriodSeconds: s.terminationGracePeriodSeconds,
        ...(elected ? { readinessGates: [{ conditionType: LEADER_CONDITION_TYPE }] } : {}),
        ...spreadPods(selector, { zones: s.zones, strict: s.strictScheduling }),
        ...(elected ? { initContainers: [electorContainer(s)] } : {}),
        containers: [
          {
            name: "app",
            image: s.appImage,
            ports: [{ name: "http", containerPort: s.appPort }],
            env: appEnv(s, uri),
            volumeMounts: mounts,
            securityContext: restrictedContainerSecurity(),
            resources: s.resources,
            readinessProbe: s.readinessProbe ?? probes.readiness,
            livenessProbe: s.livenessProbe ?? probes.liveness,
          },
        ],
        volumes,
      },
    },
    ...(s.mode === "ebs"
      ? {
          volumeClaimTemplates: [
            volumeClaimTemplate(n.volumeClaimTemplate, labels, s.storageClassName, s.storageSize),
          ],
        }
      : {}),
  };
}

/** The Service clients use. Only Ready pods are endpoints: in the elected modes, only the leader. */
export function serviceSpec(s: LanceDbSettings): core.v1.ServiceSpec {
  return {
    type: "ClusterIP",
    selector: selectorLabels(lanceDbLabels(s)),
    ports: [{ name: "http", port: s.appPort, targetPort: "http" }],
  };
}

/** The headless Service: stable DNS for every pod, ready or not (the StatefulSet's serviceName). */
export function headlessServiceSpec(s: LanceDbSettings): core.v1.ServiceSpec {
  return {
    clusterIP: "None",
    publishNotReadyAddresses: true,
    selector: selectorLabels(lanceDbLabels(s)),
    ports: [{ name: "http", port: s.appPort, targetPort: "http" }],
  };
}

/**
 * The application's port takes connections only from pods labelled LANCEDB_CLIENT_LABEL in the store's
 * namespace and the allowed ones. The election sidecar's port is for the kubelet's probes alone.
 */
export function networkPolicySpec(s: LanceDbSettings): networking.v1.NetworkPolicySpec {
  return {
    podSelector: { matchLabels: selectorLabels(lanceDbLabels(s)) },
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [
          {
            namespaceSelector: namespacesSelector(s.namespace, s.allowedNamespaces),
            podSelector: { matchLabels: { [LANCEDB_CLIENT_LABEL]: "true" } },
          },
        ],
        ports: [{ protocol: "TCP", port: s.appPort }],
      },
    ],
  };
}

/** `host:port` of the Service. */
export function serviceEndpoint(s: LanceDbSettings): string {
  return `${serviceHost(lanceDbNames(s.name, s.namespace).service, s.namespace)}:${s.appPort}`;
}

/**
 * Voluntary disruptions take at most one pod. A pod that is not Ready (the standby) may always be
 * evicted; the leader then only by a deliberate delete (a planned failover), never by a drain alone.
 */
export function disruptionBudgetSpec(s: LanceDbSettings): policy.v1.PodDisruptionBudgetSpec {
  return {
    maxUnavailable: 1,
    unhealthyPodEvictionPolicy: "AlwaysAllow",
    selector: { matchLabels: selectorLabels(lanceDbLabels(s)) },
  };
}

/** What the election sidecar may do: its Lease, and the leader condition of the store's own pods. */
export function electorRoleRules(s: LanceDbSettings): rbac.v1.PolicyRule[] {
  const n = lanceDbNames(s.name, s.namespace);
  return [
    // `create` cannot be limited by name (the name is in the body); get and update can.
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: [n.lease],
      verbs: ["get", "update"],
    },
    { apiGroups: [""], resources: ["pods/status"], resourceNames: podNames(s), verbs: ["patch"] },
  ];
}

/** The EFS access point as a static PersistentVolume on the EFS CSI driver, reclaimed with Retain. */
export function efsPersistentVolumeSpec(s: LanceDbSettings): core.v1.PersistentVolumeSpec {
  const n = lanceDbNames(s.name, s.namespace);
  return {
    capacity: { storage: s.storageSize },
    accessModes: ["ReadWriteMany"],
    persistentVolumeReclaimPolicy: "Retain",
    // Static provisioning: no class, and reserved for the store's claim so nothing else binds it.
    storageClassName: "",
    volumeMode: "Filesystem",
    claimRef: { namespace: s.namespace, name: n.sharedClaim },
    csi: {
      driver: "efs.csi.aws.com",
      volumeHandle: s.efsVolumeHandle!,
      volumeAttributes: { encryptInTransit: "true" },
    },
  };
}

/** The claim bound to the EFS PersistentVolume, shared by every pod of the store. */
export function efsClaimSpec(s: LanceDbSettings): core.v1.PersistentVolumeClaimSpec {
  return {
    accessModes: ["ReadWriteMany"],
    storageClassName: "",
    volumeName: lanceDbNames(s.name, s.namespace).persistentVolume,
    resources: { requests: { storage: s.storageSize } },
  };
}
