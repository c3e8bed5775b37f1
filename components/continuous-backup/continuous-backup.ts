// ContinuousBackup: point-in-time recovery for a Sentinel-replicated Redis set. One `holdfast stream
// redis` pod joins the set as a replica (as the set's `stream` user) and ships the replication stream to
// the backup bucket as hashed, chained segments, writing as the backup role (create-only, never a
// delete). With monitoring, a PodMonitor scrapes its lag and link, and a PrometheusRule alerts on them.
// The objects are rendered by ./spec and ./alerts; this component only wires them into resources.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { streamAlertGroups } from "./alerts";
import {
  STREAM_METRICS_PORT,
  StreamSettings,
  streamBudgetSpec,
  streamDeploymentSpec,
  streamLabels,
  streamNetworkPolicySpec,
  streamPodMonitorSpec,
} from "./spec";

/** The Redis set the stream joins. */
export interface StreamedRedis {
  /** Every sentinel as host:port, comma-separated (SentinelRedis.sentinelAddresses). */
  sentinels: pulumi.Input<string>;
  /** Name the sentinels monitor the primary under. */
  masterName: pulumi.Input<string>;
  /**
   * The set's Secret, with `stream-password` and `discovery-password` (SentinelRedis.secretName). The
   * set must have the stream user: SentinelRedisArgs.streamUser.
   */
  secretName: pulumi.Input<string>;
}

/** The stream's alerts and scrape, for clusters with the Prometheus Operator's CRDs. */
export interface StreamMonitoringArgs {
  /** Absolute URL of the folder of runbook pages; each alert links `<runbookBaseUrl>/<page>.md`. */
  runbookBaseUrl: pulumi.Input<string>;
  /** Extra labels on the PrometheusRule and PodMonitor, to match the Prometheus's selectors. */
  labels?: Record<string, string>;
}

/** Arguments of a ContinuousBackup. */
export interface ContinuousBackupArgs {
  /** Namespace of the stream (the Redis set's namespace: the set's NetworkPolicy admits it there). */
  namespace: pulumi.Input<string>;
  /** Image with the holdfast CLI. */
  jobsImage: pulumi.Input<string>;
  /** The stack's name: on the stream's log and on every alert. */
  stack: pulumi.Input<string>;
  /** The backup bucket. */
  bucket: pulumi.Input<string>;
  /** Key prefix of the stack's backups; the stream writes under `<prefix>/redis/`. */
  prefix: pulumi.Input<string>;
  /** Region of the bucket. */
  region: pulumi.Input<string>;
  /** The Redis set the stream joins. */
  redis: pulumi.Input<StreamedRedis>;
  /**
   * The backup role's service account (BackupBucket.serviceAccounts.backup, created by BackupSchedule):
   * its IRSA role creates objects under the prefix and never replaces or deletes one.
   */
  serviceAccountName: pulumi.Input<string>;
  /** Namespaces whose pods (Prometheus) may scrape the stream. Default `["monitoring"]`. */
  monitoringNamespaces?: pulumi.Input<pulumi.Input<string>[]>;
  /** The alerts and the scrape; none creates neither. */
  monitoring?: StreamMonitoringArgs;
}

/** The continuous protection of a Redis set: a stream of its writes into the backup bucket. */
export class ContinuousBackup extends pulumi.ComponentResource {
  /** Name of the stream's Deployment. */
  public readonly deploymentName: pulumi.Output<string>;
  /** The port the stream serves GET /metrics on. */
  public readonly metricsPort: pulumi.Output<number>;
  /** Name of the PrometheusRule with the stream's alerts; empty without monitoring. */
  public readonly ruleName: pulumi.Output<string>;

  /**
   * @param name name of the Deployment and base name of the other objects.
   * @param args see ContinuousBackupArgs.
   * @param opts resource options; the Kubernetes provider comes through here.
   */
  constructor(name: string, args: ContinuousBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:backup:ContinuousBackup", name, {}, opts);
    const child = { parent: this };
    const s = pulumi
      .all([args, pulumi.output(args.redis)])
      .apply(([a, redis]) => streamSettings(name, a as pulumi.Unwrap<ContinuousBackupArgs>, redis));
    const metadata = (objectName: string, extra: Record<string, string> = {}) =>
      s.apply((v) => ({
        name: objectName,
        namespace: v.namespace,
        labels: { ...streamLabels(v), ...extra },
      }));

    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      { metadata: metadata(name), spec: s.apply(streamDeploymentSpec) },
      child,
    );
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-budget`,
      { metadata: metadata(name), spec: s.apply(streamBudgetSpec) },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-network`,
      { metadata: metadata(name), spec: s.apply(streamNetworkPolicySpec) },
      child,
    );
    if (args.monitoring) {
      const labels = args.monitoring.labels ?? {};
      new k8s.apiextensions.CustomResource(
        `${name}-rules`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PrometheusRule",
          metadata: metadata(name, labels),
          spec: {
            groups: pulumi.all([s, args.monitoring.runbookBaseUrl]).apply(([v, runbookBaseUrl]) =>
              streamAlertGroups({
                stack: v.stack,
                namespace: v.namespace,
                deployment: name,
                runbookBaseUrl,
              }),
            ),
          },
        },
        child,
      );
      new k8s.apiextensions.CustomResource(
        `${name}-monitor`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PodMonitor",
          metadata: metadata(name, labels),
          spec: s.apply(streamPodMonitorSpec),
        },
        child,
      );
    }

    this.deploymentName = pulumi.output(name);
    this.metricsPort = pulumi.output(STREAM_METRICS_PORT);
    this.ruleName = pulumi.output(args.monitoring ? name : "");
    this.registerOutputs({
      deploymentName: this.deploymentName,
      metricsPort: this.metricsPort,
      ruleName: this.ruleName,
    });
  }
}

/** Resolves the args into the settings the renderers take. */
function streamSettings(
  name: string,
  a: pulumi.Unwrap<ContinuousBackupArgs>,
  redis: pulumi.Unwrap<StreamedRedis>,
): StreamSettings {
  return {
    name,
    namespace: a.namespace,
    stack: a.stack,
    image: a.jobsImage,
    bucket: a.bucket,
    prefix: a.prefix,
    region: a.region,
    sentinels: redis.sentinels,
    masterName: redis.masterName,
    secretName: redis.secretName,
    serviceAccountName: a.serviceAccountName,
    monitoringNamespaces: a.monitoringNamespaces ?? ["monitoring"],
  };
}
