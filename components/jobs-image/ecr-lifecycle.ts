// The jobs image repository's lifecycle policy: keep the newest images, expire the rest. Pods run the
// image by digest, so keep enough that the image a stack runs now is never among the expired ones.

/** An ECR lifecycle policy document. */
export interface EcrLifecyclePolicy {
  rules: {
    rulePriority: number;
    description: string;
    selection: {
      tagStatus: "any" | "tagged" | "untagged";
      countType: "imageCountMoreThan";
      countNumber: number;
    };
    action: { type: "expire" };
  }[];
}

/** Keeps the newest `keep` images, tagged or not, and expires older ones. */
export function keepNewestImagesPolicy(keep: number): EcrLifecyclePolicy {
  if (!Number.isInteger(keep) || keep < 1)
    throw new Error(`images to keep must be a whole number >= 1, got ${keep}`);
  return {
    rules: [
      {
        rulePriority: 1,
        description: `keep the newest ${keep} images`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep },
        action: { type: "expire" },
      },
    ],
  };
}
