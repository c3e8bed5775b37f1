// The S3 side of every backup store: a client configured from the standard AWS environment (path-style
// addressing when an endpoint is set, as S3-compatible servers need), a preflight that turns a wrong
// bucket, wrong credentials or an unreachable endpoint into one clear line (exit 2), and small helpers
// for listing and JSON objects.
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import { UsageError } from "../cli/errors";
import { boundedRequests, DEFAULT_S3_TIMEOUT_MS, rememberTimeout, S3_ATTEMPTS } from "./s3-timeout";

/**
 * An S3 client from the environment: AWS_REGION (default us-east-1), credentials by the SDK's chain,
 * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for an S3-compatible endpoint.
 * @param timeoutMs how long a request may send and receive nothing before it fails (see s3-timeout.ts).
 */
export function s3FromEnv(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs: number = DEFAULT_S3_TIMEOUT_MS,
): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const keys = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY;
  const client = new S3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1",
    endpoint,
    forcePathStyle: endpoint !== undefined,
    maxAttempts: S3_ATTEMPTS,
    requestHandler: boundedRequests(timeoutMs),
    // Keys given in `env` win; otherwise the SDK's chain (environment, IRSA web identity, ECS task role).
    credentials: keys
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID!,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
          sessionToken: env.AWS_SESSION_TOKEN || undefined,
        }
      : undefined,
  });
  return rememberTimeout(client, timeoutMs);
}

/** The error's S3 code or Node network code, for messages and decisions. */
export function errorCode(err: unknown): string {
  const e = err as { name?: string; code?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  if (err instanceof S3ServiceException) return e.name ?? String(e.$metadata?.httpStatusCode);
  return e.code ?? e.Code ?? e.name ?? "Error";
}

const NETWORK = [
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
  "TimeoutError",
];

/** True for failures to reach the endpoint at all (as opposed to an answer from S3). */
export function isNetworkError(err: unknown): boolean {
  const code = errorCode(err);
  const cause = (err as { cause?: unknown }).cause;
  if (NETWORK.includes(code) || (cause !== undefined && NETWORK.includes(errorCode(cause)))) return true;
  // The SDK may wrap a socket error it does not recognise as an Error; the code survives in the message.
  return NETWORK.some((c) => String((err as Error)?.message).includes(c));
}

/**
 * Checks that `bucket` exists and these credentials may use it; anything else is bad input (exit 2).
 * @throws UsageError with one line saying what is wrong.
 */
export async function checkBucket(client: S3Client, bucket: string): Promise<void> {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new UsageError(`"${bucket}" is not a valid bucket name`);
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const code = errorCode(err);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (isNetworkError(err))
      throw new UsageError(`cannot reach the S3 endpoint for bucket ${bucket} (${code})`);
    if (code === "NotFound" || code === "NoSuchBucket" || status === 404)
      throw new UsageError(`bucket ${bucket} does not exist`);
    if (["InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"].includes(code))
      throw new UsageError(`the AWS credentials are not valid for bucket ${bucket} (${code})`);
    if (code === "Forbidden" || code === "AccessDenied" || status === 403)
      throw new UsageError(`access to bucket ${bucket} is denied: wrong credentials or missing permissions`);
    if (code === "CredentialsProviderError")
      throw new UsageError(
        "no AWS credentials found (set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a role)",
      );
    throw err;
  }
}

/** One listed object. */
export interface ListedObject {
  key: string;
  size: number;
  lastModified?: Date;
}

/** Every object under `prefix`, page by page. */
export async function* listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? [])
      yield { key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** The sub-prefixes directly under `prefix` (like folders), without `prefix` and the trailing slash. */
export async function listPrefixes(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: "/", ContinuationToken: token }),
    );
    for (const p of page.CommonPrefixes ?? []) names.push(p.Prefix!.slice(prefix.length).replace(/\/$/, ""));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return names;
}

/** Whether an object exists. */
export async function objectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || errorCode(err) === "NotFound" || errorCode(err) === "NoSuchKey") return false;
    throw err;
  }
}

/** Reads a whole object into memory (for manifests and records, not for datasets). */
export async function getBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await r.Body!.transformToByteArray();
  // A view of the SDK's array, not a copy (a chain's segments are megabytes each).
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads an object as the chunks it arrived in (no joined copy: for a reader that goes through them in
 * order, such as a segment's hash and payload).
 */
export async function getChunks(client: S3Client, bucket: string, key: string): Promise<Buffer[]> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of r.Body as AsyncIterable<Buffer>) chunks.push(chunk);
  return chunks;
}

/** Reads a JSON object. */
export async function getJson<T>(client: S3Client, bucket: string, key: string): Promise<T> {
  return JSON.parse((await getBytes(client, bucket, key)).toString("utf8")) as T;
}

/** S3 refused a create-only write: the key already holds an object, which was left as it was. */
export class ObjectExistsError extends Error {
  constructor(readonly key: string) {
    super(`${key} already exists in the bucket; it was not overwritten`);
    this.name = "ObjectExistsError";
  }
}

/**
 * Whether S3 refused a create-only write (`If-None-Match: *`) because the key exists (412), or because
 * another write of the same key was under way (409 ConditionalRequestConflict).
 */
export function isExistingObjectRefusal(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = errorCode(err);
  return status === 412 || code === "PreconditionFailed" || code === "ConditionalRequestConflict";
}

/**
 * Writes a JSON object, create-only (`If-None-Match: *`: a backup never replaces an object), with its
 * SHA-256 so S3 refuses a corrupted upload.
 * @throws ObjectExistsError when the key already holds an object.
 */
export async function putJson(client: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  const body = Buffer.from(JSON.stringify(value, null, 2) + "\n");
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: "application/json",
        ChecksumSHA256: createHash("sha256").update(body).digest("base64"),
        IfNoneMatch: "*",
      }),
    );
  } catch (err) {
    if (isExistingObjectRefusal(err)) throw new ObjectExistsError(key);
    throw err;
  }
}
