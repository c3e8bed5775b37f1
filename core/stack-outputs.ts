// A stack's outputs, written once: what the stack program exports (`pulumi stack output --json`) and
// the part of it the holdfast stack commands read back. The program holds some values only as
// deferred ones (a bucket name or an ARN known after deployment); the type takes how such a value is
// held as a parameter, so the program's outputs and the commands' view are the same shape.
import type { LanceDbMode } from "./lancedb";

/** A job role of the backup bucket: `backup` writes, `prune` deletes, `restore` reads. */
export type JobRole = "backup" | "prune" | "restore";

/**
 * What operators and the holdfast stack commands read from a stack.
 * @typeParam Deferred how a value known only after deployment is held (a Pulumi input in the program,
 *   a string once read back).
 */
export interface HoldfastOutputs<Deferred = string> {
  stack: string;
  namespace: string;
  /** kubeconfig context of the stack's cluster; empty for the current context. */
  kubeContext: string;
  /**
   * A restore of a protected stack asks the operator to type the stack's name (or --yes). True for the
   * stack named prod.
   */
  protected: boolean;
  redis: {
    statefulSet: string;
    sentinelStatefulSet: string;
    sentinelEndpoint: string;
    /** Every sentinel as host:port, comma-separated. */
    sentinels: string;
    masterName: string;
    secretName: string;
    /** The data pods' claims, in ordinal order. */
    claimNames: string[];
    /** The sentinels' state claims (their rewritten sentinel.conf), in ordinal order. */
    sentinelClaimNames: string[];
    storageClassName: string;
  };
  backupPrefix: string;
  /** What the backup, prune and restore jobs need to reach the stack's backups. */
  backup: {
    bucket: Deferred;
    bucketArn: Deferred;
    region: Deferred;
    prefix: string;
    kmsKeyArn: Deferred;
    /** IAM role ARNs of the jobs. */
    roles: Record<JobRole, Deferred>;
    /** Object Lock's default retention mode on the bucket (GOVERNANCE, COMPLIANCE); empty without it. */
    objectLockMode: string;
    /** Object Lock's default retention in days; 0 without it. */
    objectLockDays: number;
    /** Kubernetes service accounts, in the stack's namespace, that may assume each role. */
    serviceAccounts: Record<JobRole, string>;
    /** The offsite copy, when the stack has one. */
    replicaBucket?: Deferred;
    replicaRegion?: string;
    replicaKmsKeyArn?: Deferred;
  };
  /** The scheduled jobs: CronJob names, and ECS task definitions when the Fargate runtime is on. */
  schedule: { cronJobs: Record<string, string>; taskDefinitions: Record<string, Deferred> };
  /** What the stack needs of the cluster's monitoring. */
  monitoring: {
    /** The CustomResourceDefinitions its objects need (`prometheusrules.monitoring.coreos.com`...). */
    crds: string[];
  };
  /** The image that runs the holdfast CLI: the built image by digest, or config jobsImage. */
  jobsImage: Deferred;
  /** ECR repository of the built jobs image; empty when the stack does not build it. */
  jobsRepository: Deferred;
  /** The LanceDB store: where its dataset is and which pod may write it. */
  lancedb: {
    /** Storage mode: ebs, efs or s3. */
    mode: LanceDbMode;
    statefulSet: string;
    replicas: number;
    /** The Service that routes to the writer, and its `host:port`. */
    service: string;
    serviceEndpoint: string;
    /** PVCs holding the dataset (ebs: the pod's; efs: the shared one; s3: none). */
    claimNames: string[];
    /** The Lease the writer is elected through; empty in ebs mode. */
    leaseName: string;
    /** Mount path of the dataset in the application container. */
    dataPath: string;
    /** What the application opens: the data path, or s3://bucket/prefix/lancedb/live/. */
    datasetUri: Deferred;
    /** StorageClass of the EBS volume; empty otherwise. */
    storageClassName: string;
    /** EFS file system of the dataset; empty otherwise. */
    efsFileSystemId: Deferred;
  };
}

type Outputs = HoldfastOutputs<string>;

/**
 * What the stack commands read from a stack: part of HoldfastOutputs, checked when read. What older
 * stacks did not export is optional (`protected`, the sentinels' claims, the LanceDB store, and what
 * `holdfast doctor` checks: storage classes, role ARNs, Object Lock, monitoring).
 */
export interface StackOutputs extends Pick<Outputs, "stack" | "namespace" | "kubeContext" | "jobsImage"> {
  protected?: boolean;
  redis: Pick<
    Outputs["redis"],
    "statefulSet" | "sentinelStatefulSet" | "sentinels" | "masterName" | "secretName" | "claimNames"
  > &
    Partial<Pick<Outputs["redis"], "sentinelClaimNames" | "storageClassName">>;
  backup: Pick<Outputs["backup"], "bucket" | "prefix" | "region" | "serviceAccounts"> &
    Partial<Pick<Outputs["backup"], "roles" | "objectLockMode" | "objectLockDays">>;
  schedule: Pick<Outputs["schedule"], "cronJobs">;
  lancedb?: Pick<Outputs["lancedb"], "mode" | "statefulSet" | "replicas" | "claimNames" | "dataPath"> &
    Partial<Pick<Outputs["lancedb"], "storageClassName">>;
  monitoring?: Outputs["monitoring"];
}
