// kubernetes-data-volumes-persistent: the directory a Redis server keeps its RDB and AOF in, and a LanceDB
// dataset directory, live on a persistent volume: never an emptyDir (gone with the pod), a hostPath
// (gone with the node, and shared with whatever else runs there) or a generic ephemeral volume.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { configSchema, settings } from "../lib/config";
import { claimTemplates, containers, imageOf, isWorkloadType, podSpec, volumes } from "../lib/k8s";
import { isRedisImage, redisInvocation } from "../lib/redis-conf";

const DEFAULTS = {
  /** Where Redis servers keep their data (the official image's /data, Bitnami's, Debian's). */
  redisDataPaths: ["/data", "/bitnami/redis/data", "/var/lib/redis"],
  /** Dataset directories that must be persistent in any container (the application's LanceDB path). */
  datasetPaths: ["/app/lancedb_data"],
};

const EPHEMERAL = ["emptyDir", "hostPath", "ephemeral"];

/** Data directories of Redis and LanceDB are on persistent volumes. */
export const dataVolumesPersistent: ResourceValidationPolicy = {
  name: "kubernetes-data-volumes-persistent",
  description:
    "Redis data directories and LanceDB dataset directories are persistent volumes, never emptyDir, hostPath or ephemeral volumes.",
  severity: "high",
  remediationSteps: [
    "Mount the data directory from a volumeClaimTemplate (StatefulSet) or a persistentVolumeClaim volume on a Retain StorageClass.",
    "A Redis server needs a volume at its data directory (`/data` in the official image).",
  ].join("\n"),
  configSchema: configSchema(DEFAULTS, {
    redisDataPaths: {
      type: "array",
      items: { type: "string" },
      description: "Mount paths that hold a Redis server's data (RDB, AOF).",
    },
    datasetPaths: {
      type: "array",
      items: { type: "string" },
      description: "Mount paths of datasets that must be persistent in any container (LanceDB).",
    },
  }),
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isWorkloadType(args.type)) return;
    const s = settings(args, DEFAULTS);
    const spec = podSpec(args.type, args.props);
    const byName = volumes(spec);
    const templates = new Set(claimTemplates(args.type, args.props).map((t) => t.name));
    for (const c of containers(spec)) {
      const invocation = redisInvocation(c.command, c.args, () => isRedisImage(imageOf(c)));
      const redisServer = invocation?.mode === "server";
      const dataPaths = [...s.datasetPaths, ...(redisServer ? s.redisDataPaths : [])];
      const dataMounts = c.mounts.filter((m) => dataPaths.includes(m.mountPath));
      for (const m of dataMounts) {
        if (templates.has(m.name)) continue;
        const volume = byName.get(m.name);
        const kind = volume
          ? EPHEMERAL.find((k) => volume[k] !== undefined && volume[k] !== null)
          : undefined;
        if (kind)
          reportViolation(
            `container "${c.name}" keeps ${m.mountPath} on ${kind} volume "${m.name}": its data goes with the ${kind === "hostPath" ? "node" : "pod"}`,
          );
      }
      if (redisServer && !c.init && dataMounts.length === 0)
        reportViolation(
          `Redis container "${c.name}" mounts no volume at its data directory (${s.redisDataPaths.join(", ")}): its RDB and AOF live in the container's filesystem`,
        );
    }
  },
};
