// The plan of a Redis restore (pure), from the facts the preflight gathered:
//   1 preflight        the backup and the cluster were checked while planning; a Job records which pod is
//                      primary and the current DBSIZE
//   2 safety backup    a one-off run of the redis-backup CronJob, reason pre-restore
//   3 scale down       the restore is recorded on the data StatefulSet, then sentinels and data pods go
//                      to zero (nothing can fail over or write)
//   4 restore volumes  pod 0's volume receives the backup (its Job verifies it before it touches the
//                      volume); only once that Job succeeded do each replica's dataset and each
//                      sentinel's learnt config move into holdfast-aside/, all at once (nothing is
//                      deleted). Not earlier: a backup that fails its verification leaves every volume
//                      as it was, and the stack can be brought back unchanged
//   5 bring back       sentinels and data pods scaled up together: each data pod's init container waits
//                      for a majority of sentinels before it takes a role (role.ts); the sentinels, with
//                      no state, monitor the bootstrap pod 0, which holds data and so resumes as primary;
//                      the replicas, empty, follow it. Then wait for pod 0 primary with every replica in
//                      sync (asked of the replicas and the primary) and every sentinel naming pod 0, and
//                      compare DBSIZE and pattern counts with the manifest
// On a re-run, actions the progress record lists as done for the same backup are skipped, the safety
// backup is never taken again, and `latest` means the backup the interrupted run restored.
import type * as KubeClient from "@kubernetes/client-node";
import { PATHS, REDIS_CLIENT_LABEL, REDIS_PORT, REDIS_UID, redisSetNames } from "../../core/redis-set";
import { serviceHost } from "../../core/kube";
import type { RedisBackupManifest } from "../redis-backup/manifest";
import { BACKUP_LABEL, jobName, OPERATION_LABEL, pinnedByDigest, secretEnv, stackJob } from "./jobs";
import type { PodState } from "./kube";
import type { StackOutputs } from "./outputs";
import { type Plan, type PlanAction, type PlannedBackup, type PlanStep, SAFETY_REASON } from "./plan";
import type { RestoreRecord } from "./record";
import { expectedCounts } from "./verify";
import { pointArgs, type PointPlanSummary } from "../redis-stream/point-flags";
import type { PointTarget } from "../redis-stream/point-plan";
import { mebibytes, quantityBytes } from "../../core/quantity";

/** A StatefulSet as the preflight found it. */
export interface StatefulSetFacts {
  name: string;
  /** spec.replicas now. */
  replicas: number;
  /** Its pods now. */
  pods: PodState[];
  /** Name of its (first) volumeClaimTemplate. */
  claimTemplate: string;
  /** The claim template, to create a lost claim as the StatefulSet controller would. */
  claimSpec?: KubeClient.V1PersistentVolumeClaimSpec;
  claimLabels?: Record<string, string>;
}

/** What the preflight found. */
export interface RedisFacts {
  outputs: StackOutputs;
  context: string;
  /** The backup restored; for a point, named by the point (`to-time <time>`) with its base's size and keys. */
  backup: PlannedBackup;
  /** The backup's manifest (for a point, its base's). */
  manifest: RedisBackupManifest;
  /** A point of the stream: what the restore Job replays, checked by the preflight. */
  point?: { target: PointTarget; summary: PointPlanSummary };
  data: StatefulSetFacts & {
    /** Memory limit of the redis container: what the restore's verification load needs. */
    memoryLimit?: string;
  };
  sentinels: StatefulSetFacts;
  /** Claims of the data pods and sentinels, and whether each exists. */
  claims: Record<string, boolean>;
  /** The redis-backup CronJob, when the stack has it. */
  backupCronJob?: string;
  /** The interrupted restore, if any. */
  record?: RestoreRecord;
  /** What planning checked (printed under preflight). */
  checked: string[];
}

/** The operator's choices. */
export interface RedisRestoreOptions {
  safetyBackup: boolean;
}

export { SAFETY_REASON } from "./plan";

/** A label value naming the restore: a backup id as it is; a point with its spaces and colons as dashes. */
export function restoreLabel(id: string): string {
  return id
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "")
    .slice(0, 63)
    .replace(/[^A-Za-z0-9]+$/, "");
}

/** Deadlines of the Jobs, in seconds. */
const DEADLINES = { restore: 6 * 3600, setAside: 600, inspect: 1800 };

/** The data pods' claims in ordinal order. */
export function dataClaims(f: RedisFacts): string[] {
  return f.outputs.redis.claimNames;
}

/** The sentinels' claims in ordinal order (outputs, else the StatefulSet's template). */
export function sentinelClaims(f: RedisFacts): string[] {
  const count =
    f.record?.replicas[f.sentinels.name] ??
    Math.max(f.sentinels.replicas, f.outputs.redis.sentinels.split(",").length);
  return (
    f.outputs.redis.sentinelClaimNames ??
    Array.from({ length: count }, (_, i) => `${f.sentinels.claimTemplate}-${f.sentinels.name}-${i}`)
  );
}

/** Replicas each StatefulSet returns to: the record's, else today's, else what the outputs describe. */
export function targetReplicas(f: RedisFacts): Record<string, number> {
  if (f.record) return f.record.replicas;
  return {
    [f.sentinels.name]:
      f.sentinels.replicas > 0 ? f.sentinels.replicas : f.outputs.redis.sentinels.split(",").length,
    [f.data.name]: f.data.replicas > 0 ? f.data.replicas : f.outputs.redis.claimNames.length,
  };
}

/** `host:port` of data pod `i` inside the cluster. */
function dataAddress(o: StackOutputs, i: number): string {
  const n = redisSetNames(o.redis.statefulSet);
  return `${serviceHost(`${o.redis.statefulSet}-${i}.${n.headlessService}`, o.namespace)}:${REDIS_PORT}`;
}

function inspectJob(f: RedisFacts, suffix: string, extra: string[]): KubeClient.V1Job {
  const o = f.outputs;
  const count = targetReplicas(f)[f.data.name];
  const patterns = Object.keys(f.manifest.dataset.patterns);
  return stackJob({
    name: jobName("holdfast-restore", f.backup.id, suffix),
    namespace: o.namespace,
    image: o.jobsImage,
    serviceAccount: o.backup.serviceAccounts.restore,
    // The old spelling (`pod inspect redis` now): the Job runs the stack's jobs image, which may
    // predate the `pod` group; both spellings work for a release.
    command: [
      "holdfast",
      "redis",
      "inspect",
      "--sentinel",
      o.redis.sentinels,
      "--master-name",
      o.redis.masterName,
      "--nodes",
      Array.from({ length: count }, (_, i) => dataAddress(o, i)).join(","),
      ...patterns.flatMap((p) => ["--pattern", p]),
      ...extra,
    ],
    env: [
      { name: "REDIS_USERNAME", value: "admin" },
      secretEnv("REDIS_PASSWORD", o.redis.secretName, "admin-password"),
      { name: "SENTINEL_USERNAME", value: "discovery" },
      secretEnv("SENTINEL_PASSWORD", o.redis.secretName, "discovery-password"),
    ],
    runAsUser: REDIS_UID,
    deadlineSeconds: DEADLINES.inspect,
    memory: "256Mi",
    labels: {
      [OPERATION_LABEL]: "restore",
      [BACKUP_LABEL]: restoreLabel(f.backup.id),
      "holdfast.dev/store": "redis",
      // It asks the sentinels and data nodes: the set's NetworkPolicy admits only labelled clients.
      [REDIS_CLIENT_LABEL]: "true",
    },
  });
}

function volumeJob(
  f: RedisFacts,
  claim: string,
  command: string[],
  memory: string,
  deadlineSeconds: number,
): KubeClient.V1Job {
  const o = f.outputs;
  return stackJob({
    name: jobName("holdfast-restore", f.backup.id, claim),
    namespace: o.namespace,
    image: o.jobsImage,
    serviceAccount: o.backup.serviceAccounts.restore,
    command,
    env: [{ name: "AWS_REGION", value: o.backup.region }],
    runAsUser: REDIS_UID,
    fsGroup: REDIS_UID,
    claim: { name: claim, mountPath: PATHS.data },
    deadlineSeconds,
    memory,
    labels: {
      [OPERATION_LABEL]: "restore",
      [BACKUP_LABEL]: restoreLabel(f.backup.id),
      "holdfast.dev/store": "redis",
    },
  });
}

/** The memory of the restore Job: the data pod's (its verification load holds the dataset) and headroom. */
function restoreMemory(f: RedisFacts): string {
  const limit = quantityBytes(f.data.memoryLimit) ?? 512 * 2 ** 20;
  return mebibytes(limit + 256 * 2 ** 20);
}

/** The claim pod 0 lost, recreated from the StatefulSet's template as its controller would. */
function recreatedClaim(f: RedisFacts, claim: string): KubeClient.V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: claim, namespace: f.outputs.namespace, labels: f.data.claimLabels },
    spec: f.data.claimSpec,
  };
}

/** What the actions of a Redis restore plan are made from. */
interface PlanInput {
  f: RedisFacts;
  id: string;
  /** Why an action is skipped when the interrupted restore did it. */
  doneSkip(key: string): string | undefined;
  warnings: string[];
}

/** Step 1: the set as it is (which pod is primary, DBSIZE). */
function preflightActions({ f, id }: PlanInput): PlanAction[] {
  const rec = f.record;
  return [
    {
      key: "preflight",
      kind: "inspect",
      does: `Job ${jobName("holdfast-restore", id, "preflight")} records which pod is primary and the current DBSIZE`,
      job: inspectJob(f, "preflight", []),
      skip: rec
        ? "the set is down or half-restored by the interrupted restore"
        : f.data.replicas === 0
          ? "the set is scaled down"
          : undefined,
    },
  ];
}

/** Step 2: a backup of the current data. */
function safetyActions({ f }: PlanInput, opts: RedisRestoreOptions, setDown: boolean): PlanAction[] {
  const rec = f.record;
  return [
    {
      key: "safety-backup",
      kind: "safety-backup",
      cronJob: f.backupCronJob ?? "redis-backup",
      reason: SAFETY_REASON,
      does: `a one-off Job from CronJob ${f.backupCronJob ?? "redis-backup"} backs up the current data (reason ${SAFETY_REASON}); wait for it`,
      skip: rec
        ? rec.safetyBackup
          ? `taken by the interrupted restore: ${rec.safetyBackup}`
          : "the interrupted restore took none"
        : !opts.safetyBackup
          ? "--no-safety-backup"
          : setDown
            ? "the set is scaled down: no Redis runs to back up (each volume's content is kept in holdfast-aside/)"
            : undefined,
    },
  ];
}

/** Step 4: the backup into pod 0's volume, the other volumes' datasets and sentinels' state aside. */
function volumeActions({ f, id, doneSkip, warnings }: PlanInput): PlanAction[] {
  const o = f.outputs;
  const claims = dataClaims(f);
  const primaryRestore = `restore:${claims[0]}`;
  const volumes: PlanAction[] = [];
  if (!f.claims[claims[0]])
    volumes.push({
      key: `claim:${claims[0]}`,
      kind: "create-claim",
      claim: recreatedClaim(f, claims[0]),
      does: `create the lost claim ${claims[0]} from the StatefulSet's volumeClaimTemplate`,
      skip: doneSkip(`claim:${claims[0]}`),
    });
  volumes.push({
    key: primaryRestore,
    kind: "job",
    claim: claims[0],
    ...(f.point ? { reportsCounts: true } : {}),
    job: volumeJob(
      f,
      claims[0],
      [
        "holdfast",
        "restore",
        "redis",
        ...(f.point ? pointArgs(f.point.target) : ["--backup", id]),
        "--data-dir",
        PATHS.data,
        "--bucket",
        o.backup.bucket,
        "--prefix",
        o.backup.prefix,
        "--json",
      ],
      restoreMemory(f),
      DEADLINES.restore,
    ),
    does: f.point
      ? `Job ${jobName("holdfast-restore", id, claims[0])} restores ${id} into ${claims[0]} (pod 0): base ${f.point.summary.base} and ${f.point.summary.segments.length} segments replayed in a throw-away redis-server, checked; its dataset moves to holdfast-aside/<time>-pre-restore/`
      : `Job ${jobName("holdfast-restore", id, claims[0])} restores ${id} into ${claims[0]} (pod 0); its dataset moves to holdfast-aside/<time>-pre-restore/`,
    skip: doneSkip(primaryRestore),
  });
  for (const claim of claims.slice(1)) {
    if (!f.claims[claim]) {
      warnings.push(`claim ${claim} does not exist: its pod starts on a new empty volume and resynchronises`);
      continue;
    }
    // Old spellings (`pod set-aside redis|sentinel` now), as for the inspect Job: the stack's jobs image
    // may predate the `pod` group.
    volumes.push({
      key: `set-aside:${claim}`,
      kind: "job",
      claim,
      group: "aside",
      job: volumeJob(
        f,
        claim,
        ["holdfast", "redis", "set-aside", "--data-dir", PATHS.data, "--reason", SAFETY_REASON, "--json"],
        "128Mi",
        DEADLINES.setAside,
      ),
      does: `Job ${jobName("holdfast-restore", id, claim)} moves ${claim}'s dataset to holdfast-aside/<time>-${SAFETY_REASON}/ (it resynchronises from pod 0)`,
      skip: doneSkip(`set-aside:${claim}`),
    });
  }
  for (const claim of sentinelClaims(f)) {
    if (!f.claims[claim]) continue;
    volumes.push({
      key: `reset:${claim}`,
      kind: "job",
      claim,
      group: "aside",
      job: volumeJob(
        f,
        claim,
        ["holdfast", "sentinel", "set-aside", "--state-dir", PATHS.data, "--reason", SAFETY_REASON, "--json"],
        "128Mi",
        DEADLINES.setAside,
      ),
      does: `Job ${jobName("holdfast-restore", id, claim)} moves ${claim}'s sentinel.conf to holdfast-aside/ (a sentinel with no memory of the old set)`,
      skip: doneSkip(`reset:${claim}`),
    });
  }
  return volumes;
}

/** Step 3: the record of the restore, then both StatefulSets down (unless nothing is left to do). */
function downActions(
  { f, id }: PlanInput,
  target: Record<string, number>,
  nothingLeft?: string,
): PlanAction[] {
  return [
    {
      key: "record",
      kind: "record",
      statefulSet: f.data.name,
      backup: id,
      replicas: target,
      does: `record the restore on statefulset ${f.data.name} (holdfast.dev/restore): backup, safety backup, replicas to bring back, progress`,
    },
    {
      key: `scale-down:${f.sentinels.name}`,
      kind: "scale",
      statefulSet: f.sentinels.name,
      from: f.sentinels.replicas,
      replicas: 0,
      does: `scale statefulset ${f.sentinels.name} ${f.sentinels.replicas} -> 0 and wait until none of its pods runs`,
      skip: nothingLeft,
    },
    {
      key: `scale-down:${f.data.name}`,
      kind: "scale",
      statefulSet: f.data.name,
      from: f.data.replicas,
      replicas: 0,
      does: `scale statefulset ${f.data.name} ${f.data.replicas} -> 0 and wait until none of its pods runs`,
      skip: nothingLeft,
    },
  ];
}

/** Step 5: both StatefulSets back, the set verified against the manifest, the record closed. */
function upActions({ f, id }: PlanInput, target: Record<string, number>, nothingLeft?: string): PlanAction[] {
  const o = f.outputs;
  return [
    {
      key: `scale-up:${f.sentinels.name}`,
      kind: "scale",
      statefulSet: f.sentinels.name,
      from: nothingLeft ? f.sentinels.replicas : 0,
      replicas: target[f.sentinels.name],
      // Both at once: a data pod's init container takes no role until a majority of sentinels answer.
      group: "up",
      does: `scale statefulset ${f.sentinels.name} to ${target[f.sentinels.name]} and wait until ready (they monitor pod 0, the only primary)`,
    },
    {
      key: `scale-up:${f.data.name}`,
      kind: "scale",
      statefulSet: f.data.name,
      from: nothingLeft ? f.data.replicas : 0,
      replicas: target[f.data.name],
      group: "up",
      does: `scale statefulset ${f.data.name} to ${target[f.data.name]} and wait until ready (each pod waits for the sentinels; pod 0 primary, the others replicas)`,
    },
    {
      key: "verify",
      kind: "verify",
      job: inspectJob(f, "verify", ["--expect-primary", dataAddress(o, 0), "--wait", "10m"]),
      ...(f.point ? {} : { expected: expectedCounts(f.manifest) }),
      primaryIndex: 0,
      does:
        `Job ${jobName("holdfast-restore", id, "verify")} waits until pod 0 is primary with every replica online, each replica in sync and every sentinel naming pod 0 (none listing a replica it cannot reach), ` +
        (f.point
          ? "then compares DBSIZE per database with what the restore Job replayed (admin user)"
          : `then compares DBSIZE and ${Object.keys(f.manifest.dataset.patterns).length} pattern counts with the manifest (admin user)`),
    },
    {
      key: "finish",
      kind: "finish",
      statefulSet: f.data.name,
      backup: id,
      does: `replace the progress record with holdfast.dev/last-restore on statefulset ${f.data.name}`,
    },
  ];
}

/** Plans a Redis restore. */
export function planRedisRestore(f: RedisFacts, opts: RedisRestoreOptions): Plan {
  const o = f.outputs;
  const id = f.backup.id;
  const rec = f.record;
  const done = new Set(rec?.backup === id ? rec!.done : []);
  const target = targetReplicas(f);
  const warnings: string[] = [];
  if (!pinnedByDigest(o.jobsImage))
    warnings.push(`the jobs image ${o.jobsImage} is not pinned by digest (stack config jobsImage)`);
  if (f.backup.items === 0 && !f.point) warnings.push(`backup ${id} holds no keys: the set will be empty`);
  const input: PlanInput = {
    f,
    id,
    doneSkip: (key) => (done.has(key) ? "done by the interrupted restore" : undefined),
    warnings,
  };
  // Nothing runs to back up (a scaled-down set, the volumes lost): each volume's content is set aside.
  const setDown = f.data.replicas === 0 && f.data.pods.length === 0;
  // Step 4 is planned first: step 3 is skipped when nothing is left to do there.
  const volumes = volumeActions(input);
  const nothingLeft = volumes.some((a) => !a.skip) ? undefined : "every volume already holds the restore";
  const steps: PlanStep[] = [
    { n: 1, title: "preflight", actions: preflightActions(input) },
    { n: 2, title: "safety backup", actions: safetyActions(input, opts, setDown) },
    { n: 3, title: "scale down", actions: downActions(input, target, nothingLeft) },
    { n: 4, title: "restore volumes", actions: volumes },
    { n: 5, title: "bring back and verify", actions: upActions(input, target, nothingLeft) },
  ];
  return {
    operation: "restore redis",
    stack: o.stack,
    namespace: o.namespace,
    context: f.context,
    image: o.jobsImage,
    backup: f.backup,
    ...(f.point ? { point: f.point.summary } : {}),
    checked: f.checked,
    warnings,
    resumes: rec
      ? { backup: rec.backup, startedAt: rec.startedAt, safetyBackup: rec.safetyBackup, done: rec.done }
      : undefined,
    steps,
  };
}
