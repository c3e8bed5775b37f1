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
  type LanceDbNames,
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
import { DEFAULT_DATA_PATH, LANCEDB_MODES, type LanceDbMode } from "../../core/lancedb";
import type { LanceDbStorage } from "../shared/enums";

/** EFS storage: an existing file system (and access point), or one the store creates. */
export interface LanceDbEfsArgs {
  /** An existing file system (`fs-...`). Default: create an encrypted one (protected, kept on delete). */
  fileSystemId?: pulumi.Input<string>;
  /** An existing access point on it (`fsap-...`). Default: create one rooted at `/holdfast/<namespace>/<name>`. */
  accessPointId?: pulumi.Input<string>;
  /**
   * Subnets (one per zone the pods run in) for the mount targets of a created file system. The list is
   * plain (a mount target per entry); each subnet may come from another resource.
   */
  subnetIds?: pulumi.Input<string>[];
  /** Security group of those mount targets; it must admit NFS (TCP 2049) from the nodes. */
  securityGroupId?: pulumi.Input<string>;
  /** KMS key of a created file system. Default: the AWS-managed EFS key. */
  kmsKeyId?: pulumi.Input<string>;
}

/** S3 storage: the dataset lives at `s3://<bucket>/<prefix>/lancedb/live/`. */
export interface LanceDbS3Args {
  /** The bucket (the stack program passes its backup bucket: the dataset sits beside the backups). */
  bucket: pulumi.Input<string>;
  /** Key prefix, as for backups (the stack name by default in the stack program). */
  prefix: pulumi.Input<string>;
  /** Region of the bucket, given to the application as AWS_REGION. */
  region?: pulumi.Input<string>;
}

/**
 * A probe of the application on its port: an HTTP GET of `path`, or a TCP connection when there is no
 * path. (A subset of the Kubernetes Probe that every Pulumi language can pass.)
 */
export interface LanceDbProbeArgs {
  /** Path of an HTTP GET on the application's port; empty or absent probes a TCP connection. */
  path?: pulumi.Input<string>;
  /** Seconds after the container starts before the first probe. Default 0. */
  initialDelaySeconds?: pulumi.Input<number>;
  /** Seconds between probes. Default 10. */
  periodSeconds?: pulumi.Input<number>;
  /** Seconds a probe may take. Default 1. */
  timeoutSeconds?: pulumi.Input<number>;
  /** Failures in a row that count. Default 3. */
  failureThreshold?: pulumi.Input<number>;
}

/** The Kubernetes probe of a LanceDbProbeArgs on the application's port. */
export function appProbe(p: pulumi.Unwrap<LanceDbProbeArgs>, port: number): core.v1.Probe {
  return {
    ...(p.path ? { httpGet: { path: p.path, port } } : { tcpSocket: { port } }),
    initialDelaySeconds: p.initialDelaySeconds,
    periodSeconds: p.periodSeconds,
    timeoutSeconds: p.timeoutSeconds,
    failureThreshold: p.failureThreshold,
  };
}

/** Lease timings of the writer's election, in seconds. */
export interface LanceDbElectionArgs {
  /** How long a Lease holds without renewal. Default 15. */
  leaseDuration?: number;
  /** How long the leader keeps trying to renew before it stops writing. Default 10. */
  renewDeadline?: number;
  /** How often candidates retry. Default 2. */
  retryPeriod?: number;
}

/**
 * Arguments of a LanceDbStore. Values may come from other resources (pulumi.Input), except what decides
 * which resources exist or is checked before any is made: the mode, the uid, the election timings and
 * the names of env entries.
 */
export interface LanceDbStoreArgs {
  /** Namespace the store lives in (must exist). */
  namespace: pulumi.Input<string>;
  /** Storage mode: `ebs`, `efs` or `s3`. */
  mode: LanceDbStorage;
  /** The application image that embeds LanceDB. */
  appImage: pulumi.Input<string>;
  /** Port the application serves on. Default 8000. */
  appPort?: pulumi.Input<number>;
  /** UID and GID the application runs as (non-root). Default 1000. */
  appUid?: number;
  /** Extra environment of the application. LANCEDB_URI and HOLDFAST_* are set by the store. */
  env?: Record<string, pulumi.Input<string>>;
  /** Resources of the application container. Default: 250m / 1Gi requested, 1 CPU / 1Gi limit. */
  resources?: core.v1.ResourceRequirements;
  /** Where the dataset is mounted (ebs, efs). Default `/app/lancedb_data`. */
  dataPath?: pulumi.Input<string>;
  /** Readiness probe of the application. Default: its port accepts connections. */
  readinessProbe?: LanceDbProbeArgs;
  /** Liveness probe of the application. Default: its port accepts connections (after 30 s). */
  livenessProbe?: LanceDbProbeArgs;
  /** Size of the EBS volume (ebs); nominal capacity of the EFS volume (efs). Default `20Gi`. */
  storageSize?: pulumi.Input<string>;
  /**
   * An existing StorageClass for the EBS volume, which must reclaim with Retain. Default: the store
   * creates `<namespace>-<name>-retain` (encrypted gp3, expandable, Retain).
   */
  storageClassName?: pulumi.Input<string>;
  /** Image with the holdfast CLI, for the election sidecar. Required for efs and s3. */
  jobsImage?: pulumi.Input<string>;
  /** EFS storage (efs mode). */
  efs?: LanceDbEfsArgs;
  /** S3 storage (s3 mode). */
  s3?: LanceDbS3Args;
  /** IAM role for the pods' service account (IRSA); needed for s3. Default: none. */
  roleArn?: pulumi.Input<string>;
  /** Lease timings in seconds. Default 15 / 10 / 2 (client-go's). */
  election?: LanceDbElectionArgs;
  /** Zones the pods may run in. Default `["us-east-1a"]`. */
  zones?: pulumi.Input<pulumi.Input<string>[]>;
  /** Require the pods on distinct nodes and an even zone spread. Default false. */
  strictScheduling?: pulumi.Input<boolean>;
  /** Seconds the application has to finish writes at shutdown. Default 30. */
  terminationGracePeriodSeconds?: pulumi.Input<number>;
  /**
   * Namespaces, besides the store's own, whose pods labelled `holdfast.dev/lancedb-client: "true"` may
   * connect to the application. Default none.
   */
  allowedNamespaces?: pulumi.Input<pulumi.Input<string>[]>;
}

/** Refuses, before any resource is made, what the mode cannot run with. */
export function checkLanceDbArgs(name: string, args: LanceDbStoreArgs): void {
  const fail = (msg: string): never => {
    throw new Error(`LanceDbStore ${name}: ${msg}`);
  };
  if (!LANCEDB_MODES.includes(args.mode as LanceDbMode))
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
  const election = electionSeconds(args);
  if (!(election.renewDeadline < election.leaseDuration))
    fail("election.renewDeadline must be < leaseDuration");
  if (args.appUid === 0) fail("appUid must not be 0: the pods run as non-root");
}

function electionSeconds(args: Pick<LanceDbStoreArgs, "election">): ElectionSeconds {
  return { leaseDuration: 15, renewDeadline: 10, retryPeriod: 2, ...args.election };
}

/** Applies the defaults of LanceDbStoreArgs (resolved) and checks what the mode needs. */
export function lanceDbSettings(name: string, args: pulumi.Unwrap<LanceDbStoreArgs>): LanceDbSettings {
  checkLanceDbArgs(name, args as LanceDbStoreArgs);
  return {
    name,
    namespace: args.namespace,
    mode: args.mode,
    appImage: args.appImage,
    appPort: args.appPort ?? 8000,
    appUid: args.appUid ?? 1000,
    env: args.env ?? {},
    resources: (args.resources as core.v1.ResourceRequirements | undefined) ?? {
      requests: { cpu: "250m", memory: "1Gi" },
      limits: { cpu: "1", memory: "1Gi" },
    },
    dataPath: args.dataPath ?? DEFAULT_DATA_PATH,
    readinessProbe: args.readinessProbe && appProbe(args.readinessProbe, args.appPort ?? 8000),
    livenessProbe: args.livenessProbe && appProbe(args.livenessProbe, args.appPort ?? 8000),
    storageSize: args.storageSize ?? "20Gi",
    storageClassName: args.storageClassName || `${args.namespace}-${name}-retain`,
    jobsImage: args.jobsImage,
    s3: args.s3,
    roleArn: args.roleArn,
    election: electionSeconds(args),
    zones: args.zones ?? ["us-east-1a"],
    strictScheduling: args.strictScheduling ?? false,
    terminationGracePeriodSeconds: args.terminationGracePeriodSeconds ?? 30,
    allowedNamespaces: args.allowedNamespaces ?? [],
  };
}

/** The application that embeds LanceDB, as a single-writer StatefulSet on HA storage. */
export class LanceDbStore extends pulumi.ComponentResource {
  /** Storage mode. */
  public readonly mode: pulumi.Output<LanceDbStorage>;
  /** Name of the StatefulSet. */
  public readonly statefulSetName: pulumi.Output<string>;
  /** Pods of the StatefulSet (1 on ebs, 2 otherwise). */
  public readonly replicas: pulumi.Output<number>;
  /** The Service that routes to the writer. */
  public readonly serviceName: pulumi.Output<string>;
  /** `host:port` of that Service. */
  public readonly serviceEndpoint: pulumi.Output<string>;
  /** The PVCs holding the dataset (none on s3). */
  public readonly claimNames: pulumi.Output<string[]>;
  /** The Lease the writer is elected through; empty on ebs (no election). */
  public readonly leaseName: pulumi.Output<string>;
  /** Where the application finds the dataset (mount path). */
  public readonly dataPath: pulumi.Output<string>;
  /** What the application opens: the data path, or `s3://bucket/prefix/lancedb/live/`. */
  public readonly datasetUri: pulumi.Output<string>;
  /** StorageClass of the EBS volume; empty otherwise. */
  public readonly storageClassName: pulumi.Output<string>;
  /** The EFS file system; empty unless efs. */
  public readonly efsFileSystemId: pulumi.Output<string>;
  /** The EFS access point; empty unless efs. */
  public readonly efsAccessPointId: pulumi.Output<string>;

  /**
   * @param name base name of the store's Kubernetes objects.
   * @param args the store's settings; see LanceDbStoreArgs for defaults.
   * @param opts resource options; pass the Kubernetes provider (and an `aws` provider for efs) here.
   */
  constructor(name: string, args: LanceDbStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:lancedb:LanceDbStore", name, {}, opts);
    checkLanceDbArgs(name, args);
    const base = pulumi
      .output(args)
      .apply((a) => lanceDbSettings(name, a as pulumi.Unwrap<LanceDbStoreArgs>));
    const mode = args.mode;

    let fileSystemId: pulumi.Output<string> = pulumi.output("");
    let accessPointId: pulumi.Output<string> = pulumi.output("");
    if (mode === "efs") ({ fileSystemId, accessPointId } = this.efsStorage(name, base, args.efs!));
    const s: pulumi.Output<LanceDbSettings> = pulumi
      .all([base, fileSystemId, accessPointId])
      .apply(([b, fs, ap]) => ({ ...b, efsVolumeHandle: mode === "efs" ? `${fs}::${ap}` : undefined }));
    const uri = s.apply((v) => datasetUri(String(v.s3?.bucket ?? ""), v));
    const n = s.apply((v) => lanceDbNames(name, v.namespace));

    this.storage(name, mode, s, !args.storageClassName);
    this.workloads(name, mode, s, uri);

    this.mode = pulumi.output(mode);
    this.statefulSetName = n.statefulSet;
    this.replicas = pulumi.output(replicasFor(mode));
    this.serviceName = n.service;
    this.serviceEndpoint = s.apply(serviceEndpoint);
    this.claimNames = s.apply(dataClaimNames);
    this.leaseName = isElected(mode) ? n.lease : pulumi.output("");
    this.dataPath = s.dataPath;
    this.datasetUri = uri;
    this.storageClassName = mode === "ebs" ? s.storageClassName : pulumi.output("");
    this.efsFileSystemId = fileSystemId;
    this.efsAccessPointId = accessPointId;
    this.registerOutputs({
      mode: this.mode,
      statefulSetName: this.statefulSetName,
      replicas: this.replicas,
      serviceName: this.serviceName,
      serviceEndpoint: this.serviceEndpoint,
      claimNames: this.claimNames,
      leaseName: this.leaseName,
      dataPath: this.dataPath,
      datasetUri: this.datasetUri,
      storageClassName: this.storageClassName,
      efsFileSystemId: this.efsFileSystemId,
      efsAccessPointId: this.efsAccessPointId,
    });
  }

  /** The Retain StorageClass (ebs, unless one is given), or the EFS volume and its claim (efs). */
  private storage(
    name: string,
    mode: LanceDbMode,
    s: pulumi.Output<LanceDbSettings>,
    createClass: boolean,
  ): void {
    // What holds data, or decides whether it survives a delete, is protected and kept on delete.
    const keep = { parent: this, protect: true, retainOnDelete: true };
    const labels = lanceDbLabels({ name });
    const n = s.apply((v) => lanceDbNames(name, v.namespace));
    if (mode === "ebs" && createClass) {
      new k8s.storage.v1.StorageClass(
        `${name}-storage`,
        { metadata: { name: s.storageClassName, labels }, ...retainStorageClass() },
        keep,
      );
    }
    if (mode === "efs") {
      const pv = new k8s.core.v1.PersistentVolume(
        `${name}-data-volume`,
        { metadata: { name: n.persistentVolume, labels }, spec: s.apply(efsPersistentVolumeSpec) },
        keep,
      );
      new k8s.core.v1.PersistentVolumeClaim(
        `${name}-data-claim`,
        {
          metadata: s.apply((v) => objectMeta(v, lanceDbNames(name, v.namespace).sharedClaim)),
          spec: s.apply(efsClaimSpec),
        },
        { ...keep, dependsOn: [pv] },
      );
    }
  }

  /** The service account, election RBAC, Services, StatefulSet, disruption budget and NetworkPolicy. */
  private workloads(
    name: string,
    mode: LanceDbMode,
    s: pulumi.Output<LanceDbSettings>,
    uri: pulumi.Output<string>,
  ): void {
    const child = { parent: this };
    const meta = (pick: (n: LanceDbNames) => string) =>
      s.apply((v) => objectMeta(v, pick(lanceDbNames(name, v.namespace))));

    new k8s.core.v1.ServiceAccount(
      `${name}-account`,
      {
        metadata: s.apply((v) => ({
          ...objectMeta(v, lanceDbNames(name, v.namespace).serviceAccount),
          ...(v.roleArn ? { annotations: { "eks.amazonaws.com/role-arn": v.roleArn } } : {}),
        })),
        automountServiceAccountToken: false,
      },
      child,
    );
    if (isElected(mode)) {
      const n = lanceDbNames(name, "");
      new k8s.rbac.v1.Role(
        `${name}-elector-role`,
        { metadata: meta((x) => x.electorRole), rules: s.apply(electorRoleRules) },
        child,
      );
      new k8s.rbac.v1.RoleBinding(
        `${name}-elector-binding`,
        {
          metadata: meta((x) => x.electorRole),
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: n.electorRole },
          subjects: [{ kind: "ServiceAccount", name: n.serviceAccount, namespace: s.namespace }],
        },
        child,
      );
    }
    new k8s.core.v1.Service(
      `${name}-headless`,
      { metadata: meta((x) => x.headlessService), spec: s.apply(headlessServiceSpec) },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-service`,
      { metadata: meta((x) => x.service), spec: s.apply(serviceSpec) },
      child,
    );
    new k8s.apps.v1.StatefulSet(
      `${name}-store`,
      {
        metadata: s.apply((v) => ({
          ...objectMeta(v, lanceDbNames(name, v.namespace).statefulSet),
          // Only the leader is ever Ready: Pulumi waits for one ready pod, not for all of them.
          ...(isElected(mode)
            ? { annotations: { "pulumi.com/waitFor": "jsonpath={.status.readyReplicas}=1" } }
            : {}),
        })),
        spec: pulumi.all([s, uri]).apply(([v, u]) => statefulSetSpec(v, u)),
      },
      // The StatefulSet's claim templates hold the data (ebs): protected and kept on delete.
      { parent: this, protect: true, retainOnDelete: true },
    );
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-budget`,
      { metadata: meta((x) => x.budget), spec: s.apply(disruptionBudgetSpec) },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-network`,
      { metadata: meta((x) => x.statefulSet), spec: s.apply(networkPolicySpec) },
      child,
    );
  }

  /** The EFS file system, its mount targets and the access point: given ones, or created ones. */
  private efsStorage(
    name: string,
    s: pulumi.Output<LanceDbSettings>,
    efs: LanceDbEfsArgs,
  ): { fileSystemId: pulumi.Output<string>; accessPointId: pulumi.Output<string> } {
    const child = { parent: this };
    const keep = { parent: this, protect: true, retainOnDelete: true };
    const tags = {
      Name: pulumi.interpolate`${s.namespace}-${name}`,
      "app.kubernetes.io/part-of": "holdfast",
    };
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
          path: pulumi.interpolate`/holdfast/${s.namespace}/${name}`,
          creationInfo: { ownerUid: s.appUid, ownerGid: s.appUid, permissions: "0750" },
        },
        tags,
      },
      keep,
    );
    return { fileSystemId, accessPointId: accessPoint.id };
  }
}

/** Metadata of one of the store's namespaced objects. */
function objectMeta(s: LanceDbSettings, name: string) {
  return { name, namespace: s.namespace, labels: lanceDbLabels(s) };
}
