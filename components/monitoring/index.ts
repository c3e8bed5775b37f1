// The monitoring area: the alerts, the dashboard, the metric names they read, and the BackupAlerts and
// BackupDashboard components.
export * from "./alerts";
export * from "./backup-alerts";
export * from "./backup-dashboard";
export * from "./dashboard";
export * from "./metrics";
export * from "./selectors";
