// The BackupBucket as the dev and prod stacks create it, run offline under Pulumi mocks.
import {
  OfflineRun,
  RecordedResource,
  findResource,
  resourcesOfType,
  stackRun,
} from "../../test/support/stack";
import { LIFECYCLE_RULE_IDS } from "./lifecycle";
import { PolicyDocument, statementById, statementsAllowing } from "./policy-document";
import { REPLICATION_RULE_ID } from "./replication";

const T = {
  bucket: "aws:s3/bucket:Bucket",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  objectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  replication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
  key: "aws:kms/key:Key",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  provider: "pulumi:providers:aws",
};

const COMPONENT = "holdfast:aws:BackupBucket::backups";

function doc(r: RecordedResource, field = "policy"): PolicyDocument {
  return JSON.parse(r.inputs[field] as string) as PolicyDocument;
}

/** A lifecycle rule as the run recorded it. */
interface RecordedRule {
  id: string;
  filter: { prefix?: string };
  expiration?: { days?: number; date?: string; expiredObjectDeleteMarker?: boolean };
  transitions?: { days: number; storageClass: string }[];
  noncurrentVersionExpiration?: { noncurrentDays: number };
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

function rules(run: OfflineRun, name = "backups-lifecycle"): RecordedRule[] {
  return findResource(run, T.lifecycle, name).inputs.rules as RecordedRule[];
}

function ruleById(run: OfflineRun, id: string, name?: string) {
  const found = rules(run, name).find((r) => r.id === id);
  if (!found) throw new Error(`no lifecycle rule ${id}`);
  return found;
}

describe.each(["dev", "prod"])("the %s stack's backup bucket", (stack) => {
  let run: OfflineRun;
  beforeAll(async () => {
    run = await stackRun(stack);
  });

  it("is created by a holdfast:aws:BackupBucket component", () => {
    expect(findResource(run, "holdfast:aws:BackupBucket", "backups").custom).toBe(false);
    expect(findResource(run, T.bucket, "backups-bucket").parent).toBe(COMPONENT);
  });

  it("is versioned", () => {
    const versioning = findResource(run, T.versioning, "backups-versioning");
    expect(versioning.inputs).toEqual({
      bucket: "backups-bucket-mock",
      versioningConfiguration: { status: "Enabled" },
    });
  });

  it("encrypts with its own rotating KMS key and a bucket key", () => {
    const key = findResource(run, T.key, "backups-key");
    expect(key.inputs.enableKeyRotation).toBe(true);
    expect(findResource(run, T.encryption, "backups-encryption").inputs.rules).toEqual([
      {
        applyServerSideEncryptionByDefault: {
          sseAlgorithm: "aws:kms",
          kmsMasterKeyId: "arn:aws:kms:us-east-1:123456789012:backups-key",
        },
        bucketKeyEnabled: true,
      },
    ]);
  });

  it("enforces bucket ownership and blocks every kind of public access", () => {
    expect(findResource(run, T.ownership, "backups-ownership").inputs.rule).toEqual({
      objectOwnership: "BucketOwnerEnforced",
    });
    expect(findResource(run, T.publicAccess, "backups-public-access").inputs).toEqual({
      bucket: "backups-bucket-mock",
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
  });

  it("denies requests made without TLS", () => {
    const policy = doc(findResource(run, T.policy, "backups-policy"));
    expect(policy.Statement).toContainEqual({
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: ["arn:aws:s3:::backups-bucket-mock", "arn:aws:s3:::backups-bucket-mock/*"],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
  });

  it("expires no current backup by age, whatever the stack: only noncurrent versions and unfinished uploads are cleaned", () => {
    for (const r of rules(run)) {
      expect({ id: r.id, days: r.expiration?.days, date: r.expiration?.date }).toEqual({
        id: r.id,
        days: undefined,
        date: undefined,
      });
    }
    expect(ruleById(run, LIFECYCLE_RULE_IDS.housekeeping)).toMatchObject({
      noncurrentVersionExpiration: { noncurrentDays: stack === "prod" ? 90 : 7 },
      expiration: { expiredObjectDeleteMarker: true },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
    });
    if (stack === "prod")
      for (const id of [
        LIFECYCLE_RULE_IDS.redis,
        LIFECYCLE_RULE_IDS.lanceSnapshots,
        LIFECYCLE_RULE_IDS.lanceFiles,
      ])
        expect(ruleById(run, id).filter.prefix).toMatch(
          new RegExp(`^prod/(redis|lancedb/(snapshots|files))/$`),
        );
  });

  it("creates the bucket, its key and its versioning protected and retained on delete", () => {
    for (const r of [
      findResource(run, T.bucket, "backups-bucket"),
      findResource(run, T.key, "backups-key"),
      findResource(run, T.versioning, "backups-versioning"),
    ]) {
      expect([r.name, r.protect, r.retainOnDelete]).toEqual([r.name, true, true]);
    }
  });

  it("sets forceDestroy (or forceDelete) on nothing", () => {
    const forcing = run.resources.filter((r) => "forceDestroy" in r.inputs || "forceDelete" in r.inputs);
    expect(forcing.map((r) => r.name)).toEqual([]);
  });

  it("gives the backup role no s3:Delete* and the restore role no write", () => {
    const backup = doc(findResource(run, T.rolePolicy, "backups-backup-policy"));
    expect(statementsAllowing(backup, "s3:Delete*")).toEqual([]);
    // Creating objects (If-None-Match) and uploading parts; a Deny refuses any other PutObject.
    expect(statementsAllowing(backup, "s3:PutObject").map((st) => st.Sid)).toEqual([
      "CreateStackBackups",
      "UploadParts",
    ]);
    expect(statementById(backup, "NeverOverwrite").Effect).toBe("Deny");
    const restore = doc(findResource(run, T.rolePolicy, "backups-restore-policy"));
    for (const write of [
      "s3:Put*",
      "s3:Delete*",
      "s3:AbortMultipartUpload",
      "s3:Replicate*",
      "kms:GenerateDataKey*",
    ])
      expect(statementsAllowing(restore, write)).toEqual([]);
    expect(statementsAllowing(restore, "s3:GetObject").length).toBeGreaterThan(0);
    const prune = doc(findResource(run, T.rolePolicy, "backups-prune-policy"));
    expect(statementsAllowing(prune, "s3:Put*")).toEqual([]);
  });

  it("scopes every job role to the stack's prefix in the bucket", () => {
    for (const role of ["backup", "prune", "restore"]) {
      const policy = doc(findResource(run, T.rolePolicy, `backups-${role}-policy`));
      const resources = policy.Statement.filter((st) => st.Effect === "Allow").flatMap((st) =>
        ([] as string[]).concat(st.Resource ?? []),
      );
      const objectArns = resources.filter((arn) => arn.startsWith("arn:aws:s3:::backups-bucket-mock/"));
      expect(objectArns.length).toBeGreaterThan(0);
      for (const arn of objectArns)
        expect(arn.startsWith(`arn:aws:s3:::backups-bucket-mock/${stack}/`)).toBe(true);
    }
  });

  it("lets ECS tasks and, through the stack file's OIDC provider, the jobs' service accounts assume the job roles, nothing else", () => {
    for (const role of ["backup", "prune", "restore"]) {
      const trust = doc(findResource(run, T.role, `backups-${role}-role`), "assumeRolePolicy");
      expect(trust.Statement.map((st) => st.Principal)).toEqual([
        { Service: "ecs-tasks.amazonaws.com" },
        { Federated: expect.stringMatching(/^arn:aws:iam::\d{12}:oidc-provider\/oidc\.eks\./) },
      ]);
    }
  });

  it("exports what the jobs need", () => {
    const backup = run.outputs.backup as Record<string, unknown>;
    expect(backup).toMatchObject({
      bucket: "backups-bucket-mock",
      bucketArn: "arn:aws:s3:::backups-bucket-mock",
      region: "us-east-1",
      prefix: stack,
      kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:backups-key",
      roles: {
        backup: expect.stringContaining("backups-backup-role"),
        prune: expect.stringContaining("backups-prune-role"),
        restore: expect.stringContaining("backups-restore-role"),
      },
      serviceAccounts: { backup: "holdfast-backup", prune: "holdfast-prune", restore: "holdfast-restore" },
    });
  });
});

describe("Object Lock and the offsite copy", () => {
  it("prod locks every object version in GOVERNANCE mode for 35 days, in both buckets", async () => {
    const run = await stackRun("prod");
    for (const name of ["backups", "backups-replica"]) {
      const bucket = findResource(run, T.bucket, name === "backups" ? "backups-bucket" : "backups-replica");
      expect(bucket.inputs.objectLockEnabled).toBe(true);
      const lock = findResource(run, T.objectLock, `${name}-object-lock`);
      expect(lock.inputs.rule).toEqual({ defaultRetention: { mode: "GOVERNANCE", days: 35 } });
      expect([lock.protect, lock.retainOnDelete]).toEqual([true, true]);
    }
  });

  it("prod replicates the stack's prefix to a bucket in us-west-2 with its own key and role", async () => {
    const run = await stackRun("prod");
    const provider = findResource(run, T.provider, "backups-replica-provider");
    expect(provider.inputs.region).toBe("us-west-2");
    const providerKey = `${T.provider}::backups-replica-provider`;
    const replica = findResource(run, T.bucket, "backups-replica");
    const replicaKey = findResource(run, T.key, "backups-replica-key");
    for (const r of [replica, replicaKey]) {
      expect([r.provider, r.protect, r.retainOnDelete]).toEqual([providerKey, true, true]);
    }
    expect(replicaKey.inputs.enableKeyRotation).toBe(true);
    for (const type of [T.versioning, T.encryption, T.ownership, T.publicAccess, T.policy, T.lifecycle]) {
      const copy = resourcesOfType(run, type).find((r) => r.name.startsWith("backups-replica-"));
      expect([type, copy?.provider, copy?.inputs.bucket]).toEqual([
        type,
        providerKey,
        "backups-replica-mock",
      ]);
    }

    const replication = findResource(run, T.replication, "backups-replication");
    expect(replication.provider).toBeUndefined();
    expect(replication.inputs.bucket).toBe("backups-bucket-mock");
    expect(replication.inputs.rules).toEqual([
      expect.objectContaining({
        id: REPLICATION_RULE_ID,
        status: "Enabled",
        filter: { prefix: "prod/" },
        sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
        destination: {
          bucket: "arn:aws:s3:::backups-replica-mock",
          storageClass: "STANDARD",
          encryptionConfiguration: {
            replicaKmsKeyId: "arn:aws:kms:us-east-1:123456789012:backups-replica-key",
          },
        },
      }),
    ]);
    const role = findResource(run, T.role, "backups-replication-role");
    expect(replication.inputs.role).toBe("arn:aws:iam:us-east-1:123456789012:backups-replication-role");
    const trust = doc(role, "assumeRolePolicy");
    expect(trust.Statement.map((st) => st.Principal)).toEqual([{ Service: "s3.amazonaws.com" }]);
    // The copy runs the same retention rules as the source.
    expect(rules(run, "backups-replica-lifecycle")).toEqual(rules(run));
    expect((run.outputs.backup as Record<string, unknown>).replicaBucket).toBe("backups-replica-mock");
    expect((run.outputs.backup as Record<string, unknown>).replicaRegion).toBe("us-west-2");
  });

  it("dev has neither Object Lock nor a copy", async () => {
    const run = await stackRun("dev");
    expect(findResource(run, T.bucket, "backups-bucket").inputs.objectLockEnabled).toBeUndefined();
    expect(resourcesOfType(run, T.objectLock)).toEqual([]);
    expect(resourcesOfType(run, T.replication)).toEqual([]);
    expect(resourcesOfType(run, T.provider)).toEqual([]);
    expect(resourcesOfType(run, T.bucket).map((r) => r.name)).toEqual(["backups-bucket"]);
    expect((run.outputs.backup as Record<string, unknown>).replicaBucket).toBeUndefined();
  });
});

describe("stack config changes the bucket", () => {
  it("follows backupNoncurrentVersionDays and the transition settings, and expires no backup by age even when backupRetentionDays is set", async () => {
    const run = await stackRun("dev", {
      "holdfast:backupRetentionDays": 7,
      "holdfast:backupNoncurrentVersionDays": 3,
      "holdfast:backupTransitionDays": 2,
      "holdfast:backupTransitionStorageClass": "GLACIER_IR",
    });
    const moved = [{ days: 2, storageClass: "GLACIER_IR" }];
    expect(ruleById(run, LIFECYCLE_RULE_IDS.redis)).toEqual({
      id: LIFECYCLE_RULE_IDS.redis,
      status: "Enabled",
      filter: { prefix: "dev/redis/" },
      transitions: moved,
    });
    expect(ruleById(run, LIFECYCLE_RULE_IDS.lanceSnapshots)).toEqual({
      id: LIFECYCLE_RULE_IDS.lanceSnapshots,
      status: "Enabled",
      filter: { prefix: "dev/lancedb/snapshots/" },
      transitions: moved,
    });
    expect(ruleById(run, LIFECYCLE_RULE_IDS.lanceFiles)).toEqual({
      id: LIFECYCLE_RULE_IDS.lanceFiles,
      status: "Enabled",
      filter: { prefix: "dev/lancedb/files/" },
      transitions: moved,
    });
    expect(ruleById(run, LIFECYCLE_RULE_IDS.housekeeping).noncurrentVersionExpiration).toEqual({
      noncurrentDays: 3,
    });
  });

  it("moves every rule and grant to backupPrefix", async () => {
    const run = await stackRun("dev", {
      "holdfast:backupPrefix": "team-a/redis-main",
      "holdfast:backupTransitionDays": 30,
    });
    expect(ruleById(run, LIFECYCLE_RULE_IDS.redis).filter).toEqual({ prefix: "team-a/redis-main/redis/" });
    const backup = doc(findResource(run, T.rolePolicy, "backups-backup-policy"));
    expect(statementsAllowing(backup, "s3:PutObject")[0].Resource).toBe(
      "arn:aws:s3:::backups-bucket-mock/team-a/redis-main/*",
    );
  });

  it("uses a KMS key the user passes instead of creating one", async () => {
    const keyArn = "arn:aws:kms:us-east-1:123456789012:key/0000-given";
    const run = await stackRun("dev", { "holdfast:backupKmsKeyArn": keyArn });
    expect(resourcesOfType(run, T.key)).toEqual([]);
    expect(
      findResource(run, T.encryption, "backups-encryption").inputs.rules[0]
        .applyServerSideEncryptionByDefault,
    ).toEqual({ sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn });
    const backup = doc(findResource(run, T.rolePolicy, "backups-backup-policy"));
    expect(statementsAllowing(backup, "kms:GenerateDataKey")[0].Resource).toBe(keyArn);
  });

  it("lets the stack's service accounts assume the roles through the cluster's OIDC provider", async () => {
    const provider = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
    const run = await stackRun("dev", { "holdfast:oidcProviderArn": provider });
    for (const role of ["backup", "prune", "restore"]) {
      const trust = doc(findResource(run, T.role, `backups-${role}-role`), "assumeRolePolicy");
      const web = trust.Statement.find((st) => st.Action === "sts:AssumeRoleWithWebIdentity");
      expect(web).toEqual({
        Sid: "KubernetesServiceAccount",
        Effect: "Allow",
        Principal: { Federated: provider },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": `system:serviceaccount:holdfast-dev:holdfast-${role}`,
            "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
          },
        },
      });
    }
  });

  it("turns on COMPLIANCE Object Lock when configured", async () => {
    const run = await stackRun("dev", {
      "holdfast:backupObjectLockMode": "COMPLIANCE",
      "holdfast:backupObjectLockDays": 10,
    });
    expect(findResource(run, T.objectLock, "backups-object-lock").inputs.rule).toEqual({
      defaultRetention: { mode: "COMPLIANCE", days: 10 },
    });
  });
});
