// S3 buckets that hold backups, and the sibling resources that configure them (versioning, encryption,
// public access block, policy, lifecycle, Object Lock, replication), joined by bucket reference. With
// @pulumi/aws v6+ these settings are separate resources, so the bucket policies are stack policies.
//
// A bucket holds backups when any of these says so:
// - a tag: `holdfast.dev/prefix` (every BackupBucket's buckets carry it), `holdfast.dev/backup` or `backup`;
// - its name (the `bucket` or `bucketPrefix` property, or the logical name) contains "backup";
// - it is the destination of a replication rule of a backup bucket (an offsite copy);
// - a container or task of the stack gets it as HOLDFAST_BUCKET (a Holdfast job writes backups there).
// A sibling is attached to a bucket when its `bucket` property names the bucket (name, id or ARN) or,
// when that value is unknown during preview, when its property dependencies say it came from the bucket.
import type { PolicyResource } from "@pulumi/policy";
import { asArray, asString, at, stringMap, tryKnown } from "./props";
import { CRON_JOB, containers, envOf, isWorkloadType, podSpec } from "./k8s";

export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];

/** Type tokens of the resources that configure a bucket, by what they configure (current and V2 names). */
export const BUCKET_SETTINGS = {
  versioning: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
  encryption: [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  ],
  publicAccess: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
  policy: ["aws:s3/bucketPolicy:BucketPolicy"],
  lifecycle: [
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
  ],
  objectLock: [
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
  ],
  replication: ["aws:s3/bucketReplicationConfig:BucketReplicationConfig"],
};

export const KMS_KEY = "aws:kms/key:Key";

/** Tag keys that mark a bucket (or key) as holding backups. */
export const BACKUP_TAG_KEYS = ["holdfast.dev/prefix", "holdfast.dev/backup", "backup"];

/** The known values a reference to `r` may take: its name, id and ARN (and key id for a KMS key). */
export function identities(r: PolicyResource): string[] {
  const out: string[] = [];
  for (const prop of ["bucket", "id", "arn", "keyId"]) {
    const v = tryKnown(() => at(r.props, prop));
    if (v.known && typeof v.value === "string" && v.value) out.push(v.value);
  }
  return out;
}

/** How a sibling's reference to a bucket (or key) resolves: it is attached, it is not, or it cannot be told. */
export type Attachment = "attached" | "other" | "unknown";

/** Whether the value `prop` of `r` refers to `target`. */
export function refersTo(
  r: PolicyResource,
  prop: string,
  value: () => unknown,
  target: PolicyResource,
): Attachment {
  if ((r.propertyDependencies[prop] ?? []).includes(target)) return "attached";
  const v = tryKnown(value);
  if (!v.known) return "unknown";
  if (typeof v.value !== "string") return "other";
  const ids = identities(target);
  // An ARN names a bucket as arn:aws:s3:::name; a key reference may be its ARN, id or an alias.
  return ids.includes(v.value) || ids.some((id) => v.value === `arn:aws:s3:::${id}`) ? "attached" : "other";
}

/** The resources of `types` attached to `bucket`, and how many could not be told apart during preview. */
export function settingsOf(
  resources: PolicyResource[],
  bucket: PolicyResource,
  types: string[],
): { attached: PolicyResource[]; unresolved: number } {
  const attached: PolicyResource[] = [];
  let unresolved = 0;
  for (const r of resources) {
    if (!types.includes(r.type)) continue;
    const a = refersTo(r, "bucket", () => at(r.props, "bucket"), bucket);
    if (a === "attached") attached.push(r);
    else if (a === "unknown") unresolved++;
  }
  return { attached, unresolved };
}

function hasBackupTag(r: PolicyResource): boolean {
  const tags = {
    ...stringMap(tryKnownOr(() => at(r.props, "tagsAll"))),
    ...stringMap(tryKnownOr(() => at(r.props, "tags"))),
  };
  return Object.keys(tags).some((k) => BACKUP_TAG_KEYS.includes(k));
}

function tryKnownOr(read: () => unknown): unknown {
  const v = tryKnown(read);
  return v.known ? v.value : undefined;
}

function namedAsBackup(r: PolicyResource): boolean {
  const names = [
    r.name,
    tryKnownOr(() => at(r.props, "bucket")),
    tryKnownOr(() => at(r.props, "bucketPrefix")),
  ];
  return names.some((n) => typeof n === "string" && /backup/i.test(n));
}

/** Bucket names the stack's containers get as HOLDFAST_BUCKET (Holdfast's backup jobs). */
function jobBuckets(resources: PolicyResource[]): Set<string> {
  const out = new Set<string>();
  for (const r of resources) {
    if (!isWorkloadType(r.type) && r.type !== CRON_JOB) continue;
    const list = tryKnown(() => containers(podSpec(r.type, r.props)));
    if (!list.known) continue;
    for (const c of list.value) {
      const bucket = envOf(c).HOLDFAST_BUCKET;
      if (bucket) out.add(bucket);
    }
  }
  return out;
}

/** The buckets of the stack that hold backups (see the rules at the top of this module). */
export function backupBuckets(resources: PolicyResource[]): PolicyResource[] {
  const buckets = resources.filter((r) => BUCKET_TYPES.includes(r.type));
  const backup = new Set(buckets.filter((b) => hasBackupTag(b) || namedAsBackup(b)));
  const fromJobs = jobBuckets(resources);
  for (const b of buckets) if (identities(b).some((id) => fromJobs.has(id))) backup.add(b);
  // Offsite copies: destinations of replication rules of a backup bucket.
  for (const r of resources.filter((x) => BUCKET_SETTINGS.replication.includes(x.type))) {
    const source = [...backup].find(
      (b) => refersTo(r, "bucket", () => at(r.props, "bucket"), b) === "attached",
    );
    if (!source) continue;
    const rules = tryKnown(() => asArray(at(r.props, "rules")));
    if (!rules.known) continue;
    for (let i = 0; i < rules.value.length; i++) {
      for (const b of buckets) {
        if (refersTo(r, "rules", () => at(rules.value[i], "destination", "bucket"), b) === "attached")
          backup.add(b);
      }
    }
  }
  return buckets.filter((b) => backup.has(b));
}

/** The KMS keys that encrypt backups: used by a backup bucket's encryption, or tagged as backup keys. */
export function backupKeys(resources: PolicyResource[], buckets: PolicyResource[]): PolicyResource[] {
  const keys = resources.filter((r) => r.type === KMS_KEY);
  const out = new Set(keys.filter(hasBackupTag));
  for (const bucket of buckets) {
    const { attached } = settingsOf(resources, bucket, BUCKET_SETTINGS.encryption);
    for (const enc of attached) {
      const rules = tryKnown(() => asArray(at(enc.props, "rules")));
      if (!rules.known) continue;
      // By index: touching an element unknown during preview must happen inside refersTo's tryKnown.
      const refs = Array.from(
        { length: rules.value.length },
        (_, i) => () => at(rules.value[i], "applyServerSideEncryptionByDefault", "kmsMasterKeyId"),
      );
      for (const key of keys) {
        if (refs.some((read) => refersTo(enc, "rules", read, key) === "attached")) out.add(key);
      }
    }
    const inline = () =>
      at(
        bucket.props,
        "serverSideEncryptionConfiguration",
        "rule",
        "applyServerSideEncryptionByDefault",
        "kmsMasterKeyId",
      );
    for (const key of keys)
      if (refersTo(bucket, "serverSideEncryptionConfiguration", inline, key) === "attached") out.add(key);
  }
  return keys.filter((k) => out.has(k));
}

/** A bucket's name for messages: its `bucket` when known, else its logical name. */
export function bucketLabel(bucket: PolicyResource): string {
  const name = tryKnownOr(() => at(bucket.props, "bucket"));
  return typeof name === "string" && name ? `${bucket.name} (${name})` : bucket.name;
}

/** `value` as a string, reading through unknowns (undefined when unknown). */
export function knownString(read: () => unknown): string | undefined {
  return asString(tryKnownOr(read));
}

export { tryKnownOr };

/** One backup bucket with the settings resources of one kind attached to it. */
export interface BucketWithSettings {
  bucket: PolicyResource;
  /** `name (bucket-name)`, for messages. */
  label: string;
  attached: PolicyResource[];
  /** Settings resources of the kind whose bucket is unknown during preview (and not joined by dependency). */
  unresolved: number;
}

/** Every backup bucket of the stack with its settings resources of `types`. */
export function backupBucketsWith(resources: PolicyResource[], types: string[]): BucketWithSettings[] {
  return backupBuckets(resources).map((bucket) => ({
    bucket,
    label: bucketLabel(bucket),
    ...settingsOf(resources, bucket, types),
  }));
}
