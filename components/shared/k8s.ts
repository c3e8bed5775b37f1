// Kubernetes building blocks every Holdfast workload shares: recommended labels, the restricted pod
// security profile, zone spread and anti-affinity, environment variables, the namespaces a policy admits
// and the claim of a data volume. Pure functions; components pass their output to resources unchanged.
import type * as pulumi from "@pulumi/pulumi";
import type { core, meta, storage } from "@pulumi/kubernetes/types/input";
import type { JobEnv } from "./job-env";

/** The Kubernetes recommended labels of one Holdfast workload. */
export function recommendedLabels(instance: string, name: string, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/instance": instance,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/part-of": "holdfast",
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

/** The subset of recommended labels that selects a workload's pods (stable across releases). */
export function selectorLabels(labels: Record<string, string>): Record<string, string> {
  return {
    "app.kubernetes.io/name": labels["app.kubernetes.io/name"],
    "app.kubernetes.io/instance": labels["app.kubernetes.io/instance"],
    "app.kubernetes.io/component": labels["app.kubernetes.io/component"],
  };
}

/**
 * The pod-level half of the Pod Security Standards' restricted profile.
 * @param uid the user and group the containers run as (the image's unprivileged user).
 */
export function restrictedPodSecurity(uid: number): core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** The container-level half of the restricted profile, with a read-only root filesystem. */
export function restrictedContainerSecurity(): core.v1.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** How strictly a set's pods are kept apart. */
export interface SpreadOptions {
  /** Zones the pods may run in (topology.kubernetes.io/zone values). */
  zones: string[];
  /** Required separation (one pod per node, even zone spread) instead of preferred. */
  strict: boolean;
}

/**
 * Spreads pods matching `selector` evenly over zones and nodes, keeps them on the configured zones, and
 * keeps two of them off one node: required when `strict`, preferred otherwise.
 */
export function spreadPods(
  selector: Record<string, string>,
  o: SpreadOptions,
): Pick<core.v1.PodSpec, "affinity" | "topologySpreadConstraints"> {
  const whenUnsatisfiable = o.strict ? "DoNotSchedule" : "ScheduleAnyway";
  const term = { labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" };
  return {
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable,
        labelSelector: { matchLabels: selector },
      },
      {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable,
        labelSelector: { matchLabels: selector },
      },
    ],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: o.zones }] },
          ],
        },
      },
      podAntiAffinity: o.strict
        ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
        : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
    },
  };
}

/** An environment variable read from a key of a Secret. */
export function secretEnv(name: string, secretName: pulumi.Input<string>, key: string): core.v1.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}

/** A holdfast container's environment (./job-env.ts) as Kubernetes spells it. */
export function containerEnv(env: JobEnv[]): core.v1.EnvVar[] {
  return env.map((e) =>
    e.secret ? secretEnv(e.name, e.secret.name, e.secret.key) : { name: e.name, value: e.value },
  );
}

/** The POD_NAME variable, from the downward API. */
export const podNameEnv: core.v1.EnvVar = {
  name: "POD_NAME",
  valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
};

/** A StorageClass for data volumes: encrypted gp3 on the EBS CSI driver, expandable, reclaim Retain. */
export function retainStorageClass(): storage.v1.StorageClass {
  return {
    provisioner: "ebs.csi.aws.com",
    parameters: { type: "gp3", encrypted: "true" },
    reclaimPolicy: "Retain",
    allowVolumeExpansion: true,
    volumeBindingMode: "WaitForFirstConsumer",
  };
}

/**
 * Selects a namespace and the named others (a NetworkPolicy peer's namespaceSelector).
 * @param own the workload's own namespace, always first.
 * @param others further namespaces; `own` among them is not repeated.
 */
export function namespacesSelector(own: string, others: string[]): meta.v1.LabelSelector {
  return {
    matchExpressions: [
      {
        key: "kubernetes.io/metadata.name",
        operator: "In",
        values: [own, ...others.filter((ns) => ns !== own)],
      },
    ],
  };
}

/** The claim template of a data volume: ReadWriteOnce, of `storageClassName`, `size` big. */
export function volumeClaimTemplate(
  name: string,
  labels: Record<string, string>,
  storageClassName: string,
  size: string,
): core.v1.PersistentVolumeClaim {
  return {
    metadata: { name, labels },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName,
      resources: { requests: { storage: size } },
    },
  };
}
