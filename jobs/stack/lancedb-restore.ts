// A LanceDB restore of a stack, the same shape as Redis's for the application's StatefulSet and its
// dataset volume (ebs: pod 0's claim; efs: the access point's shared claim):
//   1 preflight        the snapshot in the stack's bucket, the StatefulSet and the claim (while planning)
//   2 safety backup    a one-off run of the lancedb-backup CronJob, reason pre-restore
//   3 scale down       record the restore on the StatefulSet, scale it to zero (no writer)
//   4 restore volume   a Job mounts the claim at the data path, as the application's user (its files keep
//                      their owner: no fsGroup), and runs `holdfast restore lancedb`: every file checked,
//                      every table opened and counted before the previous content moves aside
//   5 bring back       scale back and wait for the writer (in the elected modes only the leader is ready)
// A dataset directly on S3 has no volume: its protection is the bucket's versioning, not a restore.
import type * as KubeClient from "@kubernetes/client-node";
import { formatBytes } from "../cli/format";
import { UsageError } from "../cli/errors";
import { scanSnapshots, snapshotsUrl } from "../lancedb/backup/records";
import type { StoreLocation } from "../store/catalog";
import { BACKUP_LABEL, jobName, OPERATION_LABEL, pinnedByDigest, stackJob } from "./jobs";
import type { StackContext } from "./context";
import { type Plan, type PlanAction, type PlannedBackup, type PlanStep, SAFETY_REASON } from "./plan";
import { readRecord, type RestoreRecord } from "./record";
import { begun, chooseBackup, clusterError, statefulSetFacts } from "./preflight";
import type { PreparedRestore } from "./prepared";
import type { StatefulSetFacts } from "./redis-plan";

/** What the preflight found. */
export interface LanceDbFacts {
  stack: string;
  namespace: string;
  context: string;
  image: string;
  bucket: string;
  prefix: string;
  region: string;
  serviceAccount: string;
  mode: "ebs" | "efs";
  dataPath: string;
  /** The claim holding the dataset. */
  claim: string;
  claimExists: boolean;
  app: StatefulSetFacts & {
    /** The user the application runs as: the owner of the dataset's files. */
    runAsUser: number;
    memoryLimit?: string;
  };
  backup: PlannedBackup;
  backupCronJob?: string;
  record?: RestoreRecord;
  checked: string[];
}

/** The Job that restores the snapshot into the store's volume. */
function restoreJob(f: LanceDbFacts): KubeClient.V1Job {
  const id = f.backup.id;
  return stackJob({
    name: jobName("holdfast-restore", id, f.claim),
    namespace: f.namespace,
    image: f.image,
    serviceAccount: f.serviceAccount,
    command: [
      "holdfast",
      "restore",
      "lancedb",
      "--backup",
      id,
      "--data-dir",
      f.dataPath,
      "--bucket",
      f.bucket,
      "--prefix",
      f.prefix,
    ],
    env: [{ name: "AWS_REGION", value: f.region }],
    runAsUser: f.app.runAsUser,
    claim: { name: f.claim, mountPath: f.dataPath },
    deadlineSeconds: 6 * 3600,
    memory: f.app.memoryLimit ?? "1Gi",
    labels: { [OPERATION_LABEL]: "restore", [BACKUP_LABEL]: id, "holdfast.dev/store": "lancedb" },
  });
}

/** Plans a LanceDB restore (pure). */
export function planLanceDbRestore(f: LanceDbFacts, opts: { safetyBackup: boolean }): Plan {
  const id = f.backup.id;
  const rec = f.record;
  const done = new Set(rec?.backup === id ? rec.done : []);
  const target = rec?.replicas[f.app.name] ?? (f.app.replicas > 0 ? f.app.replicas : 1);
  const warnings: string[] = [];
  if (!pinnedByDigest(f.image))
    warnings.push(`the jobs image ${f.image} is not pinned by digest (stack config jobsImage)`);
  if (!f.claimExists) warnings.push(`claim ${f.claim} does not exist: the restore Job waits for it`);
  const restoreKey = `restore:${f.claim}`;
  const job = restoreJob(f);
  const left = !done.has(restoreKey);
  const steps: PlanStep[] = [
    { n: 1, title: "preflight", actions: [] },
    {
      n: 2,
      title: "safety backup",
      actions: [
        {
          key: "safety-backup",
          kind: "safety-backup",
          cronJob: f.backupCronJob ?? "lancedb-backup",
          reason: SAFETY_REASON,
          does: `a one-off Job from CronJob ${f.backupCronJob ?? "lancedb-backup"} snapshots the current dataset (reason ${SAFETY_REASON}); wait for it`,
          skip: rec
            ? rec.safetyBackup
              ? `taken by the interrupted restore: ${rec.safetyBackup}`
              : "the interrupted restore took none"
            : !opts.safetyBackup
              ? "--no-safety-backup"
              : undefined,
        },
      ],
    },
    {
      n: 3,
      title: "scale down",
      actions: [
        {
          key: "record",
          kind: "record",
          statefulSet: f.app.name,
          backup: id,
          replicas: { [f.app.name]: target },
          does: `record the restore on statefulset ${f.app.name} (holdfast.dev/restore)`,
        },
        {
          key: `scale-down:${f.app.name}`,
          kind: "scale",
          statefulSet: f.app.name,
          from: f.app.replicas,
          replicas: 0,
          does: `scale statefulset ${f.app.name} ${f.app.replicas} -> 0 and wait until none of its pods runs`,
          skip: left ? undefined : "the volume already holds the restore",
        },
      ],
    },
    {
      n: 4,
      title: "restore volume",
      actions: [
        {
          key: restoreKey,
          kind: "job",
          claim: f.claim,
          job,
          does: `Job ${job.metadata!.name} restores snapshot ${id} into ${f.claim} (${f.mode}, at ${f.dataPath}); the previous content moves to holdfast-aside/`,
          skip: left ? undefined : "done by the interrupted restore",
        },
      ],
    },
    {
      n: 5,
      title: "bring back",
      actions: [
        {
          key: `scale-up:${f.app.name}`,
          kind: "scale",
          statefulSet: f.app.name,
          from: left ? 0 : f.app.replicas,
          replicas: target,
          // In the elected modes only the leader is ready.
          ready: f.mode === "ebs" ? target : 1,
          does: `scale statefulset ${f.app.name} to ${target} and wait until ${f.mode === "ebs" ? "it is" : "its leader is"} ready`,
        },
        {
          key: "finish",
          kind: "finish",
          statefulSet: f.app.name,
          backup: id,
          does: `replace the progress record with holdfast.dev/last-restore on statefulset ${f.app.name}`,
        },
      ],
    },
  ];
  return {
    operation: "restore lancedb",
    stack: f.stack,
    namespace: f.namespace,
    context: f.context,
    image: f.image,
    backup: f.backup,
    checked: f.checked,
    warnings,
    resumes: rec
      ? { backup: rec.backup, startedAt: rec.startedAt, safetyBackup: rec.safetyBackup, done: rec.done }
      : undefined,
    steps: steps.map((s) => ({ ...s, actions: s.actions as PlanAction[] })),
  };
}

/** Reads everything the LanceDB plan needs; changes nothing. */
export async function gatherLanceDbFacts(
  ctx: StackContext,
  at: StoreLocation,
  requested: string,
  safetyBackup: boolean,
): Promise<LanceDbFacts> {
  const o = ctx.outputs;
  const l = o.lancedb;
  if (!l) throw new UsageError(`stack ${o.stack} has no LanceDB store (no lancedb output)`);
  if (l.mode === "s3")
    throw new UsageError(
      `stack ${o.stack} keeps its LanceDB dataset directly on S3 (lancedbMode s3): there is no volume to restore; ` +
        "its protection is the bucket's versioning and Object Lock",
    );
  const claim = l.claimNames[0];
  if (!claim) throw new UsageError(`stack ${o.stack}'s lancedb output names no claim`);
  const sa = o.backup.serviceAccounts.restore;
  const cronJob = o.schedule.cronJobs["lancedb-backup"];
  // Every read at once (none depends on another); their answers are judged in the order below, so the
  // first problem reported is the one the reads one after another would have found.
  const reads = {
    app: begun(statefulSetFacts(ctx.kube, l.statefulSet, ctx)),
    snapshots: begun(scanSnapshots(at)),
    claim: begun(ctx.kube.readClaim(claim).catch((err) => clusterError(err, ctx))),
    serviceAccount: begun(ctx.kube.readServiceAccount(sa)),
    cronJob: begun(cronJob ? ctx.kube.readCronJob(cronJob) : Promise.resolve(undefined)),
  };
  const { facts: app, object } = await reads.app;
  const record = readRecord(object.metadata?.annotations, app.name);
  if (record && record.store !== "lancedb")
    throw new UsageError(`statefulset ${app.name} records a ${record.store} restore, not a LanceDB one`);
  const { catalog, records } = await reads.snapshots;
  const chosen = chooseBackup(requested, catalog, record);
  const snapshot = records.get(chosen.id)!;
  const claimExists = (await reads.claim) !== undefined;
  if (!(await reads.serviceAccount))
    throw new UsageError(`no service account ${sa} in namespace ${o.namespace}: the restore Job runs as it`);
  const backupCronJob = (await reads.cronJob) ? cronJob : undefined;
  if (safetyBackup && !record && !backupCronJob)
    throw new UsageError(
      `stack ${o.stack} has no lancedb-backup CronJob for the safety backup; pass --no-safety-backup to restore without one`,
    );
  const spec = object.spec?.template.spec as KubeClient.V1PodSpec | undefined;
  const appContainer = spec?.containers.find((c) => c.name === "app") ?? spec?.containers[0];
  const runAsUser = appContainer?.securityContext?.runAsUser ?? spec?.securityContext?.runAsUser;
  if (runAsUser === undefined)
    throw new UsageError(
      `statefulset ${app.name} names no runAsUser: the restore would not know whose files to write`,
    );
  return {
    stack: o.stack,
    namespace: o.namespace,
    context: ctx.context,
    image: o.jobsImage,
    bucket: o.backup.bucket,
    prefix: o.backup.prefix,
    region: o.backup.region,
    serviceAccount: sa,
    mode: l.mode,
    dataPath: l.dataPath,
    claim,
    claimExists,
    app: { ...app, runAsUser, memoryLimit: appContainer?.resources?.limits?.memory },
    backup: {
      id: chosen.id,
      requested,
      reason: chosen.reason,
      completedAt: chosen.completedAt,
      items: chosen.items,
      sizeBytes: chosen.sizeBytes,
    },
    backupCronJob,
    record,
    checked: [
      `snapshot ${chosen.id} in ${snapshotsUrl(at)}: record valid, ${snapshot.totals.tables} tables, ${snapshot.totals.files} files, ` +
        `${formatBytes(snapshot.totals.bytes)} (each file's sha256 checked by the restore Job)`,
      `cluster reachable (context ${ctx.context || "current"}, namespace ${o.namespace})`,
      `statefulset ${app.name}: ${app.replicas} replicas, ${app.pods.length} pods, ${app.pods.filter((p) => p.ready).length} ready`,
      `claim ${claim}${claimExists ? "" : " (missing)"}`,
    ],
  };
}

/** The preflight and the plan of a LanceDB restore, and how the run finds the safety backup it takes. */
export async function prepareLanceDbRestore(
  ctx: StackContext,
  at: StoreLocation,
  requested: string,
  safetyBackup: boolean,
): Promise<PreparedRestore> {
  const facts = await gatherLanceDbFacts(ctx, at, requested, safetyBackup);
  return {
    plan: planLanceDbRestore(facts, { safetyBackup }),
    record: facts.record,
    listBackups: async () => (await scanSnapshots(at)).catalog.committed,
  };
}
