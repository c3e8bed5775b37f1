// kubernetes-apps-v1-statefulset-retain-claims: deleting or scaling down a StatefulSet must leave the
// claims of its pods (and so their volumes) in place; a `Delete` retention policy erases them with it.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { STATEFUL_SET, claimTemplates } from "../lib/k8s";
import { asString, at } from "../lib/props";

/** StatefulSets keep their PVCs when deleted and when scaled down. */
export const statefulSetRetainClaims: ResourceValidationPolicy = {
  name: "kubernetes-apps-v1-statefulset-retain-claims",
  description:
    "StatefulSets with volumeClaimTemplates keep their PersistentVolumeClaims when deleted and when scaled down (persistentVolumeClaimRetentionPolicy Retain).",
  severity: "critical",
  remediationSteps:
    'Set `spec.persistentVolumeClaimRetentionPolicy` to `{ whenDeleted: "Retain", whenScaled: "Retain" }` (Kubernetes\' default when unset).',
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== STATEFUL_SET || claimTemplates(args.type, args.props).length === 0) return;
    for (const when of ["whenDeleted", "whenScaled"]) {
      const value = asString(at(args.props, "spec", "persistentVolumeClaimRetentionPolicy", when));
      // Unset means Retain: the API server defaults both fields to it.
      if (value !== undefined && value !== "Retain")
        reportViolation(
          `persistentVolumeClaimRetentionPolicy.${when} is ${value}: the claims of its pods, and their volumes, go with ${when === "whenDeleted" ? "the StatefulSet" : "every pod scaled away"}`,
        );
    }
  },
};
