// The Holdfast component library: every component with its args and outputs, for Pulumi programs that
// protect Redis and LanceDB (the stack program in stack.ts is one of them; examples/ holds another).
// The package's entry point (package.json main) and the module `pulumi package add` introspects to
// generate SDKs for other languages (PulumiPlugin.yaml). Pure renderers stay in each area's module.
export { SentinelRedis, type SentinelRedisArgs } from "./redis/sentinel-redis";
export {
  LanceDbStore,
  type LanceDbStoreArgs,
  type LanceDbEfsArgs,
  type LanceDbS3Args,
} from "./lancedb/lancedb-store";
export {
  BackupBucket,
  type BackupBucketArgs,
  type BackupBucketOptions,
  type ObjectLockMode,
} from "./backup-bucket/backup-bucket";
export { BackupSchedule, type BackupScheduleArgs } from "./backup-schedule/backup-schedule";
export { JobsImage, type JobsImageArgs } from "./jobs-image/jobs-image";
export { BackupAlerts, type BackupAlertsArgs } from "./monitoring/backup-alerts";
export { BackupDashboard, type BackupDashboardArgs } from "./monitoring/backup-dashboard";
export { type LanceDbElectionArgs } from "./lancedb/lancedb-store";
export {
  type LanceDbVolumeArgs,
  type FargateArgs,
  type FargateEfsArgs,
} from "./backup-schedule/backup-schedule";
export type { JobRoleArns, JobServiceAccounts } from "./backup-bucket/backup-bucket";
export type {
  ScheduleSettings,
  JobSchedules,
  JobRetention,
  ScheduledRedis,
  ScheduledLanceDb,
} from "./backup-schedule/jobs";
export type { AlertSettings } from "./monitoring/alerts";
export type { DashboardSettings } from "./monitoring/dashboard";
export type { WatchedStack, WatchedRedis } from "./monitoring/selectors";
export { RedisEngine, LanceDbStorage, BackupStore } from "./shared/enums";
