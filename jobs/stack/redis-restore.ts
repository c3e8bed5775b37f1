// A Redis restore of a stack: the preflight facts (the backup in the stack's bucket, the StatefulSets,
// pods and claims in its namespace, an interrupted restore's record), read without changing anything, and
// what to tell the operator when a run stops. The plan is redis-plan.ts; running it is execute.ts.
import type * as KubeClient from "@kubernetes/client-node";
import { formatBytes } from "../cli/format";
import { UsageError } from "../cli/errors";
import { checkRequestedBackup } from "../store/backup-id";
import { type BackupSummary, type Catalog, resolveBackup, type StoreLocation } from "../store/catalog";
import type { RedisBackupManifest } from "../redis-backup/manifest";
import { scanRedisBackups } from "../redis-backup/store";
import { KubeError, type PodState, type StackKube } from "./kube";
import type { PlannedBackup } from "./plan";
import { readRecord, type RestoreRecord } from "./record";
import { type RedisFacts, SAFETY_REASON, type StatefulSetFacts } from "./redis-plan";
import type { StackContext } from "./context";
import { pointPlanSummary, type PointPlanSummary } from "../redis-stream/point-flags";
import { pointId, type PointTarget } from "../redis-stream/point-plan";
import { STREAM_BASE_REASON } from "../redis-stream/base";

/** Turns a failed read of the cluster into the one line an operator needs (exit 2). */
export function clusterError(err: unknown, ctx: Pick<StackContext, "context" | "outputs">): never {
  if (err instanceof UsageError) throw err;
  const e = err as KubeError;
  const where = `the cluster of stack ${ctx.outputs.stack} (context ${ctx.context || "current"})`;
  if (e instanceof KubeError && e.status === undefined)
    throw new UsageError(`cannot reach ${where}: ${e.message.replace(/^[^:]*: /, "")}`);
  if (e instanceof KubeError && (e.status === 401 || e.status === 403))
    throw new UsageError(`${where} refuses the request: ${e.message}`);
  throw err;
}

/**
 * Chooses the backup in a store's catalogue: `latest` is the newest committed one taken neither by a
 * restore (its safety backup) nor by the stream as a chain's base (or the interrupted run's); a damaged
 * one is refused (exit 1), an unknown one is bad input. The stream takes a base whenever it must begin a
 * chain, also right after the set came back empty: its newest base may hold nothing (its moments are
 * restored with --to-time; a base by its id).
 */
export function chooseBackup(requested: string, catalog: Catalog, record?: RestoreRecord): BackupSummary {
  const r = checkRequestedBackup(requested);
  if (r === "latest" && record?.backup.startsWith("to-"))
    throw new UsageError(
      `the interrupted restore is of the point ${record.backup}: give --${record.backup} to finish it`,
    );
  if (r === "latest" && record) {
    if (![...catalog.committed, ...catalog.damaged].some((b) => b.id === record.backup))
      throw new UsageError(
        `backup ${record.backup} of the interrupted restore is no longer in ${catalog.where}`,
      );
    return resolveBackup(catalog, record.backup);
  }
  return resolveBackup(catalog, r, (b) => b.reason !== SAFETY_REASON && b.reason !== STREAM_BASE_REASON);
}

/** A StatefulSet's facts, or a UsageError when the stack's namespace does not have it. */
export async function statefulSetFacts(
  kube: StackKube,
  name: string,
  ctx: Pick<StackContext, "context" | "outputs">,
): Promise<{ facts: StatefulSetFacts; object: KubeClient.V1StatefulSet }> {
  const sts = await kube.readStatefulSet(name).catch((err) => clusterError(err, ctx));
  if (!sts)
    throw new UsageError(
      `no statefulset ${name} in namespace ${kube.namespace} (context ${ctx.context || "current"}): is this stack ${ctx.outputs.stack}'s cluster?`,
    );
  const template = sts.spec?.volumeClaimTemplates?.[0];
  const pods: PodState[] = await kube.pods(sts.spec?.selector?.matchLabels ?? {});
  return {
    object: sts,
    facts: {
      name,
      replicas: sts.spec?.replicas ?? 0,
      pods,
      claimTemplate: template?.metadata?.name ?? "data",
      claimSpec: template?.spec,
      claimLabels: template?.metadata?.labels,
    },
  };
}

function describePods(f: StatefulSetFacts): string {
  const ready = f.pods.filter((p) => p.ready).length;
  return `statefulset ${f.name}: ${f.replicas} replicas, ${f.pods.length} pods, ${ready} ready`;
}

/**
 * The base and segments of a point, every segment read and checked, and the base's manifest (which must
 * be committed and undamaged).
 */
async function choosePoint(
  at: StoreLocation,
  target: PointTarget,
  catalog: Catalog,
  manifests: Map<string, RedisBackupManifest>,
): Promise<{ chosen: BackupSummary; summary: PointPlanSummary }> {
  const summary = await pointPlanSummary(at, target);
  const chosen = resolveBackup(catalog, summary.base);
  if (!manifests.has(chosen.id)) throw new UsageError(`no base ${summary.base} in ${catalog.where}`);
  return { chosen, summary };
}

/** Reads everything the plan needs; changes nothing. `point`: a point of the stream instead of `requested`. */
export async function gatherRedisFacts(
  ctx: StackContext,
  at: StoreLocation,
  requested: string,
  safetyBackup: boolean,
  point?: PointTarget,
): Promise<RedisFacts> {
  const o = ctx.outputs;
  const { facts: data, object: dataSts } = await statefulSetFacts(ctx.kube, o.redis.statefulSet, ctx);
  const { facts: sentinels } = await statefulSetFacts(ctx.kube, o.redis.sentinelStatefulSet, ctx);
  const record = readRecord(dataSts.metadata?.annotations, data.name);
  if (record && record.store !== "redis")
    throw new UsageError(`statefulset ${data.name} records a ${record.store} restore, not a Redis one`);

  const { catalog, manifests } = await scanRedisBackups(at);
  const where = catalog.where;
  const picked = point ? await choosePoint(at, point, catalog, manifests) : undefined;
  const chosen = picked?.chosen ?? chooseBackup(requested, catalog, record);
  const manifest: RedisBackupManifest = manifests.get(chosen.id)!;
  const rdb = manifest.objects["dump.rdb"];

  const checked: string[] = [
    `${point ? "base" : "backup"} ${chosen.id} in ${where}: manifest valid, ${rdb.key.split("/").pop()} ${formatBytes(rdb.size)} ` +
      `(sha256 ${rdb.sha256.slice(0, 12)}…, checked in full by the restore Job before pod 0's volume is touched)`,
    ...(picked
      ? [
          `stream chain ${picked.summary.chain}: ${picked.summary.segments.length} segments from offset ${picked.summary.fromOffset} to ${picked.summary.toOffset} read, SHA-256, offsets and previous hashes checked (again by the restore Job)`,
        ]
      : []),
    `cluster reachable (context ${ctx.context || "current"}, namespace ${o.namespace})`,
    describePods(data),
    describePods(sentinels),
  ];

  const claims: Record<string, boolean> = {};
  const sentinelClaimNames =
    o.redis.sentinelClaimNames ??
    Array.from(
      {
        length:
          record?.replicas[sentinels.name] ??
          Math.max(sentinels.replicas, o.redis.sentinels.split(",").length),
      },
      (_, i) => `${sentinels.claimTemplate}-${sentinels.name}-${i}`,
    );
  for (const claim of [...o.redis.claimNames, ...sentinelClaimNames])
    claims[claim] = (await ctx.kube.readClaim(claim).catch((err) => clusterError(err, ctx))) !== undefined;
  checked.push(
    `claims: ${Object.entries(claims)
      .map(([c, ok]) => `${c}${ok ? "" : " (missing)"}`)
      .join(", ")}`,
  );

  if (!(await ctx.kube.readSecret(o.redis.secretName)))
    throw new UsageError(
      `no secret ${o.redis.secretName} in namespace ${o.namespace}: the Jobs read the admin password from it`,
    );
  const sa = o.backup.serviceAccounts.restore;
  if (!(await ctx.kube.readServiceAccount(sa)))
    throw new UsageError(`no service account ${sa} in namespace ${o.namespace}: the restore Jobs run as it`);
  let backupCronJob: string | undefined = o.schedule.cronJobs["redis-backup"];
  if (backupCronJob && !(await ctx.kube.readCronJob(backupCronJob))) backupCronJob = undefined;
  const setDown = data.replicas === 0 && data.pods.length === 0;
  if (safetyBackup && !record && !setDown && !backupCronJob)
    throw new UsageError(
      `stack ${o.stack} has no redis-backup CronJob for the safety backup; pass --no-safety-backup to restore without one`,
    );

  const redisContainer = dataSts.spec?.template.spec?.containers.find((c) => c.name === "redis");
  const backup: PlannedBackup = {
    id: point ? pointId(point) : chosen.id,
    requested: point ? pointId(point) : requested,
    reason: chosen.reason,
    completedAt: chosen.completedAt,
    items: chosen.items,
    sizeBytes: chosen.sizeBytes,
  };
  return {
    outputs: o,
    context: ctx.context,
    backup,
    manifest,
    ...(point && picked ? { point: { target: point, summary: picked.summary } } : {}),
    data: { ...data, memoryLimit: redisContainer?.resources?.limits?.memory },
    sentinels,
    claims,
    backupCronJob,
    record,
    checked,
  };
}
