// Bounds on S3 requests, so a frozen or unreachable endpoint fails a command instead of hanging it: how
// long a request may stay silent, how often it is tried, and how such a failure reads to an operator.

/**
 * How long an S3 request may send and receive nothing before it fails (the SDK then tries again, up to
 * S3_ATTEMPTS in all). An idle time, not a duration: a large part on a slow link keeps moving bytes and
 * is never cut. 30 s is far above S3's answer time, and above the interval at which S3 keeps a long
 * CompleteMultipartUpload alive with whitespace.
 */
export const DEFAULT_S3_TIMEOUT_MS = 30_000;

/** Attempts per S3 request: the first and two retries. */
export const S3_ATTEMPTS = 3;

/** Connecting takes a round trip or two: a connection not made in this time is not coming. */
const MAX_CONNECTION_TIMEOUT_MS = 10_000;

/** The request handler options (NodeHttpHandler) that bound every request by `timeoutMs`. */
export function boundedRequests(timeoutMs: number): { connectionTimeout: number; socketTimeout: number } {
  return { connectionTimeout: Math.min(timeoutMs, MAX_CONNECTION_TIMEOUT_MS), socketTimeout: timeoutMs };
}

const timeouts = new WeakMap<object, number>();

/** Records the bound a client was made with, for `s3TimeoutMs` and messages. */
export function rememberTimeout<T extends object>(client: T, timeoutMs: number): T {
  timeouts.set(client, timeoutMs);
  return client;
}

/** The silent-request bound `client` was made with. */
export function s3TimeoutMs(client: object): number {
  return timeouts.get(client) ?? DEFAULT_S3_TIMEOUT_MS;
}

/** True when S3 did not answer in time: a connection not made, or a request silent for the bound. */
export function isS3Stall(err: unknown): boolean {
  const e = err as { name?: string; code?: string } | undefined;
  return e?.name === "TimeoutError" || e?.code === "ETIMEDOUT";
}

/** `2s`, `1.5s`: a bound as the --s3-timeout flag takes it. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/** One line for an S3 failure: for a stall, how long S3 stayed silent and what sets that bound. */
export function describeS3Error(err: unknown, client: object): string {
  if (isS3Stall(err))
    return `S3 did not answer within ${seconds(s3TimeoutMs(client))} (--s3-timeout sets the bound)`;
  const e = err as Error | undefined;
  return e?.message || e?.name || String(err);
}
