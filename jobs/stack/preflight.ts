// What the preflight of every stack restore reads the same way, whatever the store: the StatefulSet and
// its pods, the backup chosen in the store's catalogue, and the one line a failed read of the cluster
// becomes. Nothing here loads a store's own code (no Redis client, no LanceDB library).
import type * as KubeClient from "@kubernetes/client-node";
import { UsageError } from "../cli/errors";
import { checkRequestedBackup } from "../store/backup-id";
import { type BackupSummary, type Catalog, resolveBackup } from "../store/catalog";
import { STREAM_BASE_REASON } from "../redis-stream/base-reason";
import type { StackContext } from "./context";
import { KubeError, type PodState, type StackKube } from "./kube";
import { SAFETY_REASON } from "./plan";
import type { RestoreRecord } from "./record";
import type { StatefulSetFacts } from "./redis-plan";

/**
 * `p`, already under way, with its failure left to whoever awaits it (never an unhandled rejection): a
 * preflight starts its reads at once and judges their answers in a fixed order, so the first problem
 * reported is the one the reads one after another would have found.
 */
export function begun<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

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
