// The resource types the Kubernetes API stand-in serves: how a URL's group, version and plural map to
// a kind, whether the type is namespaced, and whether it has a status subresource. Types not listed
// here can be added with ResourceTypes.define (a later harness adds CRDs or more built-ins that way).

/** One resource type, as discovery would describe it. */
export interface ResourceType {
  /** API group; "" for the core group (`/api/v1`). */
  group: string;
  version: string;
  /** Lower-case plural used in URLs: `pods`, `leases`. */
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Whether `/status` is a subresource: the main resource then ignores status, `/status` everything else. */
  statusSubresource: boolean;
}

/** `apiVersion` of a type: `v1` or `group/version`. */
export function apiVersionOf(t: Pick<ResourceType, "group" | "version">): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** The built-in types a Holdfast test needs; extend with ResourceTypes.define. */
export const BUILTIN_TYPES: ResourceType[] = [
  {
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
    statusSubresource: true,
  },
  { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true, statusSubresource: true },
  {
    group: "",
    version: "v1",
    plural: "services",
    kind: "Service",
    namespaced: true,
    statusSubresource: true,
  },
  {
    group: "",
    version: "v1",
    plural: "configmaps",
    kind: "ConfigMap",
    namespaced: true,
    statusSubresource: false,
  },
  { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true, statusSubresource: false },
  {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
    statusSubresource: false,
  },
  { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true, statusSubresource: false },
  {
    group: "",
    version: "v1",
    plural: "persistentvolumeclaims",
    kind: "PersistentVolumeClaim",
    namespaced: true,
    statusSubresource: true,
  },
  {
    group: "",
    version: "v1",
    plural: "persistentvolumes",
    kind: "PersistentVolume",
    namespaced: false,
    statusSubresource: true,
  },
  {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
    statusSubresource: true,
  },
  {
    group: "apps",
    version: "v1",
    plural: "deployments",
    kind: "Deployment",
    namespaced: true,
    statusSubresource: true,
  },
  { group: "batch", version: "v1", plural: "jobs", kind: "Job", namespaced: true, statusSubresource: true },
  {
    group: "batch",
    version: "v1",
    plural: "cronjobs",
    kind: "CronJob",
    namespaced: true,
    statusSubresource: true,
  },
  {
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    kind: "Lease",
    namespaced: true,
    statusSubresource: false,
  },
  {
    group: "policy",
    version: "v1",
    plural: "poddisruptionbudgets",
    kind: "PodDisruptionBudget",
    namespaced: true,
    statusSubresource: true,
  },
];

/** The set of types a server knows. */
export class ResourceTypes {
  private readonly byPath = new Map<string, ResourceType>();

  constructor(types: ResourceType[] = BUILTIN_TYPES) {
    for (const t of types) this.define(t);
  }

  /** Adds (or replaces) a type. */
  define(t: ResourceType): void {
    this.byPath.set(`${t.group}/${t.version}/${t.plural}`, t);
  }

  /** The type a URL names, if known. */
  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  /** The type of an object's apiVersion and kind, if known. */
  forKind(apiVersion: string, kind: string): ResourceType | undefined {
    for (const t of this.byPath.values()) if (apiVersionOf(t) === apiVersion && t.kind === kind) return t;
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.byPath.values()];
  }
}
