// The scheduled jobs of a stack, independent of where they run: which `holdfast` command, when, as which
// role, with which environment. The Kubernetes CronJobs and the ECS Fargate tasks are both rendered from
// this one list, so the two runtimes cannot drift apart.
import type * as pulumi from "@pulumi/pulumi";
import type { JobRole } from "../backup-bucket";
import { bucketEnv, type JobEnv, redisUserEnv, sentinelEnv, sentinelUserEnv } from "../shared/job-env";
import { quantityToBytes } from "../../core/quantity";

export type { JobEnv };

/** The jobs Holdfast schedules. */
export type JobName = "redis-backup" | "lancedb-backup" | "prune" | "restore-drill";

/** One scheduled job. */
export interface DeclaredJob {
  name: JobName;
  /** One line for descriptions and the docs. */
  summary: string;
  /** Five-field cron schedule. */
  schedule: string;
  /** The IAM role (and Kubernetes service account) it runs as. */
  role: JobRole;
  /** The container's command: `holdfast` and the command's words. Flags come as environment twins. */
  command: string[];
  env: JobEnv[];
  /** The job is stopped after this long. */
  deadlineSeconds: number;
  /** Reads the LanceDB dataset, mounted read-only at the store's data path. */
  readsLanceDb: boolean;
  /** Connects to Redis and the sentinels (its pods carry the Redis set's client label). */
  connectsToRedis?: boolean;
  /** Scratch space it restores into (the drill); empty for none beyond /tmp. */
  scratchSize?: string;
  /** Memory request and limit: a drill loads a whole dataset into a throw-away Redis. */
  memory: string;
}

/** Five-field cron schedules of the jobs. */
export interface JobSchedules {
  /** The Redis backup. */
  redisBackup: string;
  /** The LanceDB backup. */
  lancedbBackup: string;
  /** The retention prune of both stores. */
  prune: string;
  /** The restore drill. */
  drill: string;
}

/** What the prune keeps. */
export interface JobRetention {
  /** The newest N backups of each store, whatever their age. */
  keepLast: number;
  /** The newest backup of each of the last N days. */
  keepDaily: number;
  /** The newest backup of each of the last N ISO weeks. */
  keepWeekly: number;
  /** The newest backup of each of the last N months. */
  keepMonthly: number;
}

/** The Redis set the backup and the drill read. */
export interface ScheduledRedis {
  /** Every sentinel as host:port, comma-separated. */
  sentinels: pulumi.Input<string>;
  /** Name the sentinels monitor the primary under. */
  masterName: pulumi.Input<string>;
  /** Secret with `backup-password` and `discovery-password`. */
  secretName: pulumi.Input<string>;
  /** Key patterns whose counts each backup records. */
  patterns: string[];
  /** Scratch space a drill restores a Redis backup into. */
  scratchSize: string;
  /** Memory of a data pod: what a drill's throw-away Redis needs to load the dataset. */
  memoryLimit: string;
}

/** The LanceDB dataset the backup reads. */
export interface ScheduledLanceDb {
  /** Where the dataset is mounted in the jobs that read it. */
  dataPath: pulumi.Input<string>;
}

/**
 * What the schedules are made from (stack config and the stores' outputs). Names, addresses and the
 * bucket may come from other resources; schedules, retention and sizes are plain (a job's memory
 * decides its Fargate task size).
 */
export interface ScheduleSettings {
  /** The stack's name, on every job's metrics. */
  stack: string;
  /** The backup bucket. */
  bucket: pulumi.Input<string>;
  /** Key prefix of the stack's backups. */
  prefix: pulumi.Input<string>;
  /** Region of the bucket. */
  region: pulumi.Input<string>;
  /** Pushgateway the jobs push to; empty for none. */
  pushgatewayUrl: string;
  /** When each job runs. */
  schedules: JobSchedules;
  /** What the prune keeps. */
  retention: JobRetention;
  /** The Redis set; none schedules no Redis backup. */
  redis?: ScheduledRedis;
  /** The LanceDB dataset on a volume; none schedules no LanceDB backup. */
  lancedb?: ScheduledLanceDb;
}

/** Environment every job has: the bucket, the stack, where to push metrics. */
function commonEnv(s: ScheduleSettings): JobEnv[] {
  const env: JobEnv[] = bucketEnv(s);
  if (s.pushgatewayUrl) env.push({ name: "HOLDFAST_PUSHGATEWAY", value: s.pushgatewayUrl });
  return env;
}

/**
 * Memory of the drill: the throw-away Redis loads a whole dataset (at most the data pod's maxmemory,
 * 75% of its limit), and a LanceDB verification scans each table (~600 MB for a 1 GiB table); never
 * less than 1Gi.
 */
export function drillMemory(redisMemoryLimit?: string): string {
  const mib = Math.ceil((redisMemoryLimit ? quantityToBytes(redisMemoryLimit) : 0) / 2 ** 20);
  return `${Math.max(1024, Math.ceil((mib * 1.25) / 256) * 256)}Mi`;
}

/** The scheduled jobs of a stack: a backup per store, the prune and the restore drill. */
export function declaredJobs(s: ScheduleSettings): DeclaredJob[] {
  const jobs: DeclaredJob[] = [];
  if (s.redis) {
    jobs.push({
      name: "redis-backup",
      summary: "stream an RDB from a replica into the bucket, verified, with its manifest written last",
      schedule: s.schedules.redisBackup,
      role: "backup",
      command: ["holdfast", "backup", "redis"],
      env: [
        ...commonEnv(s),
        ...sentinelEnv(s.redis.sentinels, s.redis.masterName),
        { name: "HOLDFAST_PATTERN", value: s.redis.patterns.join(",") },
        { name: "HOLDFAST_REASON", value: "scheduled" },
        ...redisUserEnv(s.redis.secretName, "backup"),
        ...sentinelUserEnv(s.redis.secretName),
      ],
      deadlineSeconds: 3 * 3600,
      readsLanceDb: false,
      connectsToRedis: true,
      memory: "256Mi",
    });
  }
  if (s.lancedb) {
    jobs.push({
      name: "lancedb-backup",
      summary: "copy every table's new immutable files, then its manifests, then the snapshot record",
      schedule: s.schedules.lancedbBackup,
      role: "backup",
      command: ["holdfast", "backup", "lancedb"],
      env: [
        ...commonEnv(s),
        { name: "HOLDFAST_DATA_DIR", value: s.lancedb.dataPath },
        { name: "HOLDFAST_REASON", value: "scheduled" },
      ],
      deadlineSeconds: 3 * 3600,
      readsLanceDb: true,
      memory: "512Mi",
    });
  }
  jobs.push({
    name: "prune",
    summary: "apply retention to both stores and garbage-collect Lance files no kept snapshot needs",
    schedule: s.schedules.prune,
    role: "prune",
    command: ["holdfast", "prune"],
    env: [
      ...commonEnv(s),
      { name: "HOLDFAST_KEEP_LAST", value: String(s.retention.keepLast) },
      { name: "HOLDFAST_KEEP_DAILY", value: String(s.retention.keepDaily) },
      { name: "HOLDFAST_KEEP_WEEKLY", value: String(s.retention.keepWeekly) },
      { name: "HOLDFAST_KEEP_MONTHLY", value: String(s.retention.keepMonthly) },
    ],
    deadlineSeconds: 3600,
    readsLanceDb: false,
    memory: "256Mi",
  });
  jobs.push({
    name: "restore-drill",
    summary: "restore the newest backup of each store into scratch space and check it against its record",
    schedule: s.schedules.drill,
    role: "restore",
    command: ["holdfast", "drill"],
    env: [...commonEnv(s), { name: "HOLDFAST_SCRATCH_DIR", value: "/scratch" }],
    deadlineSeconds: 6 * 3600,
    readsLanceDb: false,
    scratchSize: s.redis?.scratchSize ?? "10Gi",
    memory: drillMemory(s.redis?.memoryLimit),
  });
  return jobs;
}
