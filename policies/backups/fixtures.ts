// Stores and scheduled jobs for the backup and LanceDB policies' tests, shaped like Holdfast's own: a
// Redis set, a LanceDB store in each storage mode, BackupSchedule's CronJobs and Fargate tasks.
import type { Fixture } from "../evaluate/harness";
import { statefulSet } from "../volumes/fixtures";

export const NAMESPACE = "holdfast";

/** Holdfast's Redis data StatefulSet. */
export function redisStore(): Fixture {
  return statefulSet();
}

/** Holdfast's sentinel StatefulSet: labelled redis, but a sentinel, not a store. */
export function sentinels(): Fixture {
  return {
    type: "kubernetes:apps/v1:StatefulSet",
    name: "redis-sentinel",
    protect: true,
    props: {
      metadata: {
        name: "redis-sentinel",
        namespace: NAMESPACE,
        labels: { "app.kubernetes.io/name": "redis" },
      },
      spec: {
        replicas: 3,
        template: {
          metadata: {
            labels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/component": "sentinel" },
          },
          spec: {
            containers: [
              {
                name: "sentinel",
                image: "redis:7.2.7-bookworm",
                command: ["redis-server", "/data/sentinel.conf", "--sentinel"],
              },
              { name: "exporter", image: "oliver006/redis_exporter:v1.67.0" },
            ],
          },
        },
      },
    },
  };
}

type Mode = "ebs" | "efs" | "s3";

/** Holdfast's LanceDB StatefulSet in `mode` (ebs: one pod on a claim template; efs/s3: two, elected). */
export function lancedbStore(mode: Mode, bucket = "backups-bucket-7f3a"): Fixture {
  const labels = { "app.kubernetes.io/name": "lancedb", "app.kubernetes.io/instance": "lancedb" };
  const elected = mode !== "ebs";
  const mounts: Record<string, unknown>[] = [{ name: "tmp", mountPath: "/tmp" }];
  const volumes: Record<string, unknown>[] = [{ name: "tmp", emptyDir: {} }];
  if (mode === "ebs") mounts.push({ name: "data", mountPath: "/app/lancedb_data" });
  if (mode === "efs") {
    mounts.push({ name: "data", mountPath: "/app/lancedb_data" });
    volumes.push({ name: "data", persistentVolumeClaim: { claimName: "lancedb-data" } });
  }
  const uri = mode === "s3" ? `s3://${bucket}/prod/lancedb/live/` : "/app/lancedb_data";
  return {
    type: "kubernetes:apps/v1:StatefulSet",
    name: "lancedb-store",
    protect: true,
    props: {
      metadata: { name: "lancedb", namespace: NAMESPACE, labels },
      spec: {
        replicas: elected ? 2 : 1,
        serviceName: "lancedb-headless",
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        template: {
          metadata: { labels },
          spec: {
            ...(elected ? { readinessGates: [{ conditionType: "holdfast.dev/leader" }] } : {}),
            ...(elected
              ? {
                  initContainers: [
                    {
                      name: "elector",
                      image: "jobs@sha256:0",
                      restartPolicy: "Always",
                      command: ["holdfast", "lancedb", "elect"],
                    },
                  ],
                }
              : {}),
            containers: [
              {
                name: "app",
                image: "ghcr.io/example/llm-sidecar:1.4.2",
                env: [
                  { name: "LANCEDB_URI", value: uri },
                  { name: "HOLDFAST_LANCEDB_MODE", value: mode },
                ],
                volumeMounts: mounts,
              },
            ],
            volumes,
          },
        },
        ...(mode === "ebs"
          ? {
              volumeClaimTemplates: [
                {
                  metadata: { name: "data" },
                  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } },
                },
              ],
            }
          : {}),
      },
    },
  };
}

/** The shared EFS claim of an efs-mode store. */
export function sharedClaim(accessModes = ["ReadWriteMany"]): Fixture {
  return {
    type: "kubernetes:core/v1:PersistentVolumeClaim",
    name: "lancedb-data-claim",
    protect: true,
    props: {
      metadata: { name: "lancedb-data", namespace: NAMESPACE },
      spec: { accessModes, storageClassName: "" },
    },
  };
}

/** One of BackupSchedule's CronJobs, labelled as it labels them. */
export function cronJob(job: string, store: string, namespace = NAMESPACE): Fixture {
  const labels = {
    "app.kubernetes.io/name": "holdfast-jobs",
    "holdfast.dev/job": job,
    "holdfast.dev/store": store,
  };
  const command =
    job === "redis-backup"
      ? ["holdfast", "backup", "redis"]
      : job === "lancedb-backup"
        ? ["holdfast", "backup", "lancedb"]
        : job === "restore-drill"
          ? ["holdfast", "drill"]
          : ["holdfast", "prune"];
  return {
    type: "kubernetes:batch/v1:CronJob",
    name: `schedule-${job}`,
    props: {
      metadata: { name: job, namespace, labels },
      spec: {
        schedule: "0 2 * * *",
        concurrencyPolicy: "Forbid",
        jobTemplate: {
          metadata: { labels },
          spec: {
            template: {
              metadata: { labels },
              spec: {
                restartPolicy: "Never",
                containers: [
                  {
                    name: "holdfast",
                    image: "jobs@sha256:0",
                    command,
                    env: [{ name: "HOLDFAST_BUCKET", value: "backups-bucket-7f3a" }],
                  },
                ],
              },
            },
          },
        },
      },
    },
  };
}

/** Holdfast's jobs for both stores. */
export function schedule(namespace = NAMESPACE): Fixture[] {
  return [
    cronJob("redis-backup", "redis", namespace),
    cronJob("lancedb-backup", "lancedb", namespace),
    cronJob("prune", "all", namespace),
    cronJob("restore-drill", "all", namespace),
  ];
}

/** A Fargate task definition of BackupSchedule's ECS runtime and the schedule that runs it. */
export function fargateJob(job: string, stack = "prod"): Fixture[] {
  const arn = `arn:aws:ecs:us-east-1:1:task-definition/holdfast-${stack}-${job}:1`;
  return [
    {
      type: "aws:ecs/taskDefinition:TaskDefinition",
      name: `schedule-${job}-task`,
      props: {
        family: `holdfast-${stack}-${job}`,
        arn,
        containerDefinitions: JSON.stringify([
          {
            name: "holdfast",
            entryPoint: ["holdfast"],
            command: job === "restore-drill" ? ["drill"] : ["backup", "lancedb"],
          },
        ]),
      },
    },
    {
      type: "aws:scheduler/schedule:Schedule",
      name: `schedule-${job}-schedule`,
      props: {
        name: `holdfast-${stack}-${job}`,
        scheduleExpression: "cron(30 2 * * ? *)",
        target: { arn: "arn:aws:ecs:us-east-1:1:cluster/jobs", ecsParameters: { taskDefinitionArn: arn } },
      },
    },
  ];
}
