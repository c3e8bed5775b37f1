// The Holdfast stack program: stack config in, components wired, stack outputs out. index.ts runs it
// under the Pulumi CLI; tools/offline.ts runs it under mocks for `npm run render` and the tests. It is
// one consumer of the component library (components/index.ts), as examples/ is another.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { projectDir, type HoldfastConfig } from "./config";
import {
  BackupAlerts,
  BackupBucket,
  BackupDashboard,
  BackupSchedule,
  ContinuousBackup,
  JobsImage,
  LanceDbStore,
  SentinelRedis,
  type LanceDbVolumeArgs,
  type ObjectLockMode,
  type RedisEngine,
} from "./components";
import { redisSetNames } from "./core/redis-set";
import type { HoldfastOutputs as StackOutputsOf } from "./core/stack-outputs";
import { JOB_SERVICE_ACCOUNTS } from "./components/backup-bucket";
import { lanceDbLabels } from "./components/lancedb";
import type { WatchedStack } from "./components/monitoring";
import { selectorLabels } from "./components/shared/k8s";
import type { LanceDbMode } from "./core/lancedb";

type Resolved = StackOutputsOf<string>;

/** What operators and the holdfast stack commands read from a stack (`pulumi stack output --json`). */
export type HoldfastOutputs = { [K in keyof Resolved]: pulumi.Input<Resolved[K]> };

/** The Kubernetes provider and namespace every workload of the stack goes through and into. */
interface Cluster {
  provider: k8s.Provider;
  namespace: k8s.core.v1.Namespace;
  /** Resource options of the components that create Kubernetes objects. */
  opts: pulumi.ComponentResourceOptions;
}

/**
 * Builds every resource of a stack.
 * @param config the stack's configuration (see config.ts and Pulumi.yaml).
 */
export function holdfastStack(config: HoldfastConfig): HoldfastOutputs {
  if (config.backupReplicaRegion && config.backupReplicaRegion === new pulumi.Config("aws").get("region"))
    throw new Error(
      "invalid stack config: backupReplicaRegion must differ from aws:region (an offsite copy)",
    );
  const cluster = stackCluster(config);
  const backup = backupBucket(config);
  // Pods run the image built from this repository by digest when the stack builds it.
  const built = config.buildJobsImage ? jobsImage(config) : undefined;
  const image = built ? built.imageRef : pulumi.output(config.jobsImage);
  const redis = sentinelRedis(config, image, cluster.opts);
  const lancedb = lanceDbStore(config, image, backup, cluster.opts);
  const schedule = backupSchedule(config, { image, backup, redis, lancedb }, cluster.opts);
  // The stream runs as the schedule's backup service account and reads the set's Secret: after both.
  if (config.continuousBackup)
    continuousBackup(
      config,
      { image, backup, redis },
      { ...cluster.opts, dependsOn: [cluster.namespace, redis, schedule] },
    );
  monitoring(config, cluster.opts);
  return stackOutputs(config, { backup, built, image, redis, lancedb, schedule });
}

/** The Kubernetes provider of the stack's context, and the stack's namespace. */
function stackCluster(config: HoldfastConfig): Cluster {
  const provider = new k8s.Provider("kubernetes", {
    context: config.kubeContext || undefined,
    enableServerSideApply: true,
  });
  // The namespace holds the data volumes' claims: deleting it would delete them, so it is protected.
  const namespace = new k8s.core.v1.Namespace(
    "namespace",
    {
      metadata: {
        name: config.namespace,
        labels: { "app.kubernetes.io/part-of": "holdfast", "holdfast.dev/stack": config.stack },
      },
    },
    { provider, protect: true, retainOnDelete: true },
  );
  return { provider, namespace, opts: { provider, dependsOn: [namespace] } };
}

function backupBucket(config: HoldfastConfig): BackupBucket {
  return new BackupBucket("backups", {
    prefix: config.backupPrefix,
    noncurrentVersionDays: config.backupNoncurrentVersionDays,
    transitionDays: config.backupTransitionDays,
    transitionStorageClass: config.backupTransitionStorageClass,
    objectLockMode: (config.backupObjectLockMode as ObjectLockMode) || undefined,
    objectLockDays: config.backupObjectLockDays,
    replicaRegion: config.backupReplicaRegion || undefined,
    kmsKeyArn: config.backupKmsKeyArn || undefined,
    namespace: config.namespace,
    oidcProviderArn: config.oidcProviderArn || undefined,
    oidcIssuer: config.oidcIssuer || undefined,
    tags: { "holdfast.dev/stack": config.stack },
  });
}

function jobsImage(config: HoldfastConfig): JobsImage {
  return new JobsImage("jobs", {
    context: projectDir,
    redisImage: config.redisImage,
    engine: config.redisEngine as RedisEngine,
    keepImages: config.jobsImageKeep,
    repositoryName: `holdfast/${config.stack.toLowerCase()}/jobs`,
    tags: { "app.kubernetes.io/part-of": "holdfast", "holdfast.dev/stack": config.stack },
  });
}

function sentinelRedis(
  config: HoldfastConfig,
  image: pulumi.Input<string>,
  opts: pulumi.ComponentResourceOptions,
): SentinelRedis {
  return new SentinelRedis(
    "redis",
    {
      namespace: config.namespace,
      redisImage: config.redisImage,
      engine: config.redisEngine as RedisEngine,
      jobsImage: image,
      masterName: config.redisMasterName,
      replicas: config.redisReplicas,
      sentinels: config.sentinelReplicas,
      quorum: config.sentinelQuorum,
      downAfterMilliseconds: config.downAfterMilliseconds,
      failoverTimeoutMilliseconds: config.failoverTimeoutMilliseconds,
      minReplicasToWrite: config.minReplicasToWrite,
      minReplicasMaxLag: config.minReplicasMaxLag,
      replBacklogSize: config.replBacklogSize,
      storageClassName: config.storageClassName || undefined,
      storageSize: config.redisStorageSize,
      cpuRequest: config.redisCpuRequest,
      cpuLimit: config.redisCpuLimit,
      memoryLimit: config.redisMemoryLimit,
      sentinelMemoryLimit: config.sentinelMemoryLimit,
      zones: config.zones,
      strictScheduling: config.strictScheduling,
      allowedNamespaces: config.allowedNamespaces,
      exporterImage: config.redisExporterImage,
      monitoringNamespaces: config.monitoringNamespaces,
      streamUser: config.continuousBackup,
    },
    opts,
  );
}

function lanceDbStore(
  config: HoldfastConfig,
  image: pulumi.Input<string>,
  backup: BackupBucket,
  opts: pulumi.ComponentResourceOptions,
): LanceDbStore {
  return new LanceDbStore(
    "lancedb",
    {
      namespace: config.namespace,
      mode: config.lancedbMode as LanceDbMode,
      appImage: config.lancedbAppImage,
      appPort: config.lancedbAppPort,
      appUid: config.lancedbAppUid,
      dataPath: config.lancedbDataPath,
      env: Object.fromEntries(
        config.lancedbEnv.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
      ),
      resources: {
        requests: { cpu: config.lancedbCpuRequest, memory: config.lancedbMemoryLimit },
        limits: { cpu: config.lancedbCpuLimit, memory: config.lancedbMemoryLimit },
      },
      storageSize: config.lancedbStorageSize,
      storageClassName: config.storageClassName || undefined,
      jobsImage: image,
      efs: {
        fileSystemId: config.lancedbEfsFileSystemId || undefined,
        accessPointId: config.lancedbEfsAccessPointId || undefined,
        subnetIds: config.lancedbSubnetIds,
        securityGroupId: config.lancedbSecurityGroupId || undefined,
      },
      // The live dataset on S3 sits beside the stack's backups, in its bucket unless one is named.
      s3: {
        bucket: config.lancedbS3Bucket || backup.bucketName,
        prefix: config.backupPrefix,
        region: backup.region,
      },
      roleArn: config.lancedbRoleArn || undefined,
      zones: config.zones,
      strictScheduling: config.strictScheduling,
      allowedNamespaces: config.allowedNamespaces,
    },
    opts,
  );
}

/** The stores the schedule and the outputs read. */
interface Stores {
  image: pulumi.Input<string>;
  backup: BackupBucket;
  redis: SentinelRedis;
  lancedb: LanceDbStore;
}

/**
 * The daily backups, the retention prune and the monthly restore drill, as CronJobs (and Fargate tasks).
 * A dataset directly on S3 has no volume to read a snapshot from: its protection is the bucket's
 * versioning and Object Lock, and it gets no LanceDB backup job.
 */
function backupSchedule(
  config: HoldfastConfig,
  s: Stores,
  opts: pulumi.ComponentResourceOptions,
): BackupSchedule {
  const mode = config.lancedbMode as LanceDbMode;
  const lancedbVolume: LanceDbVolumeArgs | undefined =
    mode !== "s3"
      ? {
          claimName: s.lancedb.claimNames.apply((c) => c[0]),
          dataPath: s.lancedb.dataPath,
          uid: config.lancedbAppUid,
          // An EBS volume is attached to the application's node: the backup reads it from there.
          sameNodeAs: mode === "ebs" ? selectorLabels(lanceDbLabels({ name: "lancedb" })) : undefined,
        }
      : undefined;
  return new BackupSchedule(
    "schedule",
    {
      namespace: config.namespace,
      jobsImage: s.image,
      timeZone: config.scheduleTimeZone,
      roleArns: s.backup.roleArns,
      serviceAccounts: { ...JOB_SERVICE_ACCOUNTS },
      settings: {
        stack: config.stack,
        bucket: s.backup.bucketName,
        prefix: s.backup.prefix,
        region: s.backup.region,
        pushgatewayUrl: config.pushgatewayUrl,
        schedules: {
          redisBackup: config.redisBackupSchedule,
          lancedbBackup: config.lancedbBackupSchedule,
          prune: config.pruneSchedule,
          drill: config.drillSchedule,
        },
        retention: {
          keepLast: config.retentionKeepLast,
          keepDaily: config.retentionKeepDaily,
          keepWeekly: config.retentionKeepWeekly,
          keepMonthly: config.retentionKeepMonthly,
        },
        redis: {
          sentinels: s.redis.sentinelAddresses,
          masterName: s.redis.masterName,
          secretName: s.redis.secretName,
          patterns: config.backupPatterns,
          scratchSize: config.redisStorageSize,
          memoryLimit: config.redisMemoryLimit,
        },
        lancedb: lancedbVolume ? { dataPath: s.lancedb.dataPath } : undefined,
      },
      lancedbVolume,
      fargate: config.fargateBackups
        ? {
            subnetIds: config.fargateSubnetIds,
            securityGroupIds: config.fargateSecurityGroupIds,
            clusterArn: config.ecsClusterArn || undefined,
            efs:
              mode === "efs"
                ? {
                    fileSystemId: s.lancedb.efsFileSystemId,
                    accessPointId: s.lancedb.efsAccessPointId,
                    uid: config.lancedbAppUid,
                  }
                : undefined,
          }
        : undefined,
    },
    opts,
  );
}

/** The continuous-protection stream's component and Deployment name. */
const STREAM_DEPLOYMENT = "redis-stream";

/**
 * Continuous protection: the stream joins the Redis set as its `stream` user and writes under the
 * stack's prefix as the backup role, through the backup CronJob's service account (the one the role
 * trusts). Its alerts and scrape come with the stack's other alerts.
 */
function continuousBackup(
  config: HoldfastConfig,
  s: Pick<Stores, "image" | "backup" | "redis">,
  opts: pulumi.ComponentResourceOptions,
): ContinuousBackup {
  return new ContinuousBackup(
    STREAM_DEPLOYMENT,
    {
      namespace: config.namespace,
      jobsImage: s.image,
      stack: config.stack,
      bucket: s.backup.bucketName,
      prefix: s.backup.prefix,
      region: s.backup.region,
      redis: {
        sentinels: s.redis.sentinelAddresses,
        masterName: s.redis.masterName,
        secretName: s.redis.secretName,
      },
      serviceAccountName: JOB_SERVICE_ACCOUNTS.backup,
      monitoringNamespaces: config.monitoringNamespaces,
      monitoring: config.prometheusRules
        ? { runbookBaseUrl: config.runbookBaseUrl, labels: ruleLabels(config) }
        : undefined,
    },
    opts,
  );
}

/** The extra labels of the PrometheusRules and PodMonitors (prometheusRuleLabels, NAME=value). */
function ruleLabels(config: HoldfastConfig): Record<string, string> {
  return Object.fromEntries(config.prometheusRuleLabels.map((l) => l.split("=", 2) as [string, string]));
}

/** The alerts and the dashboard, when the stack's config asks for them. */
function monitoring(config: HoldfastConfig, opts: pulumi.ComponentResourceOptions): void {
  // What the alerts and the dashboard watch: the names the stack gave its Redis set.
  const names = redisSetNames("redis");
  const watched: WatchedStack = {
    stack: config.stack,
    namespace: config.namespace,
    redis: {
      statefulSet: names.statefulSet,
      sentinelStatefulSet: names.sentinelStatefulSet,
      masterName: config.redisMasterName,
      quorum: config.sentinelQuorum,
    },
    stores: config.lancedbMode !== "s3" ? ["redis", "lancedb"] : ["redis"],
    backupMaxAgeHours: config.backupMaxAgeHours,
    drillMaxAgeDays: 35,
    stream: config.continuousBackup ? { deployment: STREAM_DEPLOYMENT } : undefined,
  };
  if (config.prometheusRules) {
    new BackupAlerts(
      "holdfast",
      {
        alerts: { ...watched, runbookBaseUrl: config.runbookBaseUrl },
        labels: ruleLabels(config),
      },
      opts,
    );
  }
  if (config.grafanaDashboard) {
    new BackupDashboard(
      "holdfast",
      {
        dashboard: { ...watched, datasource: config.grafanaDatasource },
        namespace: config.grafanaDashboardNamespace || undefined,
      },
      opts,
    );
  }
}

/** The stack's outputs, from its config and its components' outputs. */
function stackOutputs(
  config: HoldfastConfig,
  c: Omit<Stores, "image"> & {
    built: JobsImage | undefined;
    image: pulumi.Output<string>;
    schedule: BackupSchedule;
  },
): HoldfastOutputs {
  const { backup, redis, lancedb } = c;
  const sentinelClaim = redisSetNames("redis").sentinelStateClaim;
  return {
    stack: config.stack,
    namespace: config.namespace,
    kubeContext: config.kubeContext,
    protected: config.stack === "prod",
    schedule: pulumi.output({ cronJobs: c.schedule.cronJobs, taskDefinitions: c.schedule.taskDefinitions }),
    redis: pulumi.output({
      statefulSet: redis.statefulSetName,
      sentinelStatefulSet: redis.sentinelStatefulSetName,
      sentinelEndpoint: redis.sentinelEndpoint,
      sentinels: redis.sentinelAddresses,
      masterName: redis.masterName,
      secretName: redis.secretName,
      claimNames: redis.claimNames,
      sentinelClaimNames: redis.sentinelStatefulSetName.apply((set) =>
        Array.from({ length: config.sentinelReplicas }, (_, i) => `${sentinelClaim}-${set}-${i}`),
      ),
      storageClassName: redis.storageClassName,
    }),
    backupPrefix: config.backupPrefix,
    backup: pulumi.output({
      bucket: backup.bucketName,
      bucketArn: backup.bucketArn,
      region: backup.region,
      prefix: backup.prefix,
      kmsKeyArn: backup.kmsKeyArn,
      roles: backup.roleArns,
      objectLockMode: config.backupObjectLockMode,
      objectLockDays: config.backupObjectLockMode ? config.backupObjectLockDays : 0,
      serviceAccounts: backup.serviceAccounts,
      // Keys of an offsite copy the stack does not have are left out, as before the library.
      ...(config.backupReplicaRegion
        ? {
            replicaBucket: backup.replicaBucketName,
            replicaRegion: backup.replicaRegion,
            replicaKmsKeyArn: backup.replicaKmsKeyArn,
          }
        : {}),
    }),
    monitoring: {
      crds: config.prometheusRules
        ? ["prometheusrules.monitoring.coreos.com", "podmonitors.monitoring.coreos.com"]
        : [],
    },
    jobsImage: c.image,
    jobsRepository: c.built?.repositoryUrl ?? "",
    lancedb: pulumi.output({
      mode: lancedb.mode,
      statefulSet: lancedb.statefulSetName,
      replicas: lancedb.replicas,
      service: lancedb.serviceName,
      serviceEndpoint: lancedb.serviceEndpoint,
      claimNames: lancedb.claimNames,
      leaseName: lancedb.leaseName,
      dataPath: lancedb.dataPath,
      datasetUri: lancedb.datasetUri,
      storageClassName: lancedb.storageClassName,
      efsFileSystemId: lancedb.efsFileSystemId,
    }),
  };
}
