// Cluster-scoped types a preflight reads that the stand-in's built-ins lack: StorageClasses (the reclaim
// policy of the stack's volumes) and CustomResourceDefinitions (whether the Prometheus Operator's kinds
// exist). Stored and served like any other object; nothing acts on them.
import type { KubeObject } from "./store";
import type { ResourceType, ResourceTypes } from "./resources";

export const STORAGE_CLASS_TYPE: ResourceType = {
  group: "storage.k8s.io",
  version: "v1",
  plural: "storageclasses",
  kind: "StorageClass",
  namespaced: false,
  statusSubresource: false,
};

export const CRD_TYPE: ResourceType = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
  // No controller sets Established here: a test stores the CRD with its status as a cluster shows it.
  statusSubresource: false,
};

/** Adds the StorageClass and CustomResourceDefinition types to `types`. */
export function defineClusterTypes(types: ResourceTypes): void {
  types.define(STORAGE_CLASS_TYPE);
  types.define(CRD_TYPE);
}

/**
 * An established CustomResourceDefinition as an operator's chart installs it.
 * @param name `<plural>.<group>`, e.g. `prometheusrules.monitoring.coreos.com`.
 * @param kind the kind it defines, e.g. `PrometheusRule`.
 */
export function crdObject(name: string, kind: string, version = "v1"): KubeObject {
  const [plural, ...group] = name.split(".");
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name },
    spec: {
      group: group.join("."),
      names: { plural, kind },
      scope: "Namespaced",
      versions: [{ name: version, served: true, storage: true }],
    },
    status: { conditions: [{ type: "Established", status: "True" }] },
  };
}
