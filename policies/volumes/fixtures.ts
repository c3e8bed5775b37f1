// Compliant storage resources for the volume and bucket policies' tests, shaped like Holdfast's own:
// each test mutates one field to show one violation.
import type { Fixture } from "../evaluate/harness";

/** A Redis StatefulSet with a claim template, Retain claims, its data on the claim and scratch on emptyDir. */
export function statefulSet(): Fixture {
  return {
    type: "kubernetes:apps/v1:StatefulSet",
    name: "redis-data",
    protect: true,
    props: {
      metadata: { name: "redis", namespace: "holdfast", labels: { "app.kubernetes.io/name": "redis" } },
      spec: {
        replicas: 3,
        serviceName: "redis-headless",
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        selector: { matchLabels: { "app.kubernetes.io/name": "redis" } },
        template: {
          metadata: { labels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/component": "data" } },
          spec: {
            containers: [
              {
                name: "redis",
                image: "redis:7.2.7-bookworm",
                command: ["redis-server", "/run/holdfast/redis.conf"],
                volumeMounts: [
                  { name: "data", mountPath: "/data" },
                  { name: "run", mountPath: "/run/holdfast" },
                ],
              },
            ],
            volumes: [{ name: "run", emptyDir: { medium: "Memory" } }],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: "holdfast-redis-retain",
              resources: { requests: { storage: "8Gi" } },
            },
          },
        ],
      },
    },
  };
}

export function storageClass(): Fixture {
  return {
    type: "kubernetes:storage.k8s.io/v1:StorageClass",
    name: "redis-storage",
    protect: true,
    props: {
      metadata: { name: "holdfast-redis-retain" },
      provisioner: "ebs.csi.aws.com",
      reclaimPolicy: "Retain",
      allowVolumeExpansion: true,
    },
  };
}

export function persistentVolume(): Fixture {
  return {
    type: "kubernetes:core/v1:PersistentVolume",
    name: "lancedb-data-volume",
    protect: true,
    props: {
      metadata: { name: "holdfast-lancedb-data" },
      spec: {
        capacity: { storage: "100Gi" },
        accessModes: ["ReadWriteMany"],
        persistentVolumeReclaimPolicy: "Retain",
        csi: { driver: "efs.csi.aws.com", volumeHandle: "fs-1::fsap-1" },
      },
    },
  };
}

export function persistentVolumeClaim(): Fixture {
  return {
    type: "kubernetes:core/v1:PersistentVolumeClaim",
    name: "lancedb-data-claim",
    protect: true,
    props: {
      metadata: { name: "lancedb-data", namespace: "holdfast" },
      spec: { accessModes: ["ReadWriteMany"], storageClassName: "", volumeName: "holdfast-lancedb-data" },
    },
  };
}

const TAGS = { "app.kubernetes.io/part-of": "holdfast", "holdfast.dev/prefix": "prod" };

/**
 * A BackupBucket as its component creates it: the bucket, its key and the hardening siblings, joined by
 * the bucket's name (`bucket`) as under mocks and after creation.
 */
export function backupBucket(name = "backups", bucketName = "backups-bucket-7f3a"): Fixture[] {
  const arn = `arn:aws:s3:::${bucketName}`;
  return [
    {
      type: "aws:kms/key:Key",
      name: `${name}-key`,
      protect: true,
      props: {
        description: "Holdfast backups",
        enableKeyRotation: true,
        tags: TAGS,
        arn: `arn:aws:kms:us-east-1:1:key/${name}`,
      },
    },
    {
      type: "aws:s3/bucket:Bucket",
      name: `${name}-bucket`,
      protect: true,
      props: { bucket: bucketName, arn, objectLockEnabled: true, tags: TAGS },
    },
    {
      type: "aws:s3/bucketVersioning:BucketVersioning",
      name: `${name}-versioning`,
      protect: true,
      props: { bucket: bucketName, versioningConfiguration: { status: "Enabled" } },
    },
    {
      type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      name: `${name}-encryption`,
      props: {
        bucket: bucketName,
        rules: [
          {
            applyServerSideEncryptionByDefault: {
              sseAlgorithm: "aws:kms",
              kmsMasterKeyId: `arn:aws:kms:us-east-1:1:key/${name}`,
            },
            bucketKeyEnabled: true,
          },
        ],
      },
    },
    {
      type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      name: `${name}-public-access`,
      props: {
        bucket: bucketName,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
    },
    {
      type: "aws:s3/bucketPolicy:BucketPolicy",
      name: `${name}-policy`,
      props: {
        bucket: bucketName,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [arn, `${arn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      },
    },
    {
      type: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      name: `${name}-lifecycle`,
      props: {
        bucket: bucketName,
        rules: [
          {
            id: "transition-redis-backups",
            status: "Enabled",
            filter: { prefix: "prod/redis/" },
            transitions: [{ days: 30, storageClass: "STANDARD_IA" }],
          },
          {
            id: "noncurrent-versions-and-uploads",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: 90 },
            expiration: { expiredObjectDeleteMarker: true },
          },
        ],
      },
    },
    {
      type: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
      name: `${name}-object-lock`,
      protect: true,
      props: {
        bucket: bucketName,
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: "GOVERNANCE", days: 35 } },
      },
    },
  ];
}

/** The fixture named `name` in `fixtures` (throws when absent). */
export function named(fixtures: Fixture[], name: string): Fixture {
  const f = fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
}

/** `fixtures` without the one named `name`. */
export function without(fixtures: Fixture[], name: string): Fixture[] {
  named(fixtures, name);
  return fixtures.filter((x) => x.name !== name);
}
