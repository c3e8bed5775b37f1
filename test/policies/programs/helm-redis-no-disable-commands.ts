// Bitnami's Redis chart with auth on and persistence, but no disableCommands in its values: whatever
// the chart version's default is, nothing in the program keeps FLUSHALL from the application.
import * as k8s from "@pulumi/kubernetes";

export const chart = new k8s.helm.v4.Chart("sessions", {
  chart: "oci://registry-1.docker.io/bitnamicharts/redis",
  version: "20.6.0",
  namespace: "apps",
  values: {
    architecture: "replication",
    auth: { enabled: true },
    commonConfiguration: "appendonly yes\nappendfsync everysec\nsave 900 1\nsave 60 1000\n",
    master: { persistence: { enabled: true, size: "8Gi" } },
    replica: { replicaCount: 2, persistence: { enabled: true, size: "8Gi" } },
  },
}).urn;
