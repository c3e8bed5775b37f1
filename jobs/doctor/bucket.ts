// The bucket: versioning keeps an overwritten or deleted backup object recoverable (the stack turns it
// on, and its lifecycle expires old versions), and where the stack configures Object Lock the bucket's
// default retention must say the same mode and days. Read with the operator's AWS credentials.
import { GetBucketVersioningCommand, GetObjectLockConfigurationCommand } from "@aws-sdk/client-s3";
import { type CheckGroup, type CheckResult, type DoctorContext, resultsOf } from "./check";

const r = resultsOf("bucket");

function errorName(err: unknown): string {
  const e = err as { name?: string; Code?: string; message?: string };
  return e.Code ?? e.name ?? "Error";
}

async function versioningCheck(ctx: DoctorContext): Promise<CheckResult> {
  const at = await ctx.backups();
  const answer = await at.client.send(new GetBucketVersioningCommand({ Bucket: at.bucket }), {
    abortSignal: AbortSignal.timeout(ctx.timeoutMs),
  });
  const status = answer.Status ?? "never enabled";
  return status === "Enabled"
    ? r.ok("versioning", `s3://${at.bucket} keeps versions`)
    : r.fail(
        "versioning",
        `s3://${at.bucket} versioning is ${status}: an overwritten or deleted backup is gone for good; pulumi up turns it on`,
      );
}

async function objectLockCheck(ctx: DoctorContext): Promise<CheckResult> {
  const { objectLockMode, objectLockDays } = ctx.stack.outputs.backup;
  if (objectLockMode === undefined)
    return r.skip(
      "object lock",
      "not checked: the stack's outputs predate this check (pulumi up exports it)",
    );
  if (!objectLockMode) return r.skip("object lock", "the stack configures none");
  const at = await ctx.backups();
  let mode: string | undefined;
  let days: number | undefined;
  try {
    const answer = await at.client.send(new GetObjectLockConfigurationCommand({ Bucket: at.bucket }), {
      abortSignal: AbortSignal.timeout(ctx.timeoutMs),
    });
    const retention = answer.ObjectLockConfiguration?.Rule?.DefaultRetention;
    if (answer.ObjectLockConfiguration?.ObjectLockEnabled === "Enabled") {
      mode = retention?.Mode ?? "no default retention";
      days = retention?.Days;
    }
  } catch (err) {
    if (errorName(err) !== "ObjectLockConfigurationNotFoundError") throw err;
  }
  const want = `${objectLockMode} for ${objectLockDays} days`;
  if (mode === undefined)
    return r.fail("object lock", `s3://${at.bucket} has no Object Lock; the stack configures ${want}`);
  return mode === objectLockMode && days === objectLockDays
    ? r.ok("object lock", `s3://${at.bucket} locks new objects ${want}`)
    : r.fail(
        "object lock",
        `s3://${at.bucket} locks ${mode}${days ? ` for ${days} days` : ""}; the stack configures ${want}`,
      );
}

/** Runs one check; an S3 error fails it with the error's name and message. */
async function guarded(check: string, fn: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await fn();
  } catch (err) {
    return r.fail(check, `cannot ask the bucket: ${errorName(err)}: ${(err as Error).message}`);
  }
}

/** See the module comment. */
export const bucketChecks: CheckGroup = async (ctx) => [
  await guarded("versioning", () => versioningCheck(ctx)),
  await guarded("object lock", () => objectLockCheck(ctx)),
];
