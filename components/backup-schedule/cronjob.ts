// A declared job as a Kubernetes CronJob: never two runs at once, a deadline, a bounded retry, a short
// history, the restricted security profile with a read-only root filesystem, and the IRSA service
// account of its role. Pure: BackupSchedule passes the result to the CronJob resource unchanged.
import type * as pulumi from "@pulumi/pulumi";
import type { batch, core } from "@pulumi/kubernetes/types/input";
import type { JobRole } from "../backup-bucket";
import { REDIS_CLIENT_LABEL } from "../../core/redis-set";
import {
  containerEnv,
  recommendedLabels,
  restrictedContainerSecurity,
  restrictedPodSecurity,
} from "../shared/k8s";
import type { DeclaredJob } from "./jobs";

/** The non-root user of the jobs image (jobs/Dockerfile). */
export const JOBS_UID = 10001;

/** Labels that say what a scheduled job protects; the policy pack looks for them. */
export const JOB_LABEL = "holdfast.dev/job";
export const STORE_LABEL = "holdfast.dev/store";

/** How the CronJobs of a stack run. */
export interface KubernetesRuntime {
  namespace: pulumi.Input<string>;
  image: core.v1.Container["image"];
  timeZone: string;
  /** Service account of each role (annotated for IRSA). */
  serviceAccounts: Record<JobRole, string>;
  /** The LanceDB dataset, for the jobs that read it. */
  lancedb?: {
    claimName: pulumi.Input<string>;
    dataPath: pulumi.Input<string>;
    /** The application's uid: the job reads its files as it, and never changes their ownership. */
    uid: number;
    /** Labels of the application's pod, when its volume can only be mounted on that pod's node (ebs). */
    sameNodeAs?: Record<string, string>;
  };
}

/** The store a job protects, for its labels (`all` for the prune and the drill). */
export function jobStore(job: DeclaredJob): string {
  return job.name === "redis-backup" ? "redis" : job.name === "lancedb-backup" ? "lancedb" : "all";
}

/** Labels of a job's CronJob and pods; a job that talks to Redis gets past the set's NetworkPolicy. */
export function jobLabels(job: DeclaredJob): Record<string, string> {
  return {
    ...recommendedLabels(job.name, "holdfast-jobs", job.name),
    [JOB_LABEL]: job.name,
    [STORE_LABEL]: jobStore(job),
    ...(job.connectsToRedis ? { [REDIS_CLIENT_LABEL]: "true" } : {}),
  };
}

/** The CronJob spec of a declared job. */
export function cronJobSpec(job: DeclaredJob, rt: KubernetesRuntime): batch.v1.CronJobSpec {
  const lance = job.readsLanceDb ? rt.lancedb : undefined;
  if (job.readsLanceDb && !lance)
    throw new Error(`${job.name} reads the LanceDB dataset, but the runtime has none`);
  const uid = lance?.uid ?? JOBS_UID;
  // Mounting the application's volume with an fsGroup would re-own its files: never for LanceDB.
  const { fsGroup: _fsGroup, fsGroupChangePolicy: _policy, ...withoutFsGroup } = restrictedPodSecurity(uid);
  const podSecurity = lance ? withoutFsGroup : restrictedPodSecurity(uid);
  const mounts: core.v1.VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
  const volumes: core.v1.Volume[] = [{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }];
  if (job.scratchSize) {
    mounts.push({ name: "scratch", mountPath: "/scratch" });
    volumes.push({ name: "scratch", emptyDir: { sizeLimit: job.scratchSize } });
  }
  if (lance) {
    mounts.push({ name: "lancedb", mountPath: lance.dataPath, readOnly: true });
    volumes.push({ name: "lancedb", persistentVolumeClaim: { claimName: lance.claimName, readOnly: true } });
  }
  const labels = jobLabels(job);
  return {
    schedule: job.schedule,
    timeZone: rt.timeZone,
    concurrencyPolicy: "Forbid",
    // A run missed by more than an hour (cluster down, controller busy) is skipped, not run late.
    startingDeadlineSeconds: 3600,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 5,
    jobTemplate: {
      metadata: { labels },
      spec: {
        backoffLimit: 2,
        activeDeadlineSeconds: job.deadlineSeconds,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: "Never",
            serviceAccountName: rt.serviceAccounts[job.role],
            automountServiceAccountToken: false,
            securityContext: podSecurity,
            affinity: lance?.sameNodeAs
              ? {
                  // A ReadWriteOnce volume is attached to one node: read it from there.
                  podAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: [
                      {
                        labelSelector: { matchLabels: lance.sameNodeAs },
                        topologyKey: "kubernetes.io/hostname",
                      },
                    ],
                  },
                }
              : undefined,
            containers: [
              {
                name: "holdfast",
                image: rt.image,
                command: job.command,
                env: containerEnv(job.env),
                volumeMounts: mounts,
                securityContext: restrictedContainerSecurity(),
                resources: {
                  requests: { cpu: "100m", memory: job.memory },
                  limits: { cpu: "1", memory: job.memory },
                },
              },
            ],
            volumes,
          },
        },
      },
    },
  };
}
