// kubernetes-images-pinned-by-digest: a workload that keeps irreplaceable data, or protects it, runs the
// exact image that was reviewed. A tag can be moved to other bytes by whoever can push to the registry
// (or rebuilt upstream); a digest (`repo@sha256:...`, `repo:tag@sha256:...`) cannot. Advisory by default:
// prod's config shows every workload still pinned by tag only, dev's turns it off.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containers, imageOf, isWorkloadType, podSpec } from "../lib/k8s";

/** True when `image` names its bytes by digest. */
export function pinnedByDigest(image: string): boolean {
  return /@sha256:[0-9a-f]{64}$/.test(image);
}

/** Every container of a workload runs an image pinned by digest. */
export const imagesPinnedByDigest: ResourceValidationPolicy = {
  name: "kubernetes-images-pinned-by-digest",
  description:
    "Workloads run images pinned by digest (repo@sha256:..., or repo:tag@sha256:...), so the bytes that run are the bytes that were reviewed.",
  severity: "medium",
  remediationSteps: [
    "Add the digest to the image: `docker buildx imagetools inspect IMAGE:TAG` prints it; keep the tag for readers (`redis:7.2.7-bookworm@sha256:...`).",
    "In Holdfast stacks, set holdfast:redisImage, holdfast:redisExporterImage and holdfast:lancedbAppImage that way; a built jobs image already runs by digest.",
  ].join("\n"),
  enforcementLevel: "advisory",
  validateResource: (args, reportViolation) => {
    if (!isWorkloadType(args.type)) return;
    const byTag = new Map<string, string[]>();
    for (const c of containers(podSpec(args.type, args.props))) {
      // An image unknown during preview is one this program builds and references by digest.
      const image = imageOf(c);
      if (image === undefined || pinnedByDigest(image)) continue;
      byTag.set(image, [...(byTag.get(image) ?? []), c.name]);
    }
    for (const [image, names] of byTag)
      reportViolation(
        `${image} (container${names.length > 1 ? "s" : ""} ${names.join(", ")}) is not pinned by digest`,
      );
  },
};
