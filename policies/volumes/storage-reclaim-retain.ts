// kubernetes-storage-reclaim-retain: when a claim goes, its volume stays. A StorageClass provisions
// volumes with its reclaimPolicy (Delete unless set), and a PersistentVolume carries its own.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PV, STORAGE_CLASS } from "../lib/k8s";
import { asString, at } from "../lib/props";

/** StorageClasses and PersistentVolumes reclaim with Retain. */
export const storageReclaimRetain: ResourceValidationPolicy = {
  name: "kubernetes-storage-reclaim-retain",
  description:
    "StorageClasses and PersistentVolumes reclaim with Retain: deleting a claim never deletes the volume behind it.",
  severity: "high",
  remediationSteps: [
    'StorageClass: `reclaimPolicy: "Retain"` (Kubernetes defaults it to Delete).',
    'PersistentVolume: `persistentVolumeReclaimPolicy: "Retain"`.',
    "A reclaim policy cannot be changed on an existing StorageClass: create a new class and move claims to it.",
  ].join("\n"),
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type === STORAGE_CLASS) {
      const policy = asString(at(args.props, "reclaimPolicy"));
      if (policy !== "Retain")
        reportViolation(
          policy === undefined
            ? "reclaimPolicy is not set, so it is Delete: every volume of this class is deleted with its claim"
            : `reclaimPolicy is ${policy}: every volume of this class is deleted with its claim`,
        );
    }
    if (args.type === PV) {
      const policy = asString(at(args.props, "spec", "persistentVolumeReclaimPolicy"));
      // Unset on a PersistentVolume created directly means Retain.
      if (policy !== undefined && policy !== "Retain")
        reportViolation(`persistentVolumeReclaimPolicy is ${policy}: the volume goes when its claim does`);
    }
  },
};
