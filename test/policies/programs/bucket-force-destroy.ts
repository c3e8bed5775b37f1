// A bucket Pulumi may empty to delete: `forceDestroy` deletes every object and version first.
import * as aws from "@pulumi/aws";

export const bucket = new aws.s3.Bucket("exports", { forceDestroy: true }, { protect: true }).bucket;
