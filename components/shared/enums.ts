// The closed sets of values component args take, each written as a const object and a type of the same
// name: TypeScript programs get the literal union, and `pulumi package add` (whose analyzer reads a
// string-literal union only through such a const) generates an enum for Python, Go and the others.

/** The engine a Redis image runs: which binaries its containers and the jobs image start. */
export const RedisEngine = {
  /** Redis (redis-server, redis-sentinel). */
  redis: "redis",
  /** Valkey (valkey-server, valkey-sentinel). */
  valkey: "valkey",
} as const;
export type RedisEngine = (typeof RedisEngine)[keyof typeof RedisEngine];

/** Where a LanceDB dataset lives. */
export const LanceDbStorage = {
  /** One pod on a ReadWriteOnce EBS volume of a Retain class. */
  ebs: "ebs",
  /** A leader and a standby on one ReadWriteMany EFS volume. */
  efs: "efs",
  /** A leader and a standby opening the dataset on S3 directly. */
  s3: "s3",
} as const;
export type LanceDbStorage = (typeof LanceDbStorage)[keyof typeof LanceDbStorage];

/** S3 Object Lock modes: GOVERNANCE can be lifted by a principal allowed to bypass it, COMPLIANCE by nobody. */
export const ObjectLockMode = {
  GOVERNANCE: "GOVERNANCE",
  COMPLIANCE: "COMPLIANCE",
} as const;
export type ObjectLockMode = (typeof ObjectLockMode)[keyof typeof ObjectLockMode];

/** A store whose backups a stack schedules and watches. */
export const BackupStore = {
  redis: "redis",
  lancedb: "lancedb",
} as const;
export type BackupStore = (typeof BackupStore)[keyof typeof BackupStore];
