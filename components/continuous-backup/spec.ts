// Pure renderers of the continuous-protection stream's Kubernetes objects: one `holdfast stream redis`
// pod that joins the Sentinel set as a replica and ships its replication stream to the bucket, its
// disruption budget, the NetworkPolicy of its metrics port and the PodMonitor that scrapes it.
// ContinuousBackup wires these into resources; the tests read the same output.
import type { apps, core, networking, policy } from "@pulumi/kubernetes/types/input";
import { bucketEnv, redisUserEnv, sentinelEnv, sentinelUserEnv } from "../shared/job-env";
import { REDIS_CLIENT_LABEL } from "../../core/redis-set";
import { JOBS_UID, STORE_LABEL } from "../backup-schedule/cronjob";
import {
  containerEnv,
  namespacesSelector,
  recommendedLabels,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  selectorLabels,
} from "../shared/k8s";

/** The port the stream serves GET /metrics on (`--metrics-port`). */
export const STREAM_METRICS_PORT = 9410;

/** The Redis ACL user the stream joins the set as (components/redis/acl.ts renders it on the data nodes). */
export const STREAM_USER = "stream";

/** Settings of one stream, resolved from the component's args. */
export interface StreamSettings {
  /** Name of the Deployment (and base name of the other objects). */
  name: string;
  namespace: string;
  /** The stack's name: HOLDFAST_STACK, and the `stack` label of the alerts. */
  stack: string;
  /** Image with the holdfast CLI. */
  image: string;
  bucket: string;
  prefix: string;
  region: string;
  /** Every sentinel as host:port, comma-separated. */
  sentinels: string;
  masterName: string;
  /** The Redis set's Secret, with `stream-password` and `discovery-password`. */
  secretName: string;
  /** The backup role's service account (its IRSA role writes under the prefix, create-only). */
  serviceAccountName: string;
  /** Namespaces whose pods (Prometheus) may scrape the metrics port. */
  monitoringNamespaces: string[];
}

/** Labels of the stream's objects and pod; the pod gets past the Redis set's NetworkPolicy. */
export function streamLabels(s: Pick<StreamSettings, "name">): Record<string, string> {
  return {
    ...recommendedLabels(s.name, "holdfast-stream", "stream"),
    [STORE_LABEL]: "redis",
    [REDIS_CLIENT_LABEL]: "true",
  };
}

/** The labels that select the stream's pod. */
export function streamSelector(s: Pick<StreamSettings, "name">): Record<string, string> {
  return selectorLabels(streamLabels(s));
}

/** The container's command: `holdfast stream redis` with the flags that are not environment twins. */
export function streamCommand(): { command: string[]; args: string[] } {
  return {
    command: ["holdfast", "stream", "redis"],
    args: ["--metrics-port", String(STREAM_METRICS_PORT)],
  };
}

/**
 * The stream's environment: the discovery settings and credentials of the backup CronJob (as its own
 * Redis user), the bucket and prefix as the flags' environment twins.
 */
export function streamEnv(s: StreamSettings): core.v1.EnvVar[] {
  return containerEnv([
    ...bucketEnv(s),
    ...sentinelEnv(s.sentinels, s.masterName),
    ...redisUserEnv(s.secretName, STREAM_USER),
    ...sentinelUserEnv(s.secretName),
  ]);
}

/**
 * The Deployment spec: exactly one stream, replaced by stopping the old pod before the new one starts
 * (Recreate), so two streams never write one prefix (a second one would be refused by the create-only
 * segment writes and stop). SIGTERM makes the stream write what it has buffered, so the grace period
 * leaves it time for a last segment.
 */
export function streamDeploymentSpec(s: StreamSettings): apps.v1.DeploymentSpec {
  const labels = streamLabels(s);
  return {
    replicas: 1,
    strategy: { type: "Recreate" },
    revisionHistoryLimit: 3,
    selector: { matchLabels: streamSelector(s) },
    template: {
      metadata: { labels },
      spec: {
        serviceAccountName: s.serviceAccountName,
        automountServiceAccountToken: false,
        securityContext: restrictedPodSecurity(JOBS_UID),
        terminationGracePeriodSeconds: 60,
        containers: [
          {
            name: "holdfast",
            image: s.image,
            ...streamCommand(),
            env: streamEnv(s),
            ports: [{ name: "metrics", containerPort: STREAM_METRICS_PORT }],
            // The endpoint answers as long as the process runs; a broken link shows in the metrics (and
            // the alerts), and the stream reconnects on its own.
            livenessProbe: {
              httpGet: { path: "/metrics", port: "metrics" },
              initialDelaySeconds: 10,
              periodSeconds: 20,
              timeoutSeconds: 5,
              failureThreshold: 3,
            },
            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            securityContext: restrictedContainerSecurity(),
            resources: {
              requests: { cpu: "50m", memory: "256Mi" },
              limits: { cpu: "1", memory: "256Mi" },
            },
          },
        ],
        volumes: [{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }],
      },
    },
  };
}

/**
 * The disruption budget: a drain may move the stream (it never blocks one, which a budget of one pod
 * with nothing unavailable would do forever). Moved, the stream continues its chain with a partial
 * resynchronisation from the primary's backlog; only an absence longer than the backlog holds makes a
 * gap.
 */
export function streamBudgetSpec(s: StreamSettings): policy.v1.PodDisruptionBudgetSpec {
  return { maxUnavailable: 1, selector: { matchLabels: streamSelector(s) } };
}

/** Nothing connects to the stream but Prometheus, to its metrics port, from the monitoring namespaces. */
export function streamNetworkPolicySpec(s: StreamSettings): networking.v1.NetworkPolicySpec {
  return {
    podSelector: { matchLabels: streamSelector(s) },
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [{ namespaceSelector: namespacesSelector(s.namespace, s.monitoringNamespaces) }],
        ports: [{ protocol: "TCP", port: STREAM_METRICS_PORT }],
      },
    ],
  };
}

/** The PodMonitor spec that scrapes the stream every 15 s (the lag alerts start at 30 s). */
export function streamPodMonitorSpec(s: Pick<StreamSettings, "name">) {
  return {
    selector: { matchLabels: streamSelector(s) },
    podMetricsEndpoints: [{ port: "metrics", interval: "15s" }],
  };
}
