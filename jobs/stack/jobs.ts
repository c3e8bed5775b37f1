// The Jobs a stack command runs on the stack's cluster, as plain objects (pure): the stack's jobs image
// by its reference, a `holdfast` command, an IRSA service account, the restricted security profile with a
// read-only root filesystem, at most one volume claim mounted where the command expects it, a deadline
// and no retries (the orchestrator decides about re-runs). Names are derived from the backup and the
// claim, so a re-run finds the Job of an earlier attempt.
import { createHash } from "crypto";
import type * as KubeClient from "@kubernetes/client-node";

/** Labels every Job of a stack operation carries. */
export const OPERATION_LABEL = "holdfast.dev/operation";
export const BACKUP_LABEL = "holdfast.dev/backup";

/** What one Job is made of. */
export interface StackJobSpec {
  name: string;
  namespace: string;
  image: string;
  serviceAccount: string;
  /** `holdfast` and its arguments. */
  command: string[];
  env?: KubeClient.V1EnvVar[];
  /** The user (and group) the container runs as: the owner of the volume's files. */
  runAsUser: number;
  /** Give the volume's files this group (Redis volumes); omitted for volumes that must keep theirs. */
  fsGroup?: number;
  claim?: { name: string; mountPath: string; readOnly?: boolean };
  deadlineSeconds: number;
  /** Memory request and limit. */
  memory: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A DNS label of at most 63 characters: `base`, shortened with a hash of it when too long. */
export function jobName(...parts: string[]): string {
  const base = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (base.length <= 63) return base;
  const hash = createHash("sha256").update(base).digest("hex").slice(0, 8);
  return `${base.slice(0, 54).replace(/-+$/, "")}-${hash}`;
}

/** The Job object. */
export function stackJob(s: StackJobSpec): KubeClient.V1Job {
  const mounts: KubeClient.V1VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
  const volumes: KubeClient.V1Volume[] = [{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }];
  if (s.claim) {
    mounts.push({
      name: "data",
      mountPath: s.claim.mountPath,
      ...(s.claim.readOnly ? { readOnly: true } : {}),
    });
    volumes.push({
      name: "data",
      persistentVolumeClaim: { claimName: s.claim.name, ...(s.claim.readOnly ? { readOnly: true } : {}) },
    });
  }
  const labels = {
    "app.kubernetes.io/name": "holdfast-jobs",
    "app.kubernetes.io/part-of": "holdfast",
    "app.kubernetes.io/managed-by": "holdfast",
    ...s.labels,
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: s.name,
      namespace: s.namespace,
      labels,
      ...(s.annotations ? { annotations: s.annotations } : {}),
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: s.deadlineSeconds,
      // Kept a day for `kubectl logs`; the stack's annotation, not the Job, records what was done.
      ttlSecondsAfterFinished: 86400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: s.serviceAccount,
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: s.runAsUser,
            runAsGroup: s.runAsUser,
            ...(s.fsGroup !== undefined ? { fsGroup: s.fsGroup, fsGroupChangePolicy: "OnRootMismatch" } : {}),
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "holdfast",
              image: s.image,
              command: s.command,
              ...(s.env && s.env.length > 0 ? { env: s.env } : {}),
              volumeMounts: mounts,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              resources: {
                requests: { cpu: "100m", memory: s.memory },
                limits: { cpu: "1", memory: s.memory },
              },
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** An environment variable read from a Secret's key. */
export function secretEnv(name: string, secret: string, key: string): KubeClient.V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

/** Whether an image reference pins a digest (`...@sha256:<64 hex>`). */
export function pinnedByDigest(image: string): boolean {
  return /@sha256:[0-9a-f]{64}$/.test(image);
}
