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

/** S3 Object Lock modes: GOVERNANCE can be lifted by a principal allowed to bypass it, COMPLIANCE by nobody. */
export type ObjectLockMode = "GOVERNANCE" | "COMPLIANCE";

/** Arguments of a BackupBucket. */
export interface BackupBucketArgs {
  /** Key prefix of the stack's backups in the bucket (the stack passes backupPrefix, by default its name). */
  prefix: string;
  /**
   * Days a deleted or overwritten object (a pruned backup) stays recoverable as a noncurrent version.
   * Default 30. No rule expires a current backup by age: the prune job applies retention.
   */
  noncurrentVersionDays?: number;
  /** Days after which backups move to `transitionStorageClass`; 0 never moves them. Default 0. */
  transitionDays?: number;
  /** Storage class backups move to. Default `STANDARD_IA`. */
  transitionStorageClass?: string;
  /**
   * Object Lock mode of every new object version; set it when the bucket is created (S3 cannot turn
   * Object Lock on for this bucket later without replacing it, which `protect` refuses). Default: off.
   */
  objectLockMode?: ObjectLockMode;
  /** Default Object Lock retention in days; required with objectLockMode. */
  objectLockDays?: number;
  /** Region of the offsite copy bucket. Default: no copy. */
  replicaRegion?: string;
  /**
   * AWS provider for the offsite copy's resources. Default: a provider for replicaRegion using the
   * credentials of the environment (an explicit provider does not read the stack's `aws:` config).
   */
  replicaProvider?: aws.Provider;
  /** ARN of an existing KMS key to encrypt with; its key policy must let IAM grant use. Default: a new key that rotates yearly. */
  kmsKeyArn?: string;
  /** Namespace of the jobs' Kubernetes service accounts (see JOB_SERVICE_ACCOUNTS). Default `holdfast`. */
  namespace?: string;
  /** ARN of the cluster's IAM OIDC provider. Default: none; the roles are then assumable by ECS tasks only. */
  oidcProviderArn?: string;
  /** Issuer host of the OIDC provider. Default: taken from oidcProviderArn. */
  oidcIssuer?: string;
  /** Tags of every AWS resource. Default none. */
  tags?: Record<string, string>;
}

/** What the bucket-level hardening of one bucket needs. */
interface Hardening {
  bucket: aws.s3.Bucket;
  kmsKeyArn: pulumi.Input<string>;
  rules: s3.BucketLifecycleConfigurationRule[];
  objectLock?: { mode: ObjectLockMode; days: number };
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
  public readonly prefix: string;
  /** ARN of the KMS key the bucket encrypts with. */
  public readonly kmsKeyArn: pulumi.Output<string>;
  /** ARNs of the job roles. */
  public readonly roleArns: Record<JobRole, pulumi.Output<string>>;
  /** Kubernetes service accounts (in `namespace`) that may assume each role. */
  public readonly serviceAccounts: Record<JobRole, string>;
  /** Name of the offsite copy bucket, when there is one. */
  public readonly replicaBucketName?: pulumi.Output<string>;
  /** Region of the offsite copy, when there is one. */
  public readonly replicaRegion?: string;
  /** ARN of the offsite copy's KMS key, when there is one. */
  public readonly replicaKmsKeyArn?: pulumi.Output<string>;

  /**
   * @param name base name of the AWS resources.
   * @param args the bucket's settings; see BackupBucketArgs for defaults.
   * @param opts resource options; an `aws` provider passed here is used for the bucket and roles.
   */
  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:aws:BackupBucket", name, {}, opts);
    const child = { parent: this };
    // What holds backups, or could make them unreadable or unprotected by going away, is protected
    // and kept on delete: deleting a BucketVersioning resource would suspend versioning.
    const keep = { parent: this, protect: true, retainOnDelete: true };
    const tags = {
      "app.kubernetes.io/part-of": "holdfast",
      "holdfast.dev/prefix": args.prefix,
      ...args.tags,
    };
    const objectLock = args.objectLockMode
      ? { mode: args.objectLockMode, days: requireLockDays(args.objectLockDays) }
      : undefined;
    const rules = lifecycleRules({
      prefix: args.prefix,
      noncurrentVersionDays: args.noncurrentVersionDays ?? 30,
      transitionDays: args.transitionDays ?? 0,
      transitionStorageClass: args.transitionStorageClass ?? "STANDARD_IA",
    });

    const region = aws.getRegionOutput({}, child).region;
    const account = aws.getCallerIdentityOutput({}, child).accountId;
    const partition = aws.getPartitionOutput({}, child);

    const kmsKeyArn = args.kmsKeyArn
      ? pulumi.output(args.kmsKeyArn)
      : new aws.kms.Key(
          `${name}-key`,
          {
            description: `Holdfast backups under ${args.prefix}/`,
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
      .all([bucket.arn, kmsKeyArn, region, partition.dnsSuffix])
      .apply(([bucketArn, keyArn, r, dnsSuffix]): BucketAccess => ({
        bucketArn,
        prefix: args.prefix,
        kmsKeyArn: keyArn,
        region: r,
        dnsSuffix,
      }));

    let replicaAccess: pulumi.Output<BucketAccess> | undefined;
    if (args.replicaRegion) {
      const replicaRegion = args.replicaRegion;
      const provider =
        args.replicaProvider ??
        new aws.Provider(`${name}-replica-provider`, { region: replicaRegion }, child);
      const replicaKey = new aws.kms.Key(
        `${name}-replica-key`,
        {
          description: `Holdfast offsite copy of backups under ${args.prefix}/`,
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
        { bucket: replica, kmsKeyArn: replicaKey.arn, rules, objectLock },
        { provider },
      );
      replicaAccess = pulumi
        .all([replica.arn, replicaKey.arn, partition.dnsSuffix])
        .apply(([bucketArn, keyArn, dnsSuffix]) => ({
          bucketArn,
          prefix: args.prefix,
          kmsKeyArn: keyArn,
          region: replicaRegion,
          dnsSuffix,
        }));

      const replicationRole = new aws.iam.Role(
        `${name}-replication-role`,
        {
          description: `S3 replication of Holdfast backups under ${args.prefix}/ to ${replicaRegion}`,
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
            .all([access, replicaAccess])
            .apply(([source, target]) => JSON.stringify(replicationRolePolicy(source, target))),
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
              .all([replica.arn, replicaKey.arn])
              .apply(([arn, keyArn]) => replicationRule(args.prefix, arn, keyArn)),
          ],
        },
        { parent: this, dependsOn: [versioning, replicaVersioning, replicationPolicy] },
      );
      this.replicaBucketName = replica.bucket;
      this.replicaRegion = replicaRegion;
      this.replicaKmsKeyArn = replicaKey.arn;
    }

    const trustFor = (role: JobRole) =>
      pulumi.all([account, region, partition.partition]).apply(([accountId, r, p]) =>
        JSON.stringify(
          jobRoleTrustPolicy(
            role,
            { accountId, region: r, partition: p },
            {
              oidcProviderArn: args.oidcProviderArn ?? "",
              oidcIssuer: args.oidcIssuer ?? "",
              namespace: args.namespace ?? "holdfast",
            },
          ),
        ),
      );
    const permissions: Record<JobRole, pulumi.Output<string>> = {
      backup: access.apply((a) => JSON.stringify(backupRolePolicy(a))),
      prune: access.apply((a) => JSON.stringify(pruneRolePolicy(a))),
      restore: pulumi
        .all([access, replicaAccess])
        .apply(([a, offsite]) => JSON.stringify(restoreRolePolicy(a, offsite))),
    };
    const descriptions: Record<JobRole, string> = {
      backup: "writes backups, never deletes",
      prune: "deletes expired backups, never writes",
      restore: "reads backups, never writes",
    };
    const roleArns = {} as Record<JobRole, pulumi.Output<string>>;
    for (const role of Object.keys(JOB_SERVICE_ACCOUNTS) as JobRole[]) {
      const iamRole = new aws.iam.Role(
        `${name}-${role}-role`,
        {
          description: `Holdfast ${role} job under ${args.prefix}/: ${descriptions[role]}`,
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
      roleArns[role] = iamRole.arn;
    }

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.region = region;
    this.prefix = args.prefix;
    this.kmsKeyArn = kmsKeyArn;
    this.roleArns = roleArns;
    this.serviceAccounts = { ...JOB_SERVICE_ACCOUNTS };
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      region: this.region,
      kmsKeyArn: this.kmsKeyArn,
      roleArns: this.roleArns,
      replicaBucketName: this.replicaBucketName,
      replicaKmsKeyArn: this.replicaKmsKeyArn,
    });
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
