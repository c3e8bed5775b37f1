// Turns --bucket, --prefix and --s3-timeout into a checked StoreLocation: an S3 client from the AWS
// environment whose requests are bounded, the bucket preflight (a missing bucket, wrong keys or an
// unreachable endpoint is one line and exit 2) and the store layout under the prefix.
import { backupStoreLayout } from "../../core/store-layout";
import { type Flags, str } from "../cli/args";
import { UsageError } from "../cli/errors";
import type { StoreLocation } from "./catalog";
import { checkBucket, s3FromEnv } from "./s3";
import { s3Timeout } from "./flags";

/** `s3://bucket/prefix/`, for messages. */
export function describeLocation(at: Pick<StoreLocation, "bucket" | "layout">): string {
  return `s3://${at.bucket}/${at.layout.root}`;
}

/** The layout of a prefix; a bad prefix is bad input. */
export function layoutOf(prefix: string): StoreLocation["layout"] {
  try {
    return backupStoreLayout(prefix);
  } catch (err) {
    throw new UsageError(`--prefix: ${(err as Error).message}`);
  }
}

/** The location the flags name, after checking the bucket can be used. */
export async function openLocation(
  flags: Flags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StoreLocation> {
  const bucket = str(flags, "bucket").trim();
  if (!bucket) throw new UsageError("--bucket must not be empty");
  const prefix = str(flags, "prefix");
  const layout = layoutOf(prefix);
  const client = s3FromEnv(env, s3Timeout(flags, env));
  await checkBucket(client, bucket);
  return { client, bucket, prefix: layout.root.replace(/\/$/, ""), layout };
}
