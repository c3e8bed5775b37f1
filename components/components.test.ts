// Each component alone under Pulumi mocks, as a library user would create it (values that come from
// other resources passed as Outputs): the resources it creates, under the names and the type token
// that existing stacks' URNs are made of (a change would replace protected resources, or need an
// alias), every one its child, and what holds data protected and kept on delete.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { runOffline, type OfflineRun } from "../tools/offline";
import { isKubernetesObject, toObject } from "../tools/render";
import { schemaProblems } from "../test/support/k8s-schema";
import {
  BackupAlerts,
  BackupBucket,
  BackupDashboard,
  BackupSchedule,
  ContinuousBackup,
  JobsImage,
  LanceDbStore,
  SentinelRedis,
  type WatchedStack,
} from ".";

jest.setTimeout(120_000);

const EXPECTED: Record<string, Expected> = {
  SentinelRedis: {
    token: "holdfast:redis:SentinelRedis",
    children: [
      "kubernetes:apps/v1:StatefulSet::cache-data",
      "kubernetes:apps/v1:StatefulSet::cache-sentinel",
      "kubernetes:core/v1:ConfigMap::cache-config",
      "kubernetes:core/v1:Secret::cache-auth",
      "kubernetes:core/v1:Service::cache-headless",
      "kubernetes:core/v1:Service::cache-sentinel-headless",
      "kubernetes:core/v1:Service::cache-sentinel-service",
      "kubernetes:core/v1:ServiceAccount::cache-account",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy::cache-network",
      "kubernetes:policy/v1:PodDisruptionBudget::cache-data-budget",
      "kubernetes:policy/v1:PodDisruptionBudget::cache-sentinel-budget",
      "kubernetes:storage.k8s.io/v1:StorageClass::cache-storage",
      "random:index/randomPassword:RandomPassword::cache-admin-password",
      "random:index/randomPassword:RandomPassword::cache-app-password",
      "random:index/randomPassword:RandomPassword::cache-backup-password",
      "random:index/randomPassword:RandomPassword::cache-discovery-password",
      "random:index/randomPassword:RandomPassword::cache-exporter-password",
      "random:index/randomPassword:RandomPassword::cache-probe-password",
      "random:index/randomPassword:RandomPassword::cache-replication-password",
      "random:index/randomPassword:RandomPassword::cache-sentinel-password",
      "random:index/randomPassword:RandomPassword::cache-stream-password",
    ],
    kept: [
      "kubernetes:apps/v1:StatefulSet::cache-data",
      "kubernetes:apps/v1:StatefulSet::cache-sentinel",
      "kubernetes:storage.k8s.io/v1:StorageClass::cache-storage",
    ],
  },
  LanceDbStore: {
    token: "holdfast:lancedb:LanceDbStore",
    children: [
      "kubernetes:apps/v1:StatefulSet::vectors-store",
      "kubernetes:core/v1:Service::vectors-headless",
      "kubernetes:core/v1:Service::vectors-service",
      "kubernetes:core/v1:ServiceAccount::vectors-account",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy::vectors-network",
      "kubernetes:policy/v1:PodDisruptionBudget::vectors-budget",
      "kubernetes:storage.k8s.io/v1:StorageClass::vectors-storage",
    ],
    kept: [
      "kubernetes:apps/v1:StatefulSet::vectors-store",
      "kubernetes:storage.k8s.io/v1:StorageClass::vectors-storage",
    ],
  },
  BackupBucket: {
    token: "holdfast:aws:BackupBucket",
    children: [
      "aws:iam/role:Role::backups-backup-role",
      "aws:iam/role:Role::backups-prune-role",
      "aws:iam/role:Role::backups-replication-role",
      "aws:iam/role:Role::backups-restore-role",
      "aws:iam/rolePolicy:RolePolicy::backups-backup-policy",
      "aws:iam/rolePolicy:RolePolicy::backups-prune-policy",
      "aws:iam/rolePolicy:RolePolicy::backups-replication-policy",
      "aws:iam/rolePolicy:RolePolicy::backups-restore-policy",
      "aws:kms/key:Key::backups-key",
      "aws:kms/key:Key::backups-replica-key",
      "aws:s3/bucket:Bucket::backups-bucket",
      "aws:s3/bucket:Bucket::backups-replica",
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration::backups-lifecycle",
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration::backups-replica-lifecycle",
      "aws:s3/bucketOwnershipControls:BucketOwnershipControls::backups-ownership",
      "aws:s3/bucketOwnershipControls:BucketOwnershipControls::backups-replica-ownership",
      "aws:s3/bucketPolicy:BucketPolicy::backups-policy",
      "aws:s3/bucketPolicy:BucketPolicy::backups-replica-policy",
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock::backups-public-access",
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock::backups-replica-public-access",
      "aws:s3/bucketReplicationConfig:BucketReplicationConfig::backups-replication",
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration::backups-encryption",
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration::backups-replica-encryption",
      "aws:s3/bucketVersioning:BucketVersioning::backups-replica-versioning",
      "aws:s3/bucketVersioning:BucketVersioning::backups-versioning",
    ],
    kept: [
      "aws:kms/key:Key::backups-key",
      "aws:kms/key:Key::backups-replica-key",
      "aws:s3/bucket:Bucket::backups-bucket",
      "aws:s3/bucket:Bucket::backups-replica",
      "aws:s3/bucketVersioning:BucketVersioning::backups-replica-versioning",
      "aws:s3/bucketVersioning:BucketVersioning::backups-versioning",
    ],
  },
  BackupSchedule: {
    token: "holdfast:backup:BackupSchedule",
    children: [
      "kubernetes:batch/v1:CronJob::schedule-prune",
      "kubernetes:batch/v1:CronJob::schedule-redis-backup",
      "kubernetes:batch/v1:CronJob::schedule-restore-drill",
      "kubernetes:core/v1:ServiceAccount::schedule-backup-account",
      "kubernetes:core/v1:ServiceAccount::schedule-prune-account",
      "kubernetes:core/v1:ServiceAccount::schedule-restore-account",
    ],
    kept: [],
  },
  JobsImage: {
    token: "holdfast:image:JobsImage",
    children: [
      "aws:ecr/lifecyclePolicy:LifecyclePolicy::jobs-lifecycle",
      "aws:ecr/repository:Repository::jobs-repository",
      "docker:index/image:Image::jobs-image",
    ],
    kept: [],
  },
  BackupAlerts: {
    token: "holdfast:monitoring:BackupAlerts",
    children: [
      "kubernetes:monitoring.coreos.com/v1:PodMonitor::holdfast-redis-exporters",
      "kubernetes:monitoring.coreos.com/v1:PrometheusRule::holdfast-rules",
    ],
    kept: [],
  },
  ContinuousBackup: {
    token: "holdfast:backup:ContinuousBackup",
    children: [
      "kubernetes:apps/v1:Deployment::stream-deployment",
      "kubernetes:monitoring.coreos.com/v1:PodMonitor::stream-monitor",
      "kubernetes:monitoring.coreos.com/v1:PrometheusRule::stream-rules",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy::stream-network",
      "kubernetes:policy/v1:PodDisruptionBudget::stream-budget",
    ],
    kept: [],
  },
  BackupDashboard: {
    token: "holdfast:monitoring:BackupDashboard",
    children: ["kubernetes:core/v1:ConfigMap::holdfast-dashboard"],
    kept: [],
  },
};

const JOBS_IMAGE = "ghcr.io/holdfast/holdfast-jobs:0.1.0";
const WATCHED: WatchedStack = {
  stack: "team",
  namespace: "data",
  redis: { statefulSet: "cache", sentinelStatefulSet: "cache-sentinel", masterName: "holdfast", quorum: 2 },
  stores: ["redis", "lancedb"],
  backupMaxAgeHours: 24,
  drillMaxAgeDays: 35,
};

/** What a component guarantees: its type token, its children, which of them are protected and kept. */
interface Expected {
  token: string;
  children: string[];
  kept: string[];
}

/** Runs `build` alone offline; the namespace it gets is an Output, as a Namespace resource's name is. */
function alone(
  build: (namespace: pulumi.Output<string>, provider: k8s.Provider) => void,
): Promise<OfflineRun> {
  return runOffline("team", { "aws:region": "us-east-1" }, () => {
    build(pulumi.output("data"), new k8s.Provider("cluster", {}));
    return {};
  });
}

const cases: [string, (ns: pulumi.Output<string>, provider: k8s.Provider) => void, Expected][] = [
  [
    "SentinelRedis",
    (namespace, provider) => new SentinelRedis("cache", { namespace, jobsImage: JOBS_IMAGE }, { provider }),
    EXPECTED.SentinelRedis,
  ],
  [
    "LanceDbStore",
    (namespace, provider) =>
      new LanceDbStore(
        "vectors",
        { namespace, mode: "ebs", appImage: "registry.example.com/app:1.0.0" },
        { provider },
      ),
    EXPECTED.LanceDbStore,
  ],
  [
    "BackupBucket",
    (namespace) =>
      new BackupBucket(
        "backups",
        { prefix: namespace, namespace, replicaRegion: "us-west-2" },
        { replicaProvider: new aws.Provider("offsite", { region: "us-west-2" }) },
      ),
    EXPECTED.BackupBucket,
  ],
  [
    "BackupSchedule",
    (namespace, provider) =>
      new BackupSchedule(
        "schedule",
        {
          namespace,
          jobsImage: JOBS_IMAGE,
          roleArns: pulumi.output({ backup: "arn:backup", prune: "arn:prune", restore: "arn:restore" }),
          serviceAccounts: {
            backup: "holdfast-backup",
            prune: "holdfast-prune",
            restore: "holdfast-restore",
          },
          settings: {
            stack: "team",
            bucket: pulumi.output("team-backups"),
            prefix: namespace,
            region: "us-east-1",
            pushgatewayUrl: "",
            schedules: {
              redisBackup: "0 2 * * *",
              lancedbBackup: "30 2 * * *",
              prune: "0 5 * * *",
              drill: "0 4 1 * *",
            },
            retention: { keepLast: 7, keepDaily: 30, keepWeekly: 0, keepMonthly: 0 },
            redis: {
              sentinels: pulumi.output(
                "cache-sentinel-0.cache-sentinel-headless.data.svc.cluster.local:26379",
              ),
              masterName: "holdfast",
              secretName: pulumi.output("cache-auth"),
              patterns: ["*"],
              scratchSize: "8Gi",
              memoryLimit: "512Mi",
            },
          },
        },
        { provider },
      ),
    EXPECTED.BackupSchedule,
  ],
  [
    "JobsImage",
    () =>
      new JobsImage("jobs", { context: path.join(__dirname, ".."), repositoryName: "holdfast/team/jobs" }),
    EXPECTED.JobsImage,
  ],
  [
    "BackupAlerts",
    (namespace, provider) =>
      new BackupAlerts(
        "holdfast",
        {
          alerts: namespace.apply((ns) => ({
            ...WATCHED,
            namespace: ns,
            runbookBaseUrl: "https://docs.example/runbooks",
          })),
        },
        { provider },
      ),
    EXPECTED.BackupAlerts,
  ],
  [
    "ContinuousBackup",
    (namespace, provider) =>
      new ContinuousBackup(
        "stream",
        {
          namespace,
          jobsImage: JOBS_IMAGE,
          stack: "team",
          bucket: pulumi.output("team-backups"),
          prefix: namespace,
          region: "us-east-1",
          redis: {
            sentinels: pulumi.output("cache-sentinel-0.cache-sentinel-headless.data.svc.cluster.local:26379"),
            masterName: "holdfast",
            secretName: pulumi.output("cache-auth"),
          },
          serviceAccountName: "holdfast-backup",
          monitoring: { runbookBaseUrl: "https://docs.example/runbooks" },
        },
        { provider },
      ),
    EXPECTED.ContinuousBackup,
  ],
  [
    "BackupDashboard",
    (namespace, provider) =>
      new BackupDashboard(
        "holdfast",
        { dashboard: { ...WATCHED, datasource: "prometheus" }, namespace },
        { provider },
      ),
    EXPECTED.BackupDashboard,
  ],
];

describe.each(cases)("%s alone", (_name, build, expected) => {
  let run: OfflineRun;
  beforeAll(async () => {
    run = await alone(build);
  });

  test("creates its resources under stable names and token, all its children, data protected and kept", () => {
    const component = run.resources.filter((r) => !r.custom && r.type.startsWith("holdfast:"));
    expect(component.map((r) => r.type)).toEqual([expected.token]);
    const self = `${component[0].type}::${component[0].name}`;
    const children = run.resources.filter((r) => r.parent === self);
    expect(children.map((r) => `${r.type}::${r.name}`).sort()).toEqual(expected.children);
    expect(
      children
        .filter((r) => r.protect && r.retainOnDelete)
        .map((r) => `${r.type}::${r.name}`)
        .sort(),
    ).toEqual(expected.kept);
    const problems = run.resources
      .filter(isKubernetesObject)
      .map(toObject)
      .flatMap((o) => schemaProblems(o).map((p) => `${o.kind}/${o.metadata.name}: ${p}`));
    expect(problems).toEqual([]);
  });
});

test("a value from another resource (the namespace, an Output) reaches every namespaced object of a component", async () => {
  const run = await alone((namespace, provider) => {
    new SentinelRedis(
      "cache",
      { namespace, jobsImage: JOBS_IMAGE, zones: pulumi.output(["a", "b"]) },
      { provider },
    );
    new BackupAlerts(
      "holdfast",
      {
        alerts: namespace.apply((ns) => ({
          ...WATCHED,
          namespace: ns,
          runbookBaseUrl: "https://docs.example",
        })),
      },
      { provider },
    );
  });
  const objects = run.resources.filter(isKubernetesObject).map(toObject);
  const namespaced = objects.filter((o) => o.kind !== "StorageClass");
  expect(namespaced.length).toBeGreaterThan(10);
  expect(namespaced.filter((o) => o.metadata.namespace !== "data").map((o) => o.kind)).toEqual([]);
  const data = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "cache") as unknown as {
    spec: { template: { spec: { affinity: unknown } } };
  };
  expect(JSON.stringify(data.spec.template.spec.affinity)).toContain('"a","b"');
});

test("the offsite copy goes through the provider given in the resource options, none created", async () => {
  const run = await alone(
    (namespace) =>
      new BackupBucket(
        "backups",
        { prefix: namespace, replicaRegion: "us-west-2" },
        { replicaProvider: new aws.Provider("offsite", { region: "us-west-2" }) },
      ),
  );
  const replica = run.resources.filter(
    (r) => r.custom && (r.name === "backups-replica" || r.name.startsWith("backups-replica-")),
  );
  expect(replica.length).toBeGreaterThanOrEqual(7);
  expect(replica.filter((r) => r.provider !== "pulumi:providers:aws::offsite").map((r) => r.name)).toEqual(
    [],
  );
  expect(run.resources.filter((r) => r.type === "pulumi:providers:aws").map((r) => r.name)).toEqual([
    "offsite",
  ]);
});
