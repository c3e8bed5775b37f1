// A database StatefulSet that is not protected and deletes its pods' claims with it: a `pulumi destroy`,
// or a rename that replaces it, takes the data volumes along.
import * as k8s from "@pulumi/kubernetes";

const labels = { app: "orders-db" };

export const statefulSet = new k8s.apps.v1.StatefulSet("orders-db", {
  metadata: { name: "orders-db", namespace: "shop" },
  spec: {
    serviceName: "orders-db",
    replicas: 1,
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        containers: [
          {
            name: "postgres",
            image: "postgres:16.4",
            volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql/data" }],
          },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: "data" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } },
      },
    ],
  },
}).metadata.name;
