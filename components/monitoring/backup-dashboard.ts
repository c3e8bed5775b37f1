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
  dashboard: pulumi.Input<DashboardSettings>;
  /** Namespace of the ConfigMap (one the sidecar searches). Default: the stack's namespace. */
  namespace?: pulumi.Input<string>;
}

/** The Grafana dashboard of a stack. */
export class BackupDashboard extends pulumi.ComponentResource {
  /** Name of the ConfigMap. */
  public readonly configMapName: pulumi.Output<string>;
  /** The dashboard's uid in Grafana. */
  public readonly uid: pulumi.Output<string>;

  /**
   * @param name base name of the ConfigMap.
   * @param args see BackupDashboardArgs.
   * @param opts resource options; the Kubernetes provider comes through here.
   */
  constructor(name: string, args: BackupDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:monitoring:BackupDashboard", name, {}, opts);
    const settings = pulumi.output(args.dashboard) as pulumi.Output<DashboardSettings>;
    const dashboard = settings.apply(grafanaDashboard);
    const configMapName = pulumi.interpolate`${name}-${settings.stack}-dashboard`;
    new k8s.core.v1.ConfigMap(
      `${name}-dashboard`,
      {
        metadata: {
          name: configMapName,
          namespace: args.namespace ?? settings.namespace,
          labels: { ...recommendedLabels(name, "holdfast-monitoring", "dashboard"), ...DASHBOARD_LABEL },
          // The folder, where the sidecar is set to read it (folderAnnotation: grafana_folder).
          annotations: { grafana_folder: "Holdfast" },
        },
        data: dashboard.apply((d) => ({ [`${d.uid}.json`]: JSON.stringify(d, null, 2) })),
      },
      { parent: this },
    );
    this.configMapName = configMapName;
    this.uid = dashboard.apply((d) => d.uid!);
    this.registerOutputs({ configMapName: this.configMapName, uid: this.uid });
  }
}
