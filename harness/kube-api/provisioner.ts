// A dynamic volume provisioner for the stand-in, as a cluster's CSI provisioner acts: each new
// PersistentVolumeClaim is bound to a PersistentVolume made for it (`pvc-<claim uid>`) with the reclaim
// policy of the claim's StorageClass (Kubernetes' default, Delete, when the class has none or is not
// stored), and the claim names it (`spec.volumeName`, phase Bound). A deleted claim's volume is deleted
// when it reclaims with Delete and kept, Released, when it reclaims with Retain. Data stays where the
// kubelet keeps the claim's folder: the volume is the API's record of it.
import type { ChangeEvent, KubeObject, ObjectStore } from "./store";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The reclaim policy a volume of `className` gets. */
function reclaimPolicyOf(store: ObjectStore, className: string | undefined): string {
  if (!className) return "Delete";
  try {
    const sc = store.get(store.type("storage.k8s.io/v1", "StorageClass"), undefined, className) as Json;
    return String(sc.reclaimPolicy ?? "Delete");
  } catch {
    return "Delete";
  }
}

function bind(store: ObjectStore, claim: KubeObject): void {
  const pvcType = store.type("v1", "PersistentVolumeClaim");
  const pvType = store.type("v1", "PersistentVolume");
  const { name, namespace, uid } = claim.metadata;
  let current: Json;
  try {
    current = store.get(pvcType, namespace, name) as Json;
  } catch {
    return; // deleted meanwhile
  }
  if (current.spec?.volumeName || current.metadata.uid !== uid) return;
  const spec = (current.spec ?? {}) as Json;
  const volume = `pvc-${uid}`;
  store.create(pvType, undefined, {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: volume, annotations: { "pv.kubernetes.io/provisioned-by": "holdfast.dev/stand-in" } },
    spec: {
      storageClassName: spec.storageClassName,
      persistentVolumeReclaimPolicy: reclaimPolicyOf(store, spec.storageClassName),
      accessModes: spec.accessModes,
      capacity: spec.resources?.requests?.storage ? { storage: spec.resources.requests.storage } : undefined,
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid },
    },
  } as KubeObject);
  store.patch(
    pvType,
    undefined,
    volume,
    "application/merge-patch+json",
    { status: { phase: "Bound" } },
    "status",
  );
  store.patch(pvcType, namespace, name, "application/merge-patch+json", { spec: { volumeName: volume } });
  store.patch(
    pvcType,
    namespace,
    name,
    "application/merge-patch+json",
    { status: { phase: "Bound" } },
    "status",
  );
}

function release(store: ObjectStore, claim: KubeObject): void {
  const volume = (claim as Json).spec?.volumeName as string | undefined;
  if (!volume) return;
  const pvType = store.type("v1", "PersistentVolume");
  let pv: Json;
  try {
    pv = store.get(pvType, undefined, volume) as Json;
  } catch {
    return;
  }
  if (pv.spec?.persistentVolumeReclaimPolicy === "Retain")
    store.patch(
      pvType,
      undefined,
      volume,
      "application/merge-patch+json",
      { status: { phase: "Released" } },
      "status",
    );
  else store.delete(pvType, undefined, volume);
}

/** Starts provisioning volumes for the claims `store` holds and is given; returns the stop function. */
export function provisionVolumes(store: ObjectStore): () => void {
  let stopped = false;
  // Acted on after the write that announced the claim has finished, as a controller watching would.
  const later = (fn: () => void) =>
    setImmediate(() => {
      if (stopped) return;
      try {
        fn();
      } catch {
        // A claim changed under the provisioner: the next event brings it back.
      }
    });
  const unsubscribe = store.onChange((e: ChangeEvent) => {
    if (e.resource.kind !== "PersistentVolumeClaim") return;
    if (e.type === "ADDED") later(() => bind(store, e.object));
    if (e.type === "DELETED") later(() => release(store, e.object));
  });
  for (const claim of store.list(store.type("v1", "PersistentVolumeClaim")).items)
    later(() => bind(store, claim));
  return () => {
    stopped = true;
    unsubscribe();
  };
}
