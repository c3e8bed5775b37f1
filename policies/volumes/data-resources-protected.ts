// data-resources-protected: a policy cannot see a planned deletion, so it requires what makes one
// impossible: every resource that holds data, or the backups of it, is `protect`ed, and Pulumi refuses
// to delete it (or replace it, which deletes) until someone removes the protection on purpose.
//
// `protect` is read from the options the engine sends with each resource. Every Pulumi SDK resolves a
// child's protect from its parent before registering it, so the children of a protected component
// arrive protected: the pack never re-derives protect from the parent chain, which would also hide an
// explicit `protect: false` set under a protected component.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { backupBuckets, backupKeys, bucketLabel } from "../lib/buckets";
import { PV, PVC, STATEFUL_SET, claimTemplates } from "../lib/k8s";
import { tryKnown } from "../lib/props";

/** The types that always hold data. */
const DATA_TYPES: Record<string, string> = {
  [PVC]: "PersistentVolumeClaim",
  [PV]: "PersistentVolume",
  "aws:ebs/volume:Volume": "EBS volume",
  "aws:efs/fileSystem:FileSystem": "EFS file system",
};

/** Why `r` holds data, or undefined when it does not (buckets and keys are decided by the stack). */
function holdsData(r: PolicyResource): string | undefined {
  if (DATA_TYPES[r.type]) return DATA_TYPES[r.type];
  if (r.type === STATEFUL_SET) {
    const templates = tryKnown(() => claimTemplates(r.type, r.props));
    // Templates unknown during preview: a StatefulSet that may create claims is treated as one that does.
    if (!templates.known || templates.value.length > 0) return "StatefulSet with volumeClaimTemplates";
  }
  return undefined;
}

/** Data volumes, their claims and the stores of backups are protected. */
export const dataResourcesProtected: StackValidationPolicy = {
  name: "data-resources-protected",
  description:
    "Resources that hold data or its backups (StatefulSets with volumeClaimTemplates, PVCs, PVs, EBS volumes, EFS file systems, backup buckets and their KMS keys) are protected against deletion.",
  severity: "critical",
  remediationSteps: [
    "Create the resource with `protect: true` (and `retainOnDelete: true`, so a removal from the program leaves it in the cloud), or create it in a component created with `protect: true`.",
    "To retire it on purpose: `pulumi state unprotect <urn>` in a reviewed change, then delete it.",
  ].join("\n"),
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const r of args.resources) {
      const what = holdsData(r);
      if (what && !r.opts.protect)
        reportViolation(`${what} ${r.name} is not protected: a delete or replace destroys its data`, r.urn);
    }
    const buckets = backupBuckets(args.resources);
    for (const b of buckets) {
      if (!b.opts.protect) reportViolation(`backup bucket ${bucketLabel(b)} is not protected`, b.urn);
    }
    for (const k of backupKeys(args.resources, buckets)) {
      if (!k.opts.protect)
        reportViolation(
          `KMS key ${k.name} encrypts backups and is not protected: scheduling its deletion makes them unreadable`,
          k.urn,
        );
    }
  },
};
