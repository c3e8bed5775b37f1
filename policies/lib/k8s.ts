// Kubernetes objects as policies read them from Pulumi resource properties: which types carry a pod
// template, where it is, its containers, volumes and claim templates. Values are read through the
// runtime's proxy, so a value unknown during preview throws where a policy actually needs it.
import { Props, asArray, asNumber, asRecord, asString, at, stringMap, strings, tryKnown } from "./props";

/** Type tokens of the Kubernetes objects that carry a pod spec. */
const WORKLOAD_TYPES: Record<string, (props: Props) => unknown> = {
  "kubernetes:core/v1:Pod": (p) => at(p, "spec"),
  "kubernetes:apps/v1:Deployment": (p) => at(p, "spec", "template", "spec"),
  "kubernetes:apps/v1:StatefulSet": (p) => at(p, "spec", "template", "spec"),
  "kubernetes:apps/v1:DaemonSet": (p) => at(p, "spec", "template", "spec"),
  "kubernetes:apps/v1:ReplicaSet": (p) => at(p, "spec", "template", "spec"),
  "kubernetes:batch/v1:Job": (p) => at(p, "spec", "template", "spec"),
  "kubernetes:batch/v1:CronJob": (p) => at(p, "spec", "jobTemplate", "spec", "template", "spec"),
};

export const STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";
export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
export const CRON_JOB = "kubernetes:batch/v1:CronJob";
export const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
export const SECRET = "kubernetes:core/v1:Secret";
export const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
export const PV = "kubernetes:core/v1:PersistentVolume";
export const STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass";

/** True for types whose objects run pods (and so have containers and volumes). */
export function isWorkloadType(type: string): boolean {
  return type in WORKLOAD_TYPES;
}

/** The pod spec of a workload's properties; undefined for other types. */
export function podSpec(type: string, props: Props): Record<string, unknown> | undefined {
  const read = WORKLOAD_TYPES[type];
  return read ? asRecord(read(props)) : undefined;
}

/** A volume mount of a container. */
export interface Mount {
  name: string;
  mountPath: string;
}

/** A container of a pod spec, with the fields the policies read eagerly. */
export interface Container {
  /** The container's name, and whether it is an init container. */
  name: string;
  init: boolean;
  /** The raw container object, for fields read lazily (image may be unknown during preview). */
  raw: Record<string, unknown>;
  command: string[];
  args: string[];
  mounts: Mount[];
}

/** Every container of a pod spec: init containers (native sidecars included) first. */
export function containers(spec: Record<string, unknown> | undefined): Container[] {
  if (!spec) return [];
  const read = (list: unknown, init: boolean): Container[] =>
    asArray(list).flatMap((c) => {
      const raw = asRecord(c);
      if (!raw) return [];
      return [
        {
          name: asString(at(raw, "name")) ?? "",
          init,
          raw,
          command: strings(at(raw, "command")),
          args: strings(at(raw, "args")),
          mounts: asArray(at(raw, "volumeMounts")).flatMap((m) => {
            const name = asString(at(m, "name"));
            const mountPath = asString(at(m, "mountPath"));
            return name && mountPath ? [{ name, mountPath }] : [];
          }),
        },
      ];
    });
  return [...read(at(spec, "initContainers"), true), ...read(at(spec, "containers"), false)];
}

/**
 * The image of a container; undefined when unknown during preview (an image built by the same program,
 * referenced by digest). Such an image is never taken for a Redis image: Redis images are pulled by name.
 */
export function imageOf(container: Container): string | undefined {
  const image = tryKnown(() => at(container.raw, "image"));
  return image.known ? asString(image.value) : undefined;
}

/**
 * The plain environment values of a container, null for a value unknown during preview (an output of
 * another resource); values from secrets and fields are left out.
 */
export function envOf(container: Container): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const e of asArray(at(container.raw, "env"))) {
    const name = asString(at(e, "name"));
    if (!name || at(e, "valueFrom") !== undefined) continue;
    const value = tryKnown(() => asString(at(e, "value")));
    if (!value.known) out[name] = null;
    else if (value.value !== undefined) out[name] = value.value;
  }
  return out;
}

/** The pod's volumes by name. */
export function volumes(spec: Record<string, unknown> | undefined): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const v of asArray(at(spec, "volumes"))) {
    const record = asRecord(v);
    const name = asString(at(record, "name"));
    if (record && name) out.set(name, record);
  }
  return out;
}

/** A StatefulSet's volume claim template. */
export interface ClaimTemplate {
  name: string;
  accessModes: string[];
  storageClassName?: string;
}

/** The volume claim templates of a StatefulSet (none for other types). */
export function claimTemplates(type: string, props: Props): ClaimTemplate[] {
  if (type !== STATEFUL_SET) return [];
  return asArray(at(props, "spec", "volumeClaimTemplates")).flatMap((t) => {
    const name = asString(at(t, "metadata", "name"));
    if (!name) return [];
    return [
      {
        name,
        accessModes: strings(at(t, "spec", "accessModes")),
        storageClassName: asString(at(t, "spec", "storageClassName")),
      },
    ];
  });
}

/** The name, namespace and labels of an object. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels: Record<string, string>;
}

/** The metadata of a Kubernetes resource's properties. */
export function metadataOf(props: Props): ObjectMeta {
  return {
    name: asString(at(props, "metadata", "name")),
    namespace: asString(at(props, "metadata", "namespace")),
    labels: stringMap(at(props, "metadata", "labels")),
  };
}

/** The pod template's labels of a workload (the object's own for a Pod). */
export function podLabels(type: string, props: Props): Record<string, string> {
  if (type === "kubernetes:core/v1:Pod") return metadataOf(props).labels;
  if (type === CRON_JOB)
    return stringMap(at(props, "spec", "jobTemplate", "spec", "template", "metadata", "labels"));
  return stringMap(at(props, "spec", "template", "metadata", "labels"));
}

/** Pods a workload runs at once: spec.replicas (Kubernetes defaults it to 1), 1 for a Pod or a Job. */
export function replicasOf(type: string, props: Props): number {
  if ([STATEFUL_SET, DEPLOYMENT, "kubernetes:apps/v1:ReplicaSet"].includes(type)) {
    const replicas = at(props, "spec", "replicas");
    return replicas === undefined || replicas === null ? 1 : (asNumber(replicas) ?? 1);
  }
  return 1;
}
