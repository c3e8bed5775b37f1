// aws-s3-bucket-no-force-destroy: `forceDestroy` lets Pulumi empty a bucket (every object and version)
// to delete it. No bucket of a program guarded by this pack may carry it.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { BUCKET_TYPES } from "../lib/buckets";
import { asBoolean, at } from "../lib/props";

/** No S3 bucket sets forceDestroy. */
export const bucketNoForceDestroy: ResourceValidationPolicy = {
  name: "aws-s3-bucket-no-force-destroy",
  description: "S3 buckets never set forceDestroy: deleting a bucket must never delete the objects in it.",
  severity: "critical",
  remediationSteps:
    "Remove `forceDestroy` (or set it to false); empty a bucket by hand, after review, when it must go.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!BUCKET_TYPES.includes(args.type)) return;
    if (asBoolean(at(args.props, "forceDestroy")) === true)
      reportViolation(
        "forceDestroy is true: deleting the bucket would first delete every object and version in it",
      );
  },
};
