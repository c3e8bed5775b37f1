// The monitoring area: the alerts, the dashboard, and the BackupAlerts and BackupDashboard components
// (the metric names they read are core/metrics.ts).
export * from "./alerts";
export * from "./backup-alerts";
export * from "./backup-dashboard";
export * from "./dashboard";
export * from "./selectors";
