// LanceDbStore: the application that embeds LanceDB (the application's sidecar) as a single-writer
// StatefulSet on highly available storage. ebs: one pod on a ReadWriteOnce volume of a Retain class;
// failover is the StatefulSet rescheduling it with its volume. efs: a leader and a standby on one
// ReadWriteMany EFS volume. s3: a leader and a standby opening the dataset on S3 directly. In the two
// elected modes a Lease picks the writer and a readiness gate routes the Service to it alone.
// The objects are rendered by ./spec; this component only wires them into resources.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { core } from "@pulumi/kubernetes/types/input";
import { retainStorageClass } from "../shared/k8s";
import {
  ElectionSeconds,
  LanceDbSettings,
  RESERVED_ENV,
  dataClaimNames,
  datasetUri,
  disruptionBudgetSpec,
  efsClaimSpec,
  efsPersistentVolumeSpec,
  electorRoleRules,
  headlessServiceSpec,
  isElected,
  lanceDbLabels,
  lanceDbNames,
  networkPolicySpec,
  replicasFor,
  serviceEndpoint,
  serviceSpec,
  statefulSetSpec,
} from "./spec";
import { DEFAULT_DATA_PATH, LANCEDB_MODES, LanceDbMode } from "../../core/lancedb";

/** EFS storage: an existing file system (and access point), or one the store creates. */
export interface LanceDbEfsArgs {
  /** An existing file system (`fs-...`). Default: create an encrypted one (protected, kept on delete). */
  fileSystemId?: pulumi.Input<string>;
  /** An existing access point on it (`fsap-...`). Default: create one rooted at `/holdfast/<namespace>/<name>`. */
  accessPointId?: pulumi.Input<string>;
  /** Subnets (one per zone the pods run in) for the mount targets of a created file system. */
  subnetIds?: pulumi.Input<string>[];
  /** Security group of those mount targets; it must admit NFS (TCP 2049) from the nodes. */
  securityGroupId?: pulumi.Input<string>;
  /** KMS key of a created file system. Default: the AWS-managed EFS key. */
  kmsKeyId?: pulumi.Input<string>;
}

/** S3 storage: the dataset lives at `s3://<bucket>/<prefix>/lancedb/live/`. */
export interface LanceDbS3Args {
  /** The bucket (the backup account's: the dataset sits on the object store beside the backups). */
  bucket: pulumi.Input<string>;
  /** Key prefix, as for backups (the stack name by default in the stack program). */
  prefix: string;
  /** Region of the bucket, given to the application as AWS_REGION. */
  region?: pulumi.Input<string>;
}

/** Arguments of a LanceDbStore. */
export interface LanceDbStoreArgs {
  /** Namespace the store lives in (must exist). */
  namespace: string;
  /** Storage mode: `ebs`, `efs` or `s3`. */
  mode: LanceDbMode;
  /** The application image that embeds LanceDB. */
  appImage: pulumi.Input<string>;
  /** Port the application serves on. Default 8000. */
  appPort?: number;
  /** UID and GID the application runs as (non-root). Default 1000. */
  appUid?: number;
  /** Extra environment of the application. LANCEDB_URI and HOLDFAST_* are set by the store. */
  env?: Record<string, pulumi.Input<string>>;
  /** Resources of the application container. Default: 250m / 1Gi requested, 1 CPU / 1Gi limit. */
  resources?: core.v1.ResourceRequirements;
  /** Where the dataset is mounted (ebs, efs). Default `/app/lancedb_data`. */
  dataPath?: string;
  /** Readiness probe of the application. Default: its port accepts connections. */
  readinessProbe?: core.v1.Probe;
  /** Liveness probe of the application. Default: its port accepts connections (after 30 s). */
  livenessProbe?: core.v1.Probe;
  /** Size of the EBS volume (ebs); nominal capacity of the EFS volume (efs). Default `20Gi`. */
  storageSize?: string;
  /**
   * An existing StorageClass for the EBS volume, which must reclaim with Retain. Default: the store
   * creates `<namespace>-<name>-retain` (encrypted gp3, expandable, Retain).
   */
  storageClassName?: string;
  /** Image with the holdfast CLI, for the election sidecar. Required for efs and s3. */
  jobsImage?: pulumi.Input<string>;
  /** EFS storage (efs mode). */
  efs?: LanceDbEfsArgs;
  /** S3 storage (s3 mode). */
  s3?: LanceDbS3Args;
  /** IAM role for the pods' service account (IRSA); needed for s3. Default: none. */
  roleArn?: pulumi.Input<string>;
  /** Lease timings in seconds. Default 15 / 10 / 2 (client-go's). */
  election?: Partial<ElectionSeconds>;
  /** Zones the pods may run in. Default `["us-east-1a"]`. */
  zones?: string[];
  /** Require the pods on distinct nodes and an even zone spread. Default false. */
  strictScheduling?: boolean;
  /** Seconds the application has to finish writes at shutdown. Default 30. */
  terminationGracePeriodSeconds?: number;
  /**
   * Namespaces, besides the store's own, whose pods labelled `holdfast.dev/lancedb-client: "true"` may
   * connect to the application. Default none.
   */
  allowedNamespaces?: string[];
}

/** Applies the defaults of LanceDbStoreArgs and checks what the mode needs. */
export function lanceDbSettings(name: string, args: LanceDbStoreArgs): LanceDbSettings {
  const fail = (msg: string): never => {
    throw new Error(`LanceDbStore ${name}: ${msg}`);
  };
  if (!LANCEDB_MODES.includes(args.mode))
    fail(`mode must be one of ${LANCEDB_MODES.join(", ")}, got ${args.mode}`);
  if (isElected(args.mode) && !args.jobsImage)
    fail(`mode ${args.mode} needs jobsImage (the election sidecar)`);
  if (
    args.mode === "efs" &&
    !args.efs?.fileSystemId &&
    (!args.efs?.subnetIds?.length || !args.efs?.securityGroupId)
  )
    fail("mode efs needs efs.fileSystemId, or efs.subnetIds and efs.securityGroupId to create a file system");
  if (args.mode === "s3" && !args.s3?.bucket) fail("mode s3 needs s3.bucket");
  const reserved = Object.keys(args.env ?? {}).filter((k) => RESERVED_ENV.includes(k));
  if (reserved.length > 0) fail(`env may not set ${reserved.join(", ")}: the store sets them`);
  const election = { leaseDuration: 15, renewDeadline: 10, retryPeriod: 2, ...args.election };
  if (!(election.renewDeadline < election.leaseDuration))
    fail("election.renewDeadline must be < leaseDuration");
  const appUid = args.appUid ?? 1000;
  if (appUid === 0) fail("appUid must not be 0: the pods run as non-root");
  return {
    name,
    namespace: args.namespace,
    mode: args.mode,
    appImage: args.appImage,
    appPort: args.appPort ?? 8000,
    appUid,
    env: args.env ?? {},
    resources: args.resources ?? {
      requests: { cpu: "250m", memory: "1Gi" },
      limits: { cpu: "1", memory: "1Gi" },
    },
    dataPath: args.dataPath ?? DEFAULT_DATA_PATH,
    readinessProbe: args.readinessProbe,
    livenessProbe: args.livenessProbe,
    storageSize: args.storageSize ?? "20Gi",
    storageClassName: args.storageClassName || `${args.namespace}-${name}-retain`,
    jobsImage: args.jobsImage,
    s3: args.s3,
    roleArn: args.roleArn,
    election,
    zones: args.zones ?? ["us-east-1a"],
    strictScheduling: args.strictScheduling ?? false,
    terminationGracePeriodSeconds: args.terminationGracePeriodSeconds ?? 30,
    allowedNamespaces: args.allowedNamespaces ?? [],
  };
}

/** The application that embeds LanceDB, as a single-writer StatefulSet on HA storage. */
export class LanceDbStore extends pulumi.ComponentResource {
  /** Storage mode. */
  public readonly mode: LanceDbMode;
  /** Name of the StatefulSet. */
  public readonly statefulSetName: string;
  /** Pods of the StatefulSet (1 on ebs, 2 otherwise). */
  public readonly replicas: number;
  /** The Service that routes to the writer. */
  public readonly serviceName: string;
  /** `host:port` of that Service. */
  public readonly serviceEndpoint: string;
  /** The PVCs holding the dataset (none on s3). */
  public readonly claimNames: string[];
  /** The Lease the writer is elected through; empty on ebs (no election). */
  public readonly leaseName: string;
  /** Where the application finds the dataset (mount path). */
  public readonly dataPath: string;
  /** What the application opens: the data path, or `s3://bucket/prefix/lancedb/live/`. */
  public readonly datasetUri: pulumi.Output<string>;
  /** StorageClass of the EBS volume; empty otherwise. */
  public readonly storageClassName: string;
  /** The EFS file system and access point; empty otherwise. */
  public readonly efsFileSystemId: pulumi.Output<string>;
  public readonly efsAccessPointId: pulumi.Output<string>;

  /**
   * @param name base name of the store's Kubernetes objects.
   * @param args the store's settings; see LanceDbStoreArgs for defaults.
   * @param opts resource options; pass the Kubernetes provider here.
   */
  constructor(name: string, args: LanceDbStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:lancedb:LanceDbStore", name, {}, opts);
    const base = lanceDbSettings(name, args);
    const n = lanceDbNames(name, base.namespace);
    const labels = lanceDbLabels(base);
    const child = { parent: this };
    // What holds data, or decides whether it survives a delete, is protected and kept on delete.
    const keep = { parent: this, protect: true, retainOnDelete: true };
    const meta = (objectName: string) => ({ name: objectName, namespace: base.namespace, labels });

    let fileSystemId: pulumi.Output<string> = pulumi.output("");
    let accessPointId: pulumi.Output<string> = pulumi.output("");
    if (base.mode === "efs")
      ({ fileSystemId, accessPointId } = this.efsStorage(name, base, args.efs!, keep, child));
    const s: LanceDbSettings = {
      ...base,
      efsVolumeHandle:
        base.mode === "efs" ? pulumi.interpolate`${fileSystemId}::${accessPointId}` : undefined,
    };
    const uri = pulumi.output(s.s3?.bucket ?? "").apply((bucket) => datasetUri(bucket, s));

    if (s.mode === "ebs" && !args.storageClassName) {
      new k8s.storage.v1.StorageClass(
        `${name}-storage`,
        { metadata: { name: s.storageClassName, labels }, ...retainStorageClass() },
        keep,
      );
    }

    if (s.mode === "efs") {
      const pv = new k8s.core.v1.PersistentVolume(
        `${name}-data-volume`,
        { metadata: { name: n.persistentVolume, labels }, spec: efsPersistentVolumeSpec(s) },
        keep,
      );
      new k8s.core.v1.PersistentVolumeClaim(
        `${name}-data-claim`,
        { metadata: meta(n.sharedClaim), spec: efsClaimSpec(s) },
        { ...keep, dependsOn: [pv] },
      );
    }

    new k8s.core.v1.ServiceAccount(
      `${name}-account`,
      {
        metadata: {
          ...meta(n.serviceAccount),
          ...(s.roleArn ? { annotations: { "eks.amazonaws.com/role-arn": s.roleArn } } : {}),
        },
        automountServiceAccountToken: false,
      },
      child,
    );

    if (isElected(s.mode)) {
      new k8s.rbac.v1.Role(
        `${name}-elector-role`,
        { metadata: meta(n.electorRole), rules: electorRoleRules(s) },
        child,
      );
      new k8s.rbac.v1.RoleBinding(
        `${name}-elector-binding`,
        {
          metadata: meta(n.electorRole),
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: n.electorRole },
          subjects: [{ kind: "ServiceAccount", name: n.serviceAccount, namespace: s.namespace }],
        },
        child,
      );
    }

    new k8s.core.v1.Service(
      `${name}-headless`,
      { metadata: meta(n.headlessService), spec: headlessServiceSpec(s) },
      child,
    );
    new k8s.core.v1.Service(`${name}-service`, { metadata: meta(n.service), spec: serviceSpec(s) }, child);

    new k8s.apps.v1.StatefulSet(
      `${name}-store`,
      {
        metadata: {
          ...meta(n.statefulSet),
          // Only the leader is ever Ready: Pulumi waits for one ready pod, not for all of them.
          ...(isElected(s.mode)
            ? { annotations: { "pulumi.com/waitFor": "jsonpath={.status.readyReplicas}=1" } }
            : {}),
        },
        spec: statefulSetSpec(s, uri),
      },
      keep,
    );

    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-budget`,
      { metadata: meta(n.budget), spec: disruptionBudgetSpec(s) },
      child,
    );

    new k8s.networking.v1.NetworkPolicy(
      `${name}-network`,
      { metadata: meta(n.statefulSet), spec: networkPolicySpec(s) },
      child,
    );

    this.mode = s.mode;
    this.statefulSetName = n.statefulSet;
    this.replicas = replicasFor(s.mode);
    this.serviceName = n.service;
    this.serviceEndpoint = serviceEndpoint(s);
    this.claimNames = dataClaimNames(s);
    this.leaseName = isElected(s.mode) ? n.lease : "";
    this.dataPath = s.dataPath;
    this.datasetUri = uri;
    this.storageClassName = s.mode === "ebs" ? s.storageClassName : "";
    this.efsFileSystemId = fileSystemId;
    this.efsAccessPointId = accessPointId;
    this.registerOutputs({
      mode: this.mode,
      statefulSetName: this.statefulSetName,
      serviceName: this.serviceName,
      claimNames: this.claimNames,
      leaseName: this.leaseName,
      datasetUri: this.datasetUri,
      efsFileSystemId: this.efsFileSystemId,
    });
  }

  /** The EFS file system, its mount targets and the access point: given ones, or created ones. */
  private efsStorage(
    name: string,
    s: LanceDbSettings,
    efs: LanceDbEfsArgs,
    keep: pulumi.CustomResourceOptions,
    child: pulumi.CustomResourceOptions,
  ): { fileSystemId: pulumi.Output<string>; accessPointId: pulumi.Output<string> } {
    const tags = { Name: `${s.namespace}-${name}`, "app.kubernetes.io/part-of": "holdfast" };
    let fileSystemId: pulumi.Output<string>;
    if (efs.fileSystemId) {
      fileSystemId = pulumi.output(efs.fileSystemId);
    } else {
      const fs = new aws.efs.FileSystem(
        `${name}-efs`,
        {
          encrypted: true,
          kmsKeyId: efs.kmsKeyId,
          performanceMode: "generalPurpose",
          throughputMode: "elastic",
          tags,
        },
        keep,
      );
      fileSystemId = fs.id;
      // AWS Backup's daily plan for EFS: a copy outside the file system, independent of Holdfast's own.
      new aws.efs.BackupPolicy(
        `${name}-efs-backup`,
        { fileSystemId, backupPolicy: { status: "ENABLED" } },
        child,
      );
      (efs.subnetIds ?? []).forEach((subnetId, i) => {
        new aws.efs.MountTarget(
          `${name}-efs-mount-${i}`,
          { fileSystemId, subnetId, securityGroups: [efs.securityGroupId!] },
          child,
        );
      });
    }
    if (efs.accessPointId) return { fileSystemId, accessPointId: pulumi.output(efs.accessPointId) };
    const accessPoint = new aws.efs.AccessPoint(
      `${name}-efs-access-point`,
      {
        fileSystemId,
        // Every client of the access point acts as the application's user, whatever uid it runs as.
        posixUser: { uid: s.appUid, gid: s.appUid },
        rootDirectory: {
          path: `/holdfast/${s.namespace}/${name}`,
          creationInfo: { ownerUid: s.appUid, ownerGid: s.appUid, permissions: "0750" },
        },
        tags,
      },
      keep,
    );
    return { fileSystemId, accessPointId: accessPoint.id };
  }
}
