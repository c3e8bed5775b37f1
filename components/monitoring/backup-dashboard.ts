// BackupDashboard: the stack's Grafana dashboard as a ConfigMap that the Grafana sidecar (kube-prometheus-
// stack, the grafana chart) loads by its label `grafana_dashboard: "1"`. Rendered by ./dashboard.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { recommendedLabels } from "../shared/k8s";
import { type DashboardSettings, grafanaDashboard } from "./dashboard";

/** The label the Grafana sidecar looks for on ConfigMaps, and its value. */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;

/** Arguments of BackupDashboard. */
export interface BackupDashboardArgs {
  /** What the dashboard shows. */
  dashboard: DashboardSettings;
  /** Namespace of the ConfigMap (one the sidecar searches). Default: the stack's namespace. */
  namespace?: string;
}

/** The Grafana dashboard of a stack. */
export class BackupDashboard extends pulumi.ComponentResource {
  /** Name of the ConfigMap. */
  public readonly configMapName: string;
  /** The dashboard's uid in Grafana. */
  public readonly uid: string;

  /**
   * @param name base name of the ConfigMap.
   * @param args see BackupDashboardArgs.
   * @param opts resource options; the Kubernetes provider comes through here.
   */
  constructor(name: string, args: BackupDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:monitoring:BackupDashboard", name, {}, opts);
    const dashboard = grafanaDashboard(args.dashboard);
    const configMapName = `${name}-${args.dashboard.stack}-dashboard`;
    new k8s.core.v1.ConfigMap(
      `${name}-dashboard`,
      {
        metadata: {
          name: configMapName,
          namespace: args.namespace ?? args.dashboard.namespace,
          labels: { ...recommendedLabels(name, "holdfast-monitoring", "dashboard"), ...DASHBOARD_LABEL },
          // The folder, where the sidecar is set to read it (folderAnnotation: grafana_folder).
          annotations: { grafana_folder: "Holdfast" },
        },
        data: { [`${dashboard.uid}.json`]: JSON.stringify(dashboard, null, 2) },
      },
      { parent: this },
    );
    this.configMapName = configMapName;
    this.uid = dashboard.uid!;
    this.registerOutputs({ configMapName, uid: dashboard.uid });
  }
}
