// The Holdfast stack program: stack config in, components wired, stack outputs out. index.ts runs it
// under the Pulumi CLI; tools/offline.ts runs it under mocks for `npm run render` and the tests.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { projectDir, type HoldfastConfig } from "./config";
import { SentinelRedis } from "./components/redis";
import type { EngineKind } from "./core/engines";
import { redisSetNames } from "./core/redis-set";
import type { HoldfastOutputs as StackOutputsOf } from "./core/stack-outputs";
import { BackupBucket, type ObjectLockMode } from "./components/backup-bucket";
import { JobsImage } from "./components/jobs-image";
import { LanceDbStore, lanceDbLabels } from "./components/lancedb";
import { BackupSchedule } from "./components/backup-schedule";
import { BackupAlerts, BackupDashboard, type WatchedStack } from "./components/monitoring";
import { selectorLabels } from "./components/shared/k8s";
import { type LanceDbMode } from "./core/lancedb";

/** What operators and the holdfast stack commands read from a stack (`pulumi stack output --json`). */
export type HoldfastOutputs = StackOutputsOf<pulumi.Input<string>>;

/**
 * Builds every resource of a stack.
 * @param config the stack's configuration (see config.ts and Pulumi.yaml).
 */
export function holdfastStack(config: HoldfastConfig): HoldfastOutputs {
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

  if (config.backupReplicaRegion && config.backupReplicaRegion === new pulumi.Config("aws").get("region"))
    throw new Error(
      "invalid stack config: backupReplicaRegion must differ from aws:region (an offsite copy)",
    );
  const backup = new BackupBucket("backups", {
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

  // Pods run the image built from this repository by digest when the stack builds it.
  const built = config.buildJobsImage
    ? new JobsImage("jobs", {
        context: projectDir,
        redisImage: config.redisImage,
        engine: config.redisEngine as EngineKind,
        keepImages: config.jobsImageKeep,
        repositoryName: `holdfast/${config.stack.toLowerCase()}/jobs`,
        tags: { "app.kubernetes.io/part-of": "holdfast", "holdfast.dev/stack": config.stack },
      })
    : undefined;
  const jobsImage = built ? built.imageRef : config.jobsImage;
  const redis = new SentinelRedis(
    "redis",
    {
      namespace: config.namespace,
      redisImage: config.redisImage,
      engine: config.redisEngine as EngineKind,
      jobsImage,
      masterName: config.redisMasterName,
      replicas: config.redisReplicas,
      sentinels: config.sentinelReplicas,
      quorum: config.sentinelQuorum,
      downAfterMilliseconds: config.downAfterMilliseconds,
      failoverTimeoutMilliseconds: config.failoverTimeoutMilliseconds,
      minReplicasToWrite: config.minReplicasToWrite,
      minReplicasMaxLag: config.minReplicasMaxLag,
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
    },
    { provider, dependsOn: [namespace] },
  );

  const lancedb = new LanceDbStore(
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
      jobsImage,
      efs: {
        fileSystemId: config.lancedbEfsFileSystemId || undefined,
        accessPointId: config.lancedbEfsAccessPointId || undefined,
        subnetIds: config.lancedbSubnetIds,
        securityGroupId: config.lancedbSecurityGroupId || undefined,
      },
      // The seed's "attach the object store path": the live dataset sits beside the stack's backups.
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
    { provider, dependsOn: [namespace] },
  );

  // The seed's daily backups, retention and monthly restore test, as CronJobs (and Fargate tasks).
  // A dataset directly on S3 has no volume to read a snapshot from: its protection is the bucket's
  // versioning and Object Lock, and it gets no LanceDB backup job.
  const lancedbOnVolume = lancedb.mode !== "s3";
  const schedule = new BackupSchedule(
    "schedule",
    {
      namespace: config.namespace,
      jobsImage,
      timeZone: config.scheduleTimeZone,
      roleArns: backup.roleArns,
      serviceAccounts: backup.serviceAccounts,
      settings: {
        stack: config.stack,
        bucket: backup.bucketName,
        prefix: backup.prefix,
        region: backup.region,
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
          sentinels: redis.sentinelAddresses,
          masterName: redis.masterName,
          secretName: redis.secretName,
          patterns: config.backupPatterns,
          scratchSize: config.redisStorageSize,
          memoryLimit: config.redisMemoryLimit,
        },
        lancedb: lancedbOnVolume ? { dataPath: lancedb.dataPath } : undefined,
      },
      lancedbVolume: lancedbOnVolume
        ? {
            claimName: lancedb.claimNames[0],
            dataPath: lancedb.dataPath,
            uid: config.lancedbAppUid,
            // An EBS volume is attached to the application's node: the backup reads it from there.
            sameNodeAs:
              lancedb.mode === "ebs" ? selectorLabels(lanceDbLabels({ name: "lancedb" })) : undefined,
          }
        : undefined,
      fargate: config.fargateBackups
        ? {
            subnetIds: config.fargateSubnetIds,
            securityGroupIds: config.fargateSecurityGroupIds,
            clusterArn: config.ecsClusterArn || undefined,
            efs:
              lancedb.mode === "efs"
                ? {
                    fileSystemId: lancedb.efsFileSystemId,
                    accessPointId: lancedb.efsAccessPointId,
                    uid: config.lancedbAppUid,
                  }
                : undefined,
          }
        : undefined,
    },
    { provider, dependsOn: [namespace] },
  );

  // What the alerts and the dashboard watch.
  const watched: WatchedStack = {
    stack: config.stack,
    namespace: config.namespace,
    redis: {
      statefulSet: redis.statefulSetName,
      sentinelStatefulSet: redis.sentinelStatefulSetName,
      masterName: redis.masterName,
      quorum: config.sentinelQuorum,
    },
    stores: lancedbOnVolume ? ["redis", "lancedb"] : ["redis"],
    backupMaxAgeHours: config.backupMaxAgeHours,
    drillMaxAgeDays: 35,
  };
  if (config.prometheusRules) {
    new BackupAlerts(
      "holdfast",
      {
        alerts: { ...watched, runbookBaseUrl: config.runbookBaseUrl },
        labels: Object.fromEntries(
          config.prometheusRuleLabels.map((l) => l.split("=", 2) as [string, string]),
        ),
      },
      { provider, dependsOn: [namespace] },
    );
  }
  if (config.grafanaDashboard) {
    new BackupDashboard(
      "holdfast",
      {
        dashboard: { ...watched, datasource: config.grafanaDatasource },
        namespace: config.grafanaDashboardNamespace || undefined,
      },
      { provider, dependsOn: [namespace] },
    );
  }

  return {
    stack: config.stack,
    namespace: config.namespace,
    kubeContext: config.kubeContext,
    protected: config.stack === "prod",
    schedule: { cronJobs: schedule.cronJobs, taskDefinitions: schedule.taskDefinitions },
    redis: {
      statefulSet: redis.statefulSetName,
      sentinelStatefulSet: redis.sentinelStatefulSetName,
      sentinelEndpoint: redis.sentinelEndpoint,
      sentinels: redis.sentinelAddresses,
      masterName: redis.masterName,
      secretName: redis.secretName,
      claimNames: redis.claimNames,
      sentinelClaimNames: Array.from(
        { length: config.sentinelReplicas },
        (_, i) =>
          `${redisSetNames(redis.statefulSetName).sentinelStateClaim}-${redis.sentinelStatefulSetName}-${i}`,
      ),
      storageClassName: redis.storageClassName,
    },
    backupPrefix: config.backupPrefix,
    backup: {
      bucket: backup.bucketName,
      bucketArn: backup.bucketArn,
      region: backup.region,
      prefix: backup.prefix,
      kmsKeyArn: backup.kmsKeyArn,
      roles: backup.roleArns,
      objectLockMode: config.backupObjectLockMode,
      objectLockDays: config.backupObjectLockMode ? config.backupObjectLockDays : 0,
      serviceAccounts: backup.serviceAccounts,
      replicaBucket: backup.replicaBucketName,
      replicaRegion: backup.replicaRegion,
      replicaKmsKeyArn: backup.replicaKmsKeyArn,
    },
    monitoring: {
      crds: config.prometheusRules
        ? ["prometheusrules.monitoring.coreos.com", "podmonitors.monitoring.coreos.com"]
        : [],
    },
    jobsImage,
    jobsRepository: built?.repositoryUrl ?? "",
    lancedb: {
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
    },
  };
}
