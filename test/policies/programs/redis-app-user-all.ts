// A Redis whose ACL file gives the application user every command: any client holding the app's
// password can FLUSHALL.
import * as k8s from "@pulumi/kubernetes";

const acl = new k8s.core.v1.Secret("cache-acl", {
  metadata: { name: "cache-acl", namespace: "apps" },
  stringData: {
    "users.acl": [
      "user default off",
      "user app on >app-password ~* &* +@all",
      "user admin on >admin-password ~* &* +@all",
      "",
    ].join("\n"),
  },
});

const labels = { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "cache" };

export const statefulSet = new k8s.apps.v1.StatefulSet(
  "cache",
  {
    metadata: { name: "cache", namespace: "apps", labels },
    spec: {
      serviceName: "cache",
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "redis",
              image: "redis:7.2.7-bookworm",
              command: ["redis-server", "--aclfile", "/etc/redis/users.acl", "--appendonly", "yes"],
              volumeMounts: [
                { name: "data", mountPath: "/data" },
                { name: "acl", mountPath: "/etc/redis", readOnly: true },
              ],
            },
          ],
          volumes: [{ name: "acl", secret: { secretName: acl.metadata.name } }],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "8Gi" } } },
        },
      ],
    },
  },
  { protect: true },
).metadata.name;
