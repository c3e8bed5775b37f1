// BackupBucket: the S3 bucket a stack's backups live in, hardened so they survive the loss of the
// cluster, of a disk and of a careless or malicious delete (versioned, KMS encrypted, private, TLS
// only, optionally Object Locked and copied to a second region), and the IAM roles the backup, prune
// and restore jobs assume. Rules and policies come from ./lifecycle, ./policies and ./replication.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { s3 } from "@pulumi/aws/types/input";
import { lifecycleRules } from "./lifecycle";
import {
  BucketAccess,
  JOB_SERVICE_ACCOUNTS,
  JobRole,
  backupRolePolicy,
  jobRoleTrustPolicy,
  pruneRolePolicy,
  replicationRolePolicy,
  replicationTrustPolicy,
  restoreRolePolicy,
  tlsOnlyBucketPolicy,
} from "./policies";
import { replicationRule } from "./replication";
import { ObjectLockMode } from "../shared/enums";

export { ObjectLockMode };

/**
 * Arguments of a BackupBucket. Values may come from other resources (pulumi.Input), except what decides
 * which resources exist: Object Lock (set when the bucket is created) and the offsite copy's region.
 */
export interface BackupBucketArgs {
  /** Key prefix of the stack's backups in the bucket (the stack passes backupPrefix, by default its name). */
  prefix: pulumi.Input<string>;
  /**
   * Days a deleted or overwritten object (a pruned backup) stays recoverable as a noncurrent version.
   * Default 30. No rule expires a current backup by age: the prune job applies retention.
   */
  noncurrentVersionDays?: pulumi.Input<number>;
  /** Days after which backups move to `transitionStorageClass`; 0 never moves them. Default 0. */
  transitionDays?: pulumi.Input<number>;
  /** Storage class backups move to. Default `STANDARD_IA`. */
  transitionStorageClass?: pulumi.Input<string>;
  /**
   * Object Lock mode of every new object version; set it when the bucket is created (S3 cannot turn
   * Object Lock on for this bucket later without replacing it, which `protect` refuses). Default: off.
   */
  objectLockMode?: ObjectLockMode;
  /** Default Object Lock retention in days; required with objectLockMode. */
  objectLockDays?: number;
  /** Region of the offsite copy bucket. Default: no copy. */
  replicaRegion?: string;
  /** ARN of an existing KMS key to encrypt with; its key policy must let IAM grant use. Default: a new key that rotates yearly. */
  kmsKeyArn?: pulumi.Input<string>;
  /** Namespace of the jobs' Kubernetes service accounts (see JOB_SERVICE_ACCOUNTS). Default `holdfast`. */
  namespace?: pulumi.Input<string>;
  /** ARN of the cluster's IAM OIDC provider. Default: none; the roles are then assumable by ECS tasks only. */
  oidcProviderArn?: pulumi.Input<string>;
  /** Issuer host of the OIDC provider. Default: taken from oidcProviderArn. */
  oidcIssuer?: pulumi.Input<string>;
  /** Tags of every AWS resource. Default none. */
  tags?: Record<string, pulumi.Input<string>>;
}

/** Resource options of a BackupBucket: a component's, plus the provider of the offsite copy. */
export interface BackupBucketOptions extends pulumi.ComponentResourceOptions {
  /**
   * AWS provider for the offsite copy's resources. Default: a provider for replicaRegion using the
   * credentials of the environment (an explicit provider does not read the stack's `aws:` config).
   */
  replicaProvider?: aws.Provider;
}

/** The ARN of each job role's IAM role. */
export interface JobRoleArns {
  /** The backup jobs' role: writes backups, never deletes. */
  backup: string;
  /** The prune job's role: deletes expired backups, never writes. */
  prune: string;
  /** The restore and drill jobs' role: reads backups, never writes. */
  restore: string;
}

/** The Kubernetes service account of each job role. */
export interface JobServiceAccounts {
  /** Service account of the backup jobs. */
  backup: string;
  /** Service account of the prune job. */
  prune: string;
  /** Service account of the restore and drill jobs. */
  restore: string;
}

/** What the bucket-level hardening of one bucket needs. */
interface Hardening {
  bucket: aws.s3.Bucket;
  kmsKeyArn: pulumi.Input<string>;
  rules: pulumi.Input<s3.BucketLifecycleConfigurationRule[]>;
  objectLock?: { mode: ObjectLockMode; days: number };
}

/** The offsite copy: its bucket, key and access, for the restore role and the outputs. */
interface OffsiteCopy {
  bucketName: pulumi.Output<string>;
  region: string;
  kmsKeyArn: pulumi.Output<string>;
  access: pulumi.Output<BucketAccess>;
}

/** Tags, lifecycle rules and Object Lock of a bucket and its copy, from the args. */
function bucketSettings(args: BackupBucketArgs) {
  return {
    tags: {
      "app.kubernetes.io/part-of": "holdfast",
      "holdfast.dev/prefix": args.prefix,
      ...args.tags,
    },
    objectLock: args.objectLockMode
      ? { mode: args.objectLockMode, days: requireLockDays(args.objectLockDays) }
      : undefined,
    rules: pulumi
      .all([args.prefix, args.noncurrentVersionDays, args.transitionDays, args.transitionStorageClass])
      .apply(([prefix, noncurrent, transition, storageClass]) =>
        lifecycleRules({
          prefix,
          noncurrentVersionDays: noncurrent ?? 30,
          transitionDays: transition ?? 0,
          transitionStorageClass: storageClass ?? "STANDARD_IA",
        }),
      ),
  };
}

/** The S3 bucket of a stack's backups and the roles of the jobs that use it. */
export class BackupBucket extends pulumi.ComponentResource {
  /** Name of the bucket. */
  public readonly bucketName: pulumi.Output<string>;
  /** ARN of the bucket. */
  public readonly bucketArn: pulumi.Output<string>;
  /** Region of the bucket. */
  public readonly region: pulumi.Output<string>;
  /** Key prefix of the stack's backups. */
  public readonly prefix: pulumi.Output<string>;
  /** ARN of the KMS key the bucket encrypts with. */
  public readonly kmsKeyArn: pulumi.Output<string>;
  /** ARNs of the job roles. */
  public readonly roleArns: pulumi.Output<JobRoleArns>;
  /** Kubernetes service accounts (in `namespace`) that may assume each role. */
  public readonly serviceAccounts: pulumi.Output<JobServiceAccounts>;
  /** Name of the offsite copy bucket; empty when there is none. */
  public readonly replicaBucketName: pulumi.Output<string>;
  /** Region of the offsite copy; empty when there is none. */
  public readonly replicaRegion: pulumi.Output<string>;
  /** ARN of the offsite copy's KMS key; empty when there is none. */
  public readonly replicaKmsKeyArn: pulumi.Output<string>;

  /**
   * @param name base name of the AWS resources.
   * @param args the bucket's settings; see BackupBucketArgs for defaults.
   * @param opts resource options; an `aws` provider passed here is used for the bucket and roles, and
   *   `replicaProvider` for the offsite copy.
   */
  constructor(name: string, args: BackupBucketArgs, opts?: BackupBucketOptions) {
    const { replicaProvider, ...componentOpts } = opts ?? {};
    super("holdfast:aws:BackupBucket", name, {}, componentOpts);
    // What holds backups, or could make them unreadable or unprotected by going away, is protected
    // and kept on delete: deleting a BucketVersioning resource would suspend versioning.
    const keep = { parent: this, protect: true, retainOnDelete: true };
    const { tags, objectLock, rules } = bucketSettings(args);
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const partition = aws.getPartitionOutput({}, { parent: this });

    const kmsKeyArn = args.kmsKeyArn
      ? pulumi.output(args.kmsKeyArn)
      : new aws.kms.Key(
          `${name}-key`,
          {
            description: pulumi.interpolate`Holdfast backups under ${args.prefix}/`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags,
          },
          keep,
        ).arn;
    const bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      { objectLockEnabled: objectLock ? true : undefined, tags },
      keep,
    );
    const versioning = this.harden(name, { bucket, kmsKeyArn, rules, objectLock }, {});
    const access = pulumi
      .all([bucket.arn, kmsKeyArn, region, partition.dnsSuffix, args.prefix])
      .apply(([bucketArn, keyArn, r, dnsSuffix, prefix]): BucketAccess => ({
        bucketArn,
        prefix,
        kmsKeyArn: keyArn,
        region: r,
        dnsSuffix,
      }));
    const offsite = args.replicaRegion
      ? this.offsiteCopy(name, args, { bucket, versioning, access, rules, tags, objectLock }, replicaProvider)
      : undefined;

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.region = region;
    this.prefix = pulumi.output(args.prefix);
    this.kmsKeyArn = kmsKeyArn;
    this.roleArns = this.jobRoles(name, args, access, offsite, tags);
    this.serviceAccounts = pulumi.output({ ...JOB_SERVICE_ACCOUNTS });
    this.replicaBucketName = offsite?.bucketName ?? pulumi.output("");
    this.replicaRegion = pulumi.output(offsite?.region ?? "");
    this.replicaKmsKeyArn = offsite?.kmsKeyArn ?? pulumi.output("");
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      region: this.region,
      prefix: this.prefix,
      kmsKeyArn: this.kmsKeyArn,
      roleArns: this.roleArns,
      serviceAccounts: this.serviceAccounts,
      replicaBucketName: this.replicaBucketName,
      replicaRegion: this.replicaRegion,
      replicaKmsKeyArn: this.replicaKmsKeyArn,
    });
  }

  /** The offsite copy in replicaRegion: its key, bucket, hardening, and the replication to it. */
  private offsiteCopy(
    name: string,
    args: BackupBucketArgs,
    source: {
      bucket: aws.s3.Bucket;
      versioning: aws.s3.BucketVersioning;
      access: pulumi.Output<BucketAccess>;
      rules: Hardening["rules"];
      tags: Record<string, pulumi.Input<string>>;
      objectLock: Hardening["objectLock"];
    },
    replicaProvider: aws.Provider | undefined,
  ): OffsiteCopy {
    const replicaRegion = args.replicaRegion!;
    const child = { parent: this };
    const keep = { parent: this, protect: true, retainOnDelete: true };
    const { bucket, tags, objectLock } = source;
    const provider =
      replicaProvider ?? new aws.Provider(`${name}-replica-provider`, { region: replicaRegion }, child);
    const replicaKey = new aws.kms.Key(
      `${name}-replica-key`,
      {
        description: pulumi.interpolate`Holdfast offsite copy of backups under ${args.prefix}/`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      },
      { ...keep, provider },
    );
    const replica = new aws.s3.Bucket(
      `${name}-replica`,
      { objectLockEnabled: objectLock ? true : undefined, tags },
      { ...keep, provider },
    );
    const replicaVersioning = this.harden(
      `${name}-replica`,
      { bucket: replica, kmsKeyArn: replicaKey.arn, rules: source.rules, objectLock },
      { provider },
    );
    const partition = aws.getPartitionOutput({}, child);
    const access = pulumi
      .all([replica.arn, replicaKey.arn, partition.dnsSuffix, args.prefix])
      .apply(([bucketArn, keyArn, dnsSuffix, prefix]) => ({
        bucketArn,
        prefix,
        kmsKeyArn: keyArn,
        region: replicaRegion,
        dnsSuffix,
      }));
    const account = aws.getCallerIdentityOutput({}, child).accountId;
    const replicationRole = new aws.iam.Role(
      `${name}-replication-role`,
      {
        description: pulumi.interpolate`S3 replication of Holdfast backups under ${args.prefix}/ to ${replicaRegion}`,
        assumeRolePolicy: pulumi
          .all([account, bucket.arn])
          .apply(([accountId, arn]) => JSON.stringify(replicationTrustPolicy(accountId, arn))),
        tags,
      },
      child,
    );
    const replicationPolicy = new aws.iam.RolePolicy(
      `${name}-replication-policy`,
      {
        role: replicationRole.id,
        policy: pulumi
          .all([source.access, access])
          .apply(([from, to]) => JSON.stringify(replicationRolePolicy(from, to))),
      },
      child,
    );
    new aws.s3.BucketReplicationConfig(
      `${name}-replication`,
      {
        bucket: bucket.bucket,
        role: replicationRole.arn,
        rules: [
          pulumi
            .all([replica.arn, replicaKey.arn, args.prefix])
            .apply(([arn, keyArn, prefix]) => replicationRule(prefix, arn, keyArn)),
        ],
      },
      { parent: this, dependsOn: [source.versioning, replicaVersioning, replicationPolicy] },
    );
    return { bucketName: replica.bucket, region: replicaRegion, kmsKeyArn: replicaKey.arn, access };
  }

  /** The backup, prune and restore roles, each trusting its service account, with its least privilege. */
  private jobRoles(
    name: string,
    args: BackupBucketArgs,
    access: pulumi.Output<BucketAccess>,
    offsite: OffsiteCopy | undefined,
    tags: Record<string, pulumi.Input<string>>,
  ): pulumi.Output<JobRoleArns> {
    const child = { parent: this };
    const region = aws.getRegionOutput({}, child).region;
    const account = aws.getCallerIdentityOutput({}, child).accountId;
    const partition = aws.getPartitionOutput({}, child);
    const trust = pulumi.all([
      account,
      region,
      partition.partition,
      args.oidcProviderArn ?? "",
      args.oidcIssuer ?? "",
      args.namespace ?? "holdfast",
    ]);
    const trustFor = (role: JobRole) =>
      trust.apply(([accountId, r, p, oidcProviderArn, oidcIssuer, namespace]) =>
        JSON.stringify(
          jobRoleTrustPolicy(
            role,
            { accountId, region: r, partition: p },
            { oidcProviderArn, oidcIssuer, namespace },
          ),
        ),
      );
    const permissions: Record<JobRole, pulumi.Output<string>> = {
      backup: access.apply((a) => JSON.stringify(backupRolePolicy(a))),
      prune: access.apply((a) => JSON.stringify(pruneRolePolicy(a))),
      restore: pulumi
        .all([access, offsite?.access])
        .apply(([a, copy]) => JSON.stringify(restoreRolePolicy(a, copy))),
    };
    const descriptions: Record<JobRole, string> = {
      backup: "writes backups, never deletes",
      prune: "deletes expired backups, never writes",
      restore: "reads backups, never writes",
    };
    const arns = {} as Record<JobRole, pulumi.Output<string>>;
    for (const role of Object.keys(JOB_SERVICE_ACCOUNTS) as JobRole[]) {
      const iamRole = new aws.iam.Role(
        `${name}-${role}-role`,
        {
          description: pulumi.interpolate`Holdfast ${role} job under ${args.prefix}/: ${descriptions[role]}`,
          assumeRolePolicy: trustFor(role),
          tags,
        },
        child,
      );
      new aws.iam.RolePolicy(
        `${name}-${role}-policy`,
        { role: iamRole.id, policy: permissions[role] },
        child,
      );
      arns[role] = iamRole.arn;
    }
    return pulumi.output(arns);
  }

  /**
   * Versioning, default encryption, owner-enforced objects, every public-access block, the TLS-only
   * policy, the lifecycle rules and Object Lock for one bucket.
   * @returns the versioning resource, which replication and the lifecycle rules depend on.
   */
  private harden(name: string, h: Hardening, opts: { provider?: aws.Provider }): aws.s3.BucketVersioning {
    const child = { parent: this, ...opts };
    const keep = { ...child, protect: true, retainOnDelete: true };
    const bucket = h.bucket.bucket;
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket, versioningConfiguration: { status: "Enabled" } },
      keep,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket,
        rules: [
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: h.kmsKeyArn },
            // A bucket key cuts the KMS requests (and their cost) of many small objects.
            bucketKeyEnabled: true,
          },
        ],
      },
      child,
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
      child,
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      child,
    );
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      { bucket, policy: h.bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) },
      // S3 refuses concurrent changes of a bucket's policy and its public-access block.
      { ...child, dependsOn: [publicAccess] },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      { bucket, rules: h.rules },
      { ...child, dependsOn: [versioning] },
    );
    if (h.objectLock) {
      new aws.s3.BucketObjectLockConfiguration(
        `${name}-object-lock`,
        {
          bucket,
          objectLockEnabled: "Enabled",
          rule: { defaultRetention: { mode: h.objectLock.mode, days: h.objectLock.days } },
        },
        { ...keep, dependsOn: [versioning] },
      );
    }
    return versioning;
  }
}

function requireLockDays(days: number | undefined): number {
  if (days === undefined || !Number.isInteger(days) || days < 1)
    throw new Error("objectLockDays must be a whole number of days >= 1 when objectLockMode is set");
  return days;
}
