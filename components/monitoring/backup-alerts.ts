// BackupAlerts: the PrometheusRule with the stack's alerts and the PodMonitor that scrapes the Redis
// exporters, for clusters with the Prometheus Operator's CRDs. Rendered by ./alerts.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { recommendedLabels } from "../shared/k8s";
import { alertGroups, AlertSettings, podMonitorSpec } from "./alerts";

/** Arguments of BackupAlerts. */
export interface BackupAlertsArgs {
  /** What the alerts watch. */
  alerts: AlertSettings;
  /** Extra labels on both objects, to match the Prometheus's ruleSelector and podMonitorSelector. */
  labels?: Record<string, string>;
}

/** The alerts and scrape configuration of a stack. */
export class BackupAlerts extends pulumi.ComponentResource {
  /** Name of the PrometheusRule. */
  public readonly ruleName: string;

  /**
   * @param name base name of the objects.
   * @param args see BackupAlertsArgs.
   * @param opts resource options; the Kubernetes provider comes through here.
   */
  constructor(name: string, args: BackupAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:monitoring:BackupAlerts", name, {}, opts);
    const labels = { ...recommendedLabels(name, "holdfast-monitoring", "alerts"), ...args.labels };
    const namespace = args.alerts.namespace;
    new k8s.apiextensions.CustomResource(
      `${name}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name, namespace, labels },
        spec: { groups: alertGroups(args.alerts) },
      },
      { parent: this },
    );
    new k8s.apiextensions.CustomResource(
      `${name}-redis-exporters`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name: `${name}-redis`, namespace, labels },
        spec: podMonitorSpec(args.alerts.redis.statefulSet),
      },
      { parent: this },
    );
    this.ruleName = name;
    this.registerOutputs({ ruleName: name });
  }
}
