import { UNKNOWN, checkStack } from "../evaluate/harness";
import { backupBucket, named, without } from "../volumes/fixtures";
import { backupBucketTlsOnly as policy, deniesInsecureTransport } from "./backup-bucket-tls-only";

const statement = {
  Effect: "Deny",
  Principal: "*",
  Action: "s3:*",
  Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
  Condition: { Bool: { "aws:SecureTransport": "false" } },
};

describe("aws-s3-backup-bucket-tls-only", () => {
  it("#1 passes Holdfast's TLS-only policy", async () => {
    expect((await checkStack(policy, backupBucket())).messages).toEqual([]);
  });

  it("#2 reports a backup bucket without a bucket policy", async () => {
    expect((await checkStack(policy, without(backupBucket(), "backups-policy"))).messages).toEqual([
      "backup bucket backups-bucket (backups-bucket-7f3a) has no bucket policy denying requests without TLS",
    ]);
  });

  it("#3 reports a policy that does not deny plain HTTP", async () => {
    const fixtures = backupBucket();
    named(fixtures, "backups-policy").props.policy = JSON.stringify({
      Statement: [{ ...statement, Effect: "Allow", Principal: { AWS: "arn:aws:iam::1:root" } }],
    });
    expect((await checkStack(policy, fixtures)).messages).toEqual([
      expect.stringContaining("its bucket policy does not deny requests without TLS"),
    ]);
  });

  it.each([
    ["an Allow", { Effect: "Allow" }],
    ["one principal", { Principal: { AWS: "arn:aws:iam::1:root" } }],
    ["GetObject only", { Action: "s3:GetObject" }],
    ["the bucket but not its objects", { Resource: "arn:aws:s3:::b" }],
    ["no SecureTransport condition", { Condition: { StringEquals: { "aws:SourceVpce": "vpce-1" } } }],
    ["SecureTransport true", { Condition: { Bool: { "aws:SecureTransport": "true" } } }],
  ])("#4 does not take %s for a TLS-only statement", (_label, change) => {
    expect(deniesInsecureTransport({ Statement: [statement] })).toBe(true);
    expect(deniesInsecureTransport({ Statement: [{ ...statement, ...change }] })).toBe(false);
  });

  it("#5 accepts the forms IAM allows: a single statement, Principal {AWS: *}, Action *, boolean false", () => {
    expect(
      deniesInsecureTransport({
        Statement: {
          ...statement,
          Principal: { AWS: ["*"] },
          Action: "*",
          Condition: { Bool: { "aws:SecureTransport": false } },
        },
      }),
    ).toBe(true);
    expect(deniesInsecureTransport("not json")).toBe(false);
  });

  it("#6 a policy unknown during preview is the preview advisory, not a pass", async () => {
    const fixtures = backupBucket();
    named(fixtures, "backups-policy").props.policy = UNKNOWN;
    expect((await checkStack(policy, fixtures)).violations).toEqual([
      expect.objectContaining({ unknown: true, enforcementLevel: "advisory" }),
    ]);
  });
});
