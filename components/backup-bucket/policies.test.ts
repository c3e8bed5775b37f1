import {
  BucketAccess,
  JOB_SERVICE_ACCOUNTS,
  backupRolePolicy,
  jobRoleTrustPolicy,
  oidcIssuerHost,
  pruneRolePolicy,
  replicationRolePolicy,
  replicationTrustPolicy,
  restoreRolePolicy,
  tlsOnlyBucketPolicy,
} from "./policies";
import {
  PolicyDocument,
  actionPatternsOverlap,
  allowedActions,
  asList,
  statementById,
  statementsAllowing,
} from "./policy-document";
import { chainRecordKey, segmentKey } from "../../jobs/redis-stream/segment";

const access: BucketAccess = {
  bucketArn: "arn:aws:s3:::backups",
  prefix: "prod",
  kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/primary",
  region: "us-east-1",
};
const offsite: BucketAccess = {
  bucketArn: "arn:aws:s3:::backups-copy",
  prefix: "prod",
  kmsKeyArn: "arn:aws:kms:us-west-2:123456789012:key/copy",
  region: "us-west-2",
};
const account = { accountId: "123456789012", partition: "aws", region: "us-east-1" };
const oidcArn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";

/** Actions that change or remove data or bucket settings. */
const WRITES = [
  "s3:Put*",
  "s3:Delete*",
  "s3:AbortMultipartUpload",
  "s3:Replicate*",
  "s3:RestoreObject",
  "s3:BypassGovernanceRetention",
  "s3:CreateBucket",
  "kms:Encrypt",
  "kms:GenerateDataKey*",
];

function allowedResources(doc: PolicyDocument, action: string): string[] {
  return statementsAllowing(doc, action).flatMap((st) => asList(st.Resource));
}

describe("actionPatternsOverlap", () => {
  it.each([
    ["s3:*", "s3:Delete*", true],
    ["*", "s3:DeleteObject", true],
    ["s3:DeleteObject", "s3:delete*", true],
    ["s3:Delete?bject", "s3:DeleteObject", true],
    ["s3:Get*", "s3:Delete*", false],
    ["s3:PutObject", "s3:Delete*", false],
    ["s3:ReplicateDelete", "s3:Delete*", false],
    ["kms:*", "s3:*", false],
    ["s3:*Object", "s3:Delete*", true],
  ])("%s and %s overlap: %s", (a, b, expected) => {
    expect(actionPatternsOverlap(a, b)).toBe(expected);
    expect(actionPatternsOverlap(b, a)).toBe(expected);
  });

  it("counts an Allow with NotAction as allowing anything", () => {
    const doc: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", NotAction: "s3:Get*", Resource: "*" }],
    };
    expect(statementsAllowing(doc, "s3:DeleteObject")).toHaveLength(1);
  });
});

describe("tlsOnlyBucketPolicy", () => {
  it("denies every request over plain HTTP or TLS older than 1.2, on the bucket and its objects", () => {
    const doc = tlsOnlyBucketPolicy("arn:aws:s3:::b");
    expect(statementById(doc, "DenyInsecureTransport")).toEqual({
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
    expect(statementById(doc, "DenyOutdatedTls").Condition).toEqual({
      NumericLessThan: { "s3:TlsVersion": "1.2" },
    });
    expect(doc.Statement.every((st) => st.Effect === "Deny")).toBe(true);
  });
});

describe("jobRoleTrustPolicy", () => {
  it("trusts exactly the role's service account through the cluster's OIDC provider, and ECS tasks", () => {
    const doc = jobRoleTrustPolicy("prune", account, {
      oidcProviderArn: oidcArn,
      oidcIssuer: "",
      namespace: "holdfast",
    });
    expect(statementById(doc, "KubernetesServiceAccount")).toEqual({
      Sid: "KubernetesServiceAccount",
      Effect: "Allow",
      Principal: { Federated: oidcArn },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: {
          "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:holdfast:holdfast-prune",
          "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
        },
      },
    });
    expect(statementById(doc, "EcsTasks")).toMatchObject({
      Principal: { Service: "ecs-tasks.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": "123456789012" },
        ArnLike: { "aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:*" },
      },
    });
  });

  it("trusts only ECS tasks when the cluster has no OIDC provider", () => {
    const doc = jobRoleTrustPolicy("backup", account, {
      oidcProviderArn: "",
      oidcIssuer: "",
      namespace: "holdfast",
    });
    expect(doc.Statement.map((st) => st.Sid)).toEqual(["EcsTasks"]);
  });

  it("uses the given issuer, without its scheme", () => {
    expect(oidcIssuerHost(oidcArn, "https://oidc.example.com/id/X/")).toBe("oidc.example.com/id/X");
    expect(oidcIssuerHost(oidcArn, "")).toBe("oidc.eks.us-east-1.amazonaws.com/id/ABC");
    expect(() => oidcIssuerHost("arn:aws:iam::1:role/x", "")).toThrow(/set oidcIssuer/);
  });

  it("names one service account per role", () => {
    expect(JOB_SERVICE_ACCOUNTS).toEqual({
      backup: "holdfast-backup",
      prune: "holdfast-prune",
      restore: "holdfast-restore",
    });
  });
});

describe("backupRolePolicy", () => {
  const doc = backupRolePolicy(access);

  it("allows no delete of any kind, not even through a wildcard", () => {
    expect(statementsAllowing(doc, "s3:Delete*")).toEqual([]);
    expect(statementsAllowing(doc, "s3:BypassGovernanceRetention")).toEqual([]);
    expect(statementsAllowing(doc, "s3:PutBucket*")).toEqual([]);
    expect(statementsAllowing(doc, "s3:PutLifecycleConfiguration")).toEqual([]);
  });

  it("and denies deletes outright, so a policy attached later cannot grant them", () => {
    const denied = statementById(doc, "NeverDelete");
    expect(denied.Effect).toBe("Deny");
    expect(denied.Action).toEqual(
      expect.arrayContaining(["s3:Delete*", "s3:BypassGovernanceRetention", "s3:PutBucket*"]),
    );
    expect(denied.Resource).toEqual(["arn:aws:s3:::backups", "arn:aws:s3:::backups/*"]);
  });

  it("creates objects only with If-None-Match (S3's create-only write), and uploads parts, under the stack's prefix", () => {
    expect(statementsAllowing(doc, "s3:PutObject").map((st) => [st.Resource, st.Condition])).toEqual([
      ["arn:aws:s3:::backups/prod/*", { Null: { "s3:if-none-match": "false" } }],
      ["arn:aws:s3:::backups/prod/*", { Bool: { "s3:ObjectCreationOperation": "false" } }],
    ]);
  });

  it("and denies creating an object without If-None-Match, so a policy attached later cannot allow overwriting a backup", () => {
    expect(statementById(doc, "NeverOverwrite")).toEqual({
      Sid: "NeverOverwrite",
      Effect: "Deny",
      Action: ["s3:PutObject"],
      Resource: ["arn:aws:s3:::backups/*"],
      Condition: { Null: { "s3:if-none-match": "true" }, Bool: { "s3:ObjectCreationOperation": "true" } },
    });
  });

  it("gets and finishes or aborts its own uploads only under the stack's prefix", () => {
    expect(allowedResources(doc, "s3:GetObject")).toEqual(["arn:aws:s3:::backups/prod/*"]);
    expect(allowedResources(doc, "s3:AbortMultipartUpload")).toEqual(["arn:aws:s3:::backups/prod/*"]);
    expect(allowedResources(doc, "s3:ListMultipartUploadParts")).toEqual(["arn:aws:s3:::backups/prod/*"]);
    expect(statementById(doc, "ListStackBackups")).toMatchObject({
      Action: ["s3:ListBucket"],
      Resource: "arn:aws:s3:::backups",
      Condition: { StringLike: { "s3:prefix": ["prod/*"] } },
    });
  });

  it("uses the bucket's key only through S3 in the bucket's region", () => {
    expect(statementById(doc, "EncryptThroughS3")).toEqual({
      Sid: "EncryptThroughS3",
      Effect: "Allow",
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: access.kmsKeyArn,
      Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } },
    });
  });

  it("allows nothing but these actions", () => {
    expect(allowedActions(doc).sort()).toEqual(
      [
        "s3:ListBucket",
        "s3:PutObject",
        "s3:PutObject",
        "s3:GetObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
        "kms:GenerateDataKey",
        "kms:Decrypt",
      ].sort(),
    );
  });
});

describe("pruneRolePolicy", () => {
  const doc = pruneRolePolicy(access);

  it("deletes objects under the stack's prefix, leaving their versions to the lifecycle rules", () => {
    expect(allowedResources(doc, "s3:DeleteObject")).toEqual(["arn:aws:s3:::backups/prod/*"]);
    expect(statementsAllowing(doc, "s3:DeleteObjectVersion")).toEqual([]);
    expect(statementById(doc, "NeverWriteOrDestroyVersions").Action).toEqual(
      expect.arrayContaining(["s3:Put*", "s3:DeleteObjectVersion*", "s3:BypassGovernanceRetention"]),
    );
  });

  it("writes nothing", () => {
    for (const write of [
      "s3:Put*",
      "s3:Replicate*",
      "s3:RestoreObject",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
    ]) {
      expect(statementsAllowing(doc, write)).toEqual([]);
    }
  });

  it("reads only the commit markers it decides by", () => {
    expect(allowedResources(doc, "s3:GetObject")).toEqual([
      "arn:aws:s3:::backups/prod/redis/*/manifest.json",
      "arn:aws:s3:::backups/prod/redis/stream/*/chain.json",
      "arn:aws:s3:::backups/prod/lancedb/snapshots/*",
    ]);
    expect(allowedActions(doc).sort()).toEqual([
      "kms:Decrypt",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:ListBucket",
    ]);
  });
});

describe("restoreRolePolicy", () => {
  it("grants no write of any kind", () => {
    for (const doc of [restoreRolePolicy(access), restoreRolePolicy(access, offsite)]) {
      for (const write of WRITES) expect(statementsAllowing(doc, write)).toEqual([]);
      expect(statementById(doc, "ReadOnly").Effect).toBe("Deny");
    }
  });

  it("reads current and older versions under the prefix, and the offsite copy when there is one", () => {
    const doc = restoreRolePolicy(access, offsite);
    expect(allowedResources(doc, "s3:GetObjectVersion")).toEqual([
      "arn:aws:s3:::backups/prod/*",
      "arn:aws:s3:::backups-copy/prod/*",
    ]);
    expect(statementById(doc, "DecryptThroughS3Offsite")).toMatchObject({
      Action: ["kms:Decrypt"],
      Resource: offsite.kmsKeyArn,
      Condition: { StringEquals: { "kms:ViaService": "s3.us-west-2.amazonaws.com" } },
    });
    expect(allowedResources(restoreRolePolicy(access), "s3:GetObject")).toEqual([
      "arn:aws:s3:::backups/prod/*",
    ]);
  });
});

describe("replication policies", () => {
  it("lets only S3, for this account's source bucket, assume the replication role", () => {
    expect(replicationTrustPolicy("123456789012", "arn:aws:s3:::backups").Statement).toEqual([
      {
        Sid: "S3Replication",
        Effect: "Allow",
        Principal: { Service: "s3.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": "123456789012" },
          ArnLike: { "aws:SourceArn": "arn:aws:s3:::backups" },
        },
      },
    ]);
  });

  it("reads source versions, writes replicas with the copy's key, and never deletes a version", () => {
    const doc = replicationRolePolicy(access, offsite);
    expect(statementsAllowing(doc, "s3:Delete*")).toEqual([]);
    expect(statementsAllowing(doc, "s3:Put*")).toEqual([]);
    expect(allowedResources(doc, "s3:ReplicateObject")).toEqual(["arn:aws:s3:::backups-copy/prod/*"]);
    expect(allowedResources(doc, "s3:GetObjectVersionForReplication")).toEqual([
      "arn:aws:s3:::backups/prod/*",
    ]);
    expect(allowedResources(doc, "kms:Decrypt")).toEqual([access.kmsKeyArn]);
    expect(allowedResources(doc, "kms:Encrypt")).toEqual([offsite.kmsKeyArn]);
  });
});

/** Whether an IAM resource pattern (`*` any run of characters, `?` one) matches an ARN. */
function iamMatches(pattern: string, arn: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`).test(arn);
}

describe("the continuous-protection stream's keys", () => {
  // The keys the stream writes and prune reads, as the stream names them.
  const redis = "prod/redis/";
  const arn = (key: string) => `arn:aws:s3:::backups/${key}`;
  const segment = arn(segmentKey(redis, 3, 1_234_567));
  const record = arn(chainRecordKey(redis, 3));

  it("are created, read back and never deleted by the backup role the stream runs as", () => {
    const doc = backupRolePolicy(access);
    for (const key of [segment, record]) {
      expect(allowedResources(doc, "s3:PutObject").some((p) => iamMatches(p, key))).toBe(true);
      expect(allowedResources(doc, "s3:GetObject").some((p) => iamMatches(p, key))).toBe(true);
    }
    expect(statementsAllowing(doc, "s3:DeleteObject")).toEqual([]);
  });

  it("are read (the chain record) and deleted by prune, which keeps a chain with its base", () => {
    const doc = pruneRolePolicy(access);
    expect(allowedResources(doc, "s3:GetObject").some((p) => iamMatches(p, record))).toBe(true);
    for (const key of [segment, record])
      expect(allowedResources(doc, "s3:DeleteObject").some((p) => iamMatches(p, key))).toBe(true);
    // The matcher has teeth: a segment is no commit marker, and another stack's record is not ours.
    expect(allowedResources(doc, "s3:GetObject").some((p) => iamMatches(p, segment))).toBe(false);
    expect(
      allowedResources(doc, "s3:GetObject").some((p) => iamMatches(p, arn(chainRecordKey("dev/redis/", 3)))),
    ).toBe(false);
  });
});
