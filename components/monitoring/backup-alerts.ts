// BackupAlerts: the PrometheusRule with the stack's alerts and the PodMonitor that scrapes the Redis
// exporters, for clusters with the Prometheus Operator's CRDs. Rendered by ./alerts.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { recommendedLabels } from "../shared/k8s";
import { alertGroups, AlertSettings, podMonitorSpec } from "./alerts";

/** Arguments of BackupAlerts. */
export interface BackupAlertsArgs {
  /** What the alerts watch (the PrometheusRule and PodMonitor go in its namespace). */
  alerts: pulumi.Input<AlertSettings>;
  /** Extra labels on both objects, to match the Prometheus's ruleSelector and podMonitorSelector. */
  labels?: Record<string, string>;
}

/** The alerts and scrape configuration of a stack. */
export class BackupAlerts extends pulumi.ComponentResource {
  /** Name of the PrometheusRule. */
  public readonly ruleName: pulumi.Output<string>;

  /**
   * @param name base name of the objects.
   * @param args see BackupAlertsArgs.
   * @param opts resource options; the Kubernetes provider comes through here.
   */
  constructor(name: string, args: BackupAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:monitoring:BackupAlerts", name, {}, opts);
    const labels = { ...recommendedLabels(name, "holdfast-monitoring", "alerts"), ...args.labels };
    const alerts = pulumi.output(args.alerts) as pulumi.Output<AlertSettings>;
    const namespace = alerts.namespace;
    new k8s.apiextensions.CustomResource(
      `${name}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name, namespace, labels },
        spec: { groups: alerts.apply(alertGroups) },
      },
      { parent: this },
    );
    new k8s.apiextensions.CustomResource(
      `${name}-redis-exporters`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name: `${name}-redis`, namespace, labels },
        spec: alerts.apply((a) => podMonitorSpec(a.redis.statefulSet)),
      },
      { parent: this },
    );
    this.ruleName = pulumi.output(name);
    this.registerOutputs({ ruleName: this.ruleName });
  }
}
