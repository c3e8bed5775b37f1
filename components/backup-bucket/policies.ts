// The backup bucket's policy documents: the bucket policy (TLS only), who may assume the job roles
// (Kubernetes service accounts through IRSA, ECS tasks), what each job role may do (backup writes and
// never deletes, prune deletes and never writes, restore only reads), and the replication role.
// Pure functions of ARNs and names, so tests read exactly what the component attaches.
import type { JobRole } from "../../core/stack-outputs";
import { backupStoreLayout } from "../../core/store-layout";
import type { PolicyDocument, Statement } from "./policy-document";

/** The job roles, and the Kubernetes service accounts (in the stack's namespace) that assume them. */
export const JOB_SERVICE_ACCOUNTS: Record<JobRole, string> = {
  backup: "holdfast-backup",
  prune: "holdfast-prune",
  restore: "holdfast-restore",
};

export type { JobRole };

/** One bucket as a job sees it. */
export interface BucketAccess {
  /** `arn:aws:s3:::<bucket>`. */
  bucketArn: string;
  /** The stack's key prefix. */
  prefix: string;
  /** The key the bucket encrypts with. */
  kmsKeyArn: string;
  /** The bucket's region: KMS calls are allowed only through S3 in this region. */
  region: string;
  /** DNS suffix of the partition. Default `amazonaws.com`. */
  dnsSuffix?: string;
}

/** The AWS account and region the roles live in. */
export interface AccountContext {
  accountId: string;
  /** `aws`, `aws-cn`, `aws-us-gov`. */
  partition: string;
  region: string;
}

/** Who may assume a job role besides ECS tasks. */
export interface KubernetesTrust {
  /** ARN of the cluster's IAM OIDC provider; empty trusts only ECS tasks. */
  oidcProviderArn: string;
  /** Issuer host (`oidc.eks.<region>.amazonaws.com/id/<id>`); empty derives it from the ARN. */
  oidcIssuer: string;
  /** Namespace of the service account. */
  namespace: string;
}

/** Bucket-configuration changes no job role may make, whatever else is attached to it. */
export const BUCKET_TAMPERING_ACTIONS = [
  "s3:BypassGovernanceRetention",
  "s3:PutObjectRetention",
  "s3:PutObjectLegalHold",
  "s3:PutBucket*",
  "s3:PutLifecycleConfiguration",
  "s3:PutReplicationConfiguration",
  "s3:PutEncryptionConfiguration",
  "s3:DeleteBucket*",
];

const VERSION = "2012-10-17" as const;

function objectsArn(access: BucketAccess, keyPattern: string): string {
  return `${access.bucketArn}/${keyPattern}`;
}

function viaS3(access: BucketAccess): Statement["Condition"] {
  return { StringEquals: { "kms:ViaService": `s3.${access.region}.${access.dnsSuffix ?? "amazonaws.com"}` } };
}

function listUnderPrefix(sid: string, access: BucketAccess, actions: string[]): Statement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: actions,
    Resource: access.bucketArn,
    Condition: { StringLike: { "s3:prefix": [`${backupStoreLayout(access.prefix).root}*`] } },
  };
}

function deny(sid: string, actions: string[], buckets: BucketAccess[]): Statement {
  return {
    Sid: sid,
    Effect: "Deny",
    Action: [...new Set(actions)],
    Resource: buckets.flatMap((b) => [b.bucketArn, `${b.bucketArn}/*`]),
  };
}

/** The bucket policy: refuse every request not made over TLS 1.2 or newer. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  const everything = [bucketArn, `${bucketArn}/*`];
  return {
    Version: VERSION,
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: everything,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      {
        Sid: "DenyOutdatedTls",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: everything,
        Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
      },
    ],
  };
}

/** The issuer host of an OIDC provider: given, or taken from its ARN (`...:oidc-provider/<issuer>`). */
export function oidcIssuerHost(providerArn: string, issuer: string): string {
  const host = (issuer || providerArn.split(":oidc-provider/")[1] || "").replace(/^https:\/\//, "");
  if (!host)
    throw new Error(`cannot tell the OIDC issuer from ${JSON.stringify(providerArn)}; set oidcIssuer`);
  return host.replace(/\/+$/, "");
}

/**
 * Who may assume a job role: ECS tasks of this account and region, and, when the cluster has an OIDC
 * provider, exactly one Kubernetes service account (`system:serviceaccount:<namespace>:<name>`).
 */
export function jobRoleTrustPolicy(
  role: JobRole,
  account: AccountContext,
  k8s?: KubernetesTrust,
): PolicyDocument {
  const statements: Statement[] = [
    {
      Sid: "EcsTasks",
      Effect: "Allow",
      Principal: { Service: "ecs-tasks.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": account.accountId },
        ArnLike: { "aws:SourceArn": `arn:${account.partition}:ecs:${account.region}:${account.accountId}:*` },
      },
    },
  ];
  if (k8s?.oidcProviderArn) {
    const issuer = oidcIssuerHost(k8s.oidcProviderArn, k8s.oidcIssuer);
    statements.push({
      Sid: "KubernetesServiceAccount",
      Effect: "Allow",
      Principal: { Federated: k8s.oidcProviderArn },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: {
          [`${issuer}:sub`]: `system:serviceaccount:${k8s.namespace}:${JOB_SERVICE_ACCOUNTS[role]}`,
          [`${issuer}:aud`]: "sts.amazonaws.com",
        },
      },
    });
  }
  return { Version: VERSION, Statement: statements };
}

/**
 * The backup job: list and read objects under the stack's prefix (reading back what it wrote verifies
 * an upload; aborting its own multipart upload is not a delete of data) and create new ones — never
 * replace one: a PutObject or CompleteMultipartUpload is allowed only with `If-None-Match` (S3's
 * conditional write: it fails when the key exists), and denied without it whatever else is attached;
 * the multipart steps that take no conditional header (CreateMultipartUpload, UploadPart) are allowed
 * as S3's documentation shows (`s3:ObjectCreationOperation` false). Deletes, retention changes and
 * bucket-configuration changes are denied outright.
 */
export function backupRolePolicy(access: BucketAccess): PolicyDocument {
  const root = backupStoreLayout(access.prefix).root;
  const objects = objectsArn(access, `${root}*`);
  return {
    Version: VERSION,
    Statement: [
      listUnderPrefix("ListStackBackups", access, ["s3:ListBucket"]),
      {
        Sid: "CreateStackBackups",
        Effect: "Allow",
        Action: ["s3:PutObject"],
        Resource: objects,
        Condition: { Null: { "s3:if-none-match": "false" } },
      },
      {
        Sid: "UploadParts",
        Effect: "Allow",
        Action: ["s3:PutObject"],
        Resource: objects,
        Condition: { Bool: { "s3:ObjectCreationOperation": "false" } },
      },
      {
        Sid: "ReadStackBackups",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: objects,
      },
      {
        // Uploads need a data key; multipart completion and reads need Decrypt.
        Sid: "EncryptThroughS3",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: access.kmsKeyArn,
        Condition: viaS3(access),
      },
      {
        // An object written without If-None-Match could replace a backup: refused, whatever is attached.
        Sid: "NeverOverwrite",
        Effect: "Deny",
        Action: ["s3:PutObject"],
        Resource: [`${access.bucketArn}/*`],
        Condition: { Null: { "s3:if-none-match": "true" }, Bool: { "s3:ObjectCreationOperation": "true" } },
      },
      deny("NeverDelete", ["s3:Delete*", ...BUCKET_TAMPERING_ACTIONS], [access]),
    ],
  };
}

/**
 * The prune job: list under the stack's prefix, read the commit markers it decides by (Redis
 * manifests, the stream's chain records, LanceDB snapshot records) and delete objects. A delete only adds a delete marker, so what
 * prune removes stays recoverable for the noncurrent-version days; deleting a version, writing and
 * bucket-configuration changes are denied.
 */
export function pruneRolePolicy(access: BucketAccess): PolicyDocument {
  const layout = backupStoreLayout(access.prefix);
  return {
    Version: VERSION,
    Statement: [
      listUnderPrefix("ListStackBackups", access, ["s3:ListBucket"]),
      {
        Sid: "ReadCommitMarkers",
        Effect: "Allow",
        Action: ["s3:GetObject"],
        Resource: [
          objectsArn(access, `${layout.redis}*/manifest.json`),
          // The stream's chain records: a chain is kept or deleted with the base it names.
          objectsArn(access, `${layout.redis}stream/*/chain.json`),
          objectsArn(access, `${layout.lanceSnapshots}*`),
        ],
      },
      {
        Sid: "DeleteStackBackups",
        Effect: "Allow",
        Action: ["s3:DeleteObject"],
        Resource: objectsArn(access, `${layout.root}*`),
      },
      {
        Sid: "DecryptThroughS3",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: access.kmsKeyArn,
        Condition: viaS3(access),
      },
      deny(
        "NeverWriteOrDestroyVersions",
        ["s3:Put*", "s3:DeleteObjectVersion*", ...BUCKET_TAMPERING_ACTIONS],
        [access],
      ),
    ],
  };
}

/**
 * The restore job: list and read under the stack's prefix, older versions included (a deleted or
 * overwritten backup is restored from its noncurrent version), in the bucket and, when there is one,
 * in the offsite copy (a restore must work after the primary region is lost). Every write is denied.
 */
export function restoreRolePolicy(access: BucketAccess, replica?: BucketAccess): PolicyDocument {
  const readable = replica ? [access, replica] : [access];
  const statements = readable.flatMap((b, i): Statement[] => {
    const suffix = i === 0 ? "" : "Offsite";
    return [
      listUnderPrefix(`ListStackBackups${suffix}`, b, ["s3:ListBucket", "s3:ListBucketVersions"]),
      {
        Sid: `ReadStackBackups${suffix}`,
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:GetObjectVersion"],
        Resource: objectsArn(b, `${backupStoreLayout(b.prefix).root}*`),
      },
      {
        Sid: `DecryptThroughS3${suffix}`,
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: b.kmsKeyArn,
        Condition: viaS3(b),
      },
    ];
  });
  statements.push(
    deny(
      "ReadOnly",
      [
        "s3:Put*",
        "s3:Delete*",
        "s3:AbortMultipartUpload",
        "s3:Replicate*",
        "s3:RestoreObject",
        ...BUCKET_TAMPERING_ACTIONS,
      ],
      readable,
    ),
  );
  return { Version: VERSION, Statement: statements };
}

/** Who may assume the replication role: S3, on behalf of this account's source bucket. */
export function replicationTrustPolicy(accountId: string, sourceBucketArn: string): PolicyDocument {
  return {
    Version: VERSION,
    Statement: [
      {
        Sid: "S3Replication",
        Effect: "Allow",
        Principal: { Service: "s3.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": accountId },
          ArnLike: { "aws:SourceArn": sourceBucketArn },
        },
      },
    ],
  };
}

/**
 * What S3 replication needs: read the source's versions under the stack's prefix (with their Object
 * Lock retention), decrypt them with the source key, write replicas and replicate delete markers into
 * the offsite bucket encrypted with its own key. Replication never deletes a version.
 */
export function replicationRolePolicy(source: BucketAccess, replica: BucketAccess): PolicyDocument {
  const root = backupStoreLayout(source.prefix).root;
  return {
    Version: VERSION,
    Statement: [
      {
        Sid: "ReadReplicationConfiguration",
        Effect: "Allow",
        Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
        Resource: source.bucketArn,
      },
      {
        Sid: "ReadSourceVersions",
        Effect: "Allow",
        Action: [
          "s3:GetObjectVersionForReplication",
          "s3:GetObjectVersionAcl",
          "s3:GetObjectVersionTagging",
          "s3:GetObjectRetention",
          "s3:GetObjectLegalHold",
        ],
        Resource: objectsArn(source, `${root}*`),
      },
      {
        Sid: "WriteReplicas",
        Effect: "Allow",
        Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
        Resource: objectsArn(replica, `${root}*`),
      },
      {
        Sid: "DecryptSource",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: source.kmsKeyArn,
        Condition: viaS3(source),
      },
      {
        Sid: "EncryptReplica",
        Effect: "Allow",
        Action: ["kms:Encrypt", "kms:GenerateDataKey"],
        Resource: replica.kmsKeyArn,
        Condition: viaS3(replica),
      },
    ],
  };
}
