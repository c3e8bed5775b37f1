// A StorageClass that deletes every volume it provisions when its claim goes.
import * as k8s from "@pulumi/kubernetes";

export const storageClass = new k8s.storage.v1.StorageClass(
  "fast",
  {
    metadata: { name: "fast" },
    provisioner: "ebs.csi.aws.com",
    parameters: { type: "gp3" },
    reclaimPolicy: "Delete",
  },
  { protect: true },
).metadata.name;
