// The Holdfast component library: every component with its args and outputs types, for Pulumi programs
// that protect Redis and LanceDB. The stack program (stack.ts) is one consumer, examples/ another.
// It is the package's entry point (package.json main) and the module `pulumi package add` introspects
// to generate SDKs for other languages (PulumiPlugin.yaml, docs/components.md). The pure renderers
// stay in each area's own index.

// A Sentinel-replicated Redis set.
export { SentinelRedis, type SentinelRedisArgs } from "./redis/sentinel-redis";
// The application that embeds LanceDB, on EBS, EFS or S3.
export {
  LanceDbStore,
  type LanceDbStoreArgs,
  type LanceDbEfsArgs,
  type LanceDbS3Args,
  type LanceDbElectionArgs,
  type LanceDbProbeArgs,
} from "./lancedb/lancedb-store";
// The backup bucket, its offsite copy and the jobs' IAM roles.
export {
  BackupBucket,
  type BackupBucketArgs,
  type BackupBucketOptions,
  type JobRoleArns,
  type JobServiceAccounts,
} from "./backup-bucket/backup-bucket";
// The scheduled backups, prune and restore drill.
export {
  BackupSchedule,
  type BackupScheduleArgs,
  type LanceDbVolumeArgs,
  type FargateArgs,
  type FargateEfsArgs,
} from "./backup-schedule/backup-schedule";
export type {
  ScheduleSettings,
  JobSchedules,
  JobRetention,
  ScheduledRedis,
  ScheduledLanceDb,
} from "./backup-schedule/jobs";
// Continuous protection: the Redis replication stream shipped to the bucket, for point-in-time restores.
export {
  ContinuousBackup,
  type ContinuousBackupArgs,
  type StreamedRedis,
  type StreamMonitoringArgs,
} from "./continuous-backup/continuous-backup";
// The jobs image, built and pushed to ECR.
export { JobsImage, type JobsImageArgs } from "./jobs-image/jobs-image";
// Alerts and dashboard.
export { BackupAlerts, type BackupAlertsArgs } from "./monitoring/backup-alerts";
export { BackupDashboard, type BackupDashboardArgs } from "./monitoring/backup-dashboard";
export type { AlertSettings } from "./monitoring/alerts";
export type { DashboardSettings } from "./monitoring/dashboard";
export type { WatchedStack, WatchedRedis, StackSeries } from "./monitoring/selectors";
// The closed sets of values the args take.
export { RedisEngine, LanceDbStorage, ObjectLockMode, BackupStore } from "./shared/enums";
