// An example consumer of the Holdfast component library: a platform team adds Holdfast-protected Redis
// and LanceDB to a cluster it already runs (the Kubernetes provider it is given), with a backup bucket
// of its own and the scheduled backups, prune and restore drill. `pulumi up` in this folder runs
// main.ts (its Pulumi.yaml); program.test.ts runs it under Pulumi mocks.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import {
  BackupBucket,
  BackupSchedule,
  LanceDbStore,
  SentinelRedis,
  type JobServiceAccounts,
} from "../../components";

/** What the example needs from its caller: the cluster and the images. */
export interface ExampleSettings {
  /** The existing cluster's provider (its kubeconfig context, server-side apply...). */
  provider: k8s.Provider;
  /** The namespace the team's stores run in (the example creates it). */
  namespace: pulumi.Input<string>;
  /** The application that embeds LanceDB. */
  appImage: pulumi.Input<string>;
  /** The holdfast CLI image. */
  jobsImage: pulumi.Input<string>;
  /** The cluster's IAM OIDC provider, for the jobs' IRSA roles. */
  oidcProviderArn: pulumi.Input<string>;
}

/** The service accounts the bucket's roles trust; the schedule creates them in the namespace. */
const SERVICE_ACCOUNTS: JobServiceAccounts = {
  backup: "holdfast-backup",
  prune: "holdfast-prune",
  restore: "holdfast-restore",
};

/** Builds the example's resources and returns what the team's applications connect to. */
export function protectedStores(s: ExampleSettings) {
  const namespace = new k8s.core.v1.Namespace(
    "team-data",
    { metadata: { name: s.namespace } },
    { provider: s.provider, protect: true, retainOnDelete: true },
  );
  // The namespace's name comes from the Namespace resource: the components take it as an Input.
  const ns = namespace.metadata.name;
  const opts = { provider: s.provider, dependsOn: [namespace] };

  const bucket = new BackupBucket("team-backups", {
    prefix: "team-data",
    namespace: ns,
    oidcProviderArn: s.oidcProviderArn,
    tags: { team: "data" },
  });
  const redis = new SentinelRedis(
    "cache",
    { namespace: ns, jobsImage: s.jobsImage, memoryLimit: "1Gi", storageSize: "16Gi", zones: ["eu-west-1a"] },
    opts,
  );
  const lancedb = new LanceDbStore(
    "vectors",
    { namespace: ns, mode: "ebs", appImage: s.appImage, storageSize: "50Gi", zones: ["eu-west-1a"] },
    opts,
  );
  new BackupSchedule(
    "team-schedule",
    {
      namespace: ns,
      jobsImage: s.jobsImage,
      roleArns: bucket.roleArns,
      serviceAccounts: SERVICE_ACCOUNTS,
      settings: {
        stack: pulumi.getStack(),
        bucket: bucket.bucketName,
        prefix: bucket.prefix,
        region: bucket.region,
        pushgatewayUrl: "",
        schedules: {
          redisBackup: "0 2 * * *",
          lancedbBackup: "30 2 * * *",
          prune: "0 5 * * *",
          drill: "0 4 1 * *",
        },
        retention: { keepLast: 7, keepDaily: 30, keepWeekly: 0, keepMonthly: 0 },
        redis: {
          sentinels: redis.sentinelAddresses,
          masterName: redis.masterName,
          secretName: redis.secretName,
          patterns: ["*"],
          scratchSize: "16Gi",
          memoryLimit: "1Gi",
        },
        lancedb: { dataPath: lancedb.dataPath },
      },
      lancedbVolume: {
        claimName: lancedb.claimNames.apply((c) => c[0]),
        dataPath: lancedb.dataPath,
        uid: 1000,
        // The EBS volume is attached to the application pod's node: the backup reads it from there.
        sameNodeAs: {
          "app.kubernetes.io/name": "lancedb",
          "app.kubernetes.io/instance": "vectors",
          "app.kubernetes.io/component": "store",
        },
      },
    },
    opts,
  );
  return {
    sentinelEndpoint: redis.sentinelEndpoint,
    masterName: redis.masterName,
    redisSecret: redis.secretName,
    lancedbEndpoint: lancedb.serviceEndpoint,
    backupBucket: bucket.bucketName,
  };
}
