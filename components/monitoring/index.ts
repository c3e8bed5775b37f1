// The monitoring area: the alerts, the metric names they read, and the BackupAlerts component.
export * from "./alerts";
export * from "./backup-alerts";
export * from "./metrics";
