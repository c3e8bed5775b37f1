// A Redis restore of a stack: the preflight facts (the backup in the stack's bucket, the StatefulSets,
// pods and claims in its namespace, an interrupted restore's record), read without changing anything, and
// what to tell the operator when a run stops. The plan is redis-plan.ts; running it is execute.ts.
import { formatBytes } from "../cli/format";
import { UsageError } from "../cli/errors";
import { type BackupSummary, type Catalog, resolveBackup, type StoreLocation } from "../store/catalog";
import type { RedisBackupManifest } from "../redis-backup/manifest";
import { redisStore, scanRedisBackups } from "../redis-backup/store";
import type { PlannedBackup } from "./plan";
import { readRecord } from "./record";
import { planRedisRestore, type RedisFacts, type StatefulSetFacts } from "./redis-plan";
import type { PreparedRestore } from "./prepared";
import type { StackContext } from "./context";
import { pointPlanSummary, type PointPlanSummary } from "../redis-stream/point-flags";
import { pointId, type PointTarget } from "../redis-stream/point-plan";
import { begun, chooseBackup, clusterError, statefulSetFacts } from "./preflight";

export { chooseBackup, clusterError, statefulSetFacts };

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
  // The plan looks for a backup inside the chain in the catalogue the preflight has read.
  const summary = await pointPlanSummary(at, target, manifests);
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
  const sa = o.backup.serviceAccounts.restore;
  const cronJob = o.schedule.cronJobs["redis-backup"];
  // The reads that depend on nothing else, at once (begun: judged in order below).
  const reads = {
    data: begun(statefulSetFacts(ctx.kube, o.redis.statefulSet, ctx)),
    sentinels: begun(statefulSetFacts(ctx.kube, o.redis.sentinelStatefulSet, ctx)),
    backups: begun(scanRedisBackups(at)),
    secret: begun(ctx.kube.readSecret(o.redis.secretName)),
    serviceAccount: begun(ctx.kube.readServiceAccount(sa)),
    cronJob: begun(cronJob ? ctx.kube.readCronJob(cronJob) : Promise.resolve(undefined)),
  };
  const { facts: data, object: dataSts } = await reads.data;
  const { facts: sentinels } = await reads.sentinels;
  const record = readRecord(dataSts.metadata?.annotations, data.name);
  if (record && record.store !== "redis")
    throw new UsageError(`statefulset ${data.name} records a ${record.store} restore, not a Redis one`);

  const { catalog, manifests } = await reads.backups;
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
  const claimNames = [...o.redis.claimNames, ...sentinelClaimNames];
  const claimReads = claimNames.map((claim) =>
    begun(ctx.kube.readClaim(claim).catch((err) => clusterError(err, ctx))),
  );
  for (const [i, claim] of claimNames.entries()) claims[claim] = (await claimReads[i]) !== undefined;
  checked.push(
    `claims: ${Object.entries(claims)
      .map(([c, ok]) => `${c}${ok ? "" : " (missing)"}`)
      .join(", ")}`,
  );

  if (!(await reads.secret))
    throw new UsageError(
      `no secret ${o.redis.secretName} in namespace ${o.namespace}: the Jobs read the admin password from it`,
    );
  if (!(await reads.serviceAccount))
    throw new UsageError(`no service account ${sa} in namespace ${o.namespace}: the restore Jobs run as it`);
  const backupCronJob = (await reads.cronJob) ? cronJob : undefined;
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

/** The preflight and the plan of a Redis restore, and how the run finds the safety backup it takes. */
export async function prepareRedisRestore(
  ctx: StackContext,
  at: StoreLocation,
  requested: string,
  safetyBackup: boolean,
  point?: PointTarget,
): Promise<PreparedRestore> {
  const facts = await gatherRedisFacts(ctx, at, requested, safetyBackup, point);
  return {
    plan: planRedisRestore(facts, { safetyBackup }),
    record: facts.record,
    listBackups: async () => (await redisStore.catalog(at)).committed,
  };
}
