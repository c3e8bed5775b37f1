// The schedules area: the BackupSchedule component and the pure job list and renderers it shares with
// the tests and the holdfast CLI.
export * from "./backup-schedule";
export * from "./cron";
export * from "./cronjob";
export * from "./fargate";
export * from "./jobs";
