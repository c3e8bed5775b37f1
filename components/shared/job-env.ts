// The environment a holdfast container reads to find the backup bucket and the Redis set, and the users
// it connects as: the environment twins of the CLI's --bucket, --prefix, --stack, --sentinel and
// --master-name, and the REDIS_ and SENTINEL_ user and password pairs (jobs/redis/client.ts). The
// scheduled jobs, the continuous-protection stream and the Redis pods' holdfast containers all spell it
// from here, so how a job finds the bucket or the sentinels changes in one place. Runtime-neutral:
// shared/k8s.ts containerEnv makes Kubernetes variables of it, the Fargate tasks ECS ones.
import type * as pulumi from "@pulumi/pulumi";

/** One environment variable: a value, or a key of a Kubernetes Secret. */
export interface JobEnv {
  name: string;
  value?: pulumi.Input<string>;
  secret?: { name: pulumi.Input<string>; key: string };
}

/** Where a stack's backups go. */
export interface BucketSettings {
  /** The backup bucket. */
  bucket: pulumi.Input<string>;
  /** Key prefix of the stack's backups. */
  prefix: pulumi.Input<string>;
  /** The stack's name. */
  stack: pulumi.Input<string>;
  /** Region of the bucket. */
  region: pulumi.Input<string>;
}

/** HOLDFAST_BUCKET, HOLDFAST_PREFIX, HOLDFAST_STACK and AWS_REGION: where the stack's backups go. */
export function bucketEnv(b: BucketSettings): JobEnv[] {
  return [
    { name: "HOLDFAST_BUCKET", value: b.bucket },
    { name: "HOLDFAST_PREFIX", value: b.prefix },
    { name: "HOLDFAST_STACK", value: b.stack },
    { name: "AWS_REGION", value: b.region },
  ];
}

/**
 * HOLDFAST_SENTINEL and HOLDFAST_MASTER_NAME: whom a job asks for the current primary.
 * @param sentinels every sentinel as host:port, comma-separated.
 * @param masterName the name the sentinels monitor the primary under.
 */
export function sentinelEnv(sentinels: pulumi.Input<string>, masterName: pulumi.Input<string>): JobEnv[] {
  return [
    { name: "HOLDFAST_SENTINEL", value: sentinels },
    { name: "HOLDFAST_MASTER_NAME", value: masterName },
  ];
}

/** The key of a Redis ACL user's password in the Redis set's Secret: `<user>-password`. */
export function passwordKey(user: string): string {
  return `${user}-password`;
}

/**
 * REDIS_USERNAME and REDIS_PASSWORD: the ACL user a container connects to the data nodes as.
 * @param secretName the Redis set's Secret, which holds `<user>-password`.
 */
export function redisUserEnv(secretName: pulumi.Input<string>, user: string): JobEnv[] {
  return [
    { name: "REDIS_USERNAME", value: user },
    { name: "REDIS_PASSWORD", secret: { name: secretName, key: passwordKey(user) } },
  ];
}

/**
 * SENTINEL_USERNAME and SENTINEL_PASSWORD: the user a container asks the sentinels as; `discovery` (the
 * read-only queries that name the primary) unless it must change them.
 * @param secretName the Redis set's Secret, which holds `<user>-password`.
 */
export function sentinelUserEnv(secretName: pulumi.Input<string>, user = "discovery"): JobEnv[] {
  return [
    { name: "SENTINEL_USERNAME", value: user },
    { name: "SENTINEL_PASSWORD", secret: { name: secretName, key: passwordKey(user) } },
  ];
}
