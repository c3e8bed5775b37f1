// Pruning LanceDB snapshots, mark and sweep. First the records of committed snapshots retention does not
// keep are deleted (damaged snapshots are never deleted: an operator inspects them); then every record
// that exists now is read (kept ones, damaged ones and any committed meanwhile) and marks the files it
// references; then files under lancedb/files/ that no record marks are swept, but only those
// older than the grace period G. Files younger than G may belong to a backup whose record is not
// written yet (a backup commits within G/2 of its start or not at all, and reuses an unreferenced file
// only when it is younger than G/2 — see backup.ts), so they wait for a later prune. A record that
// cannot be read stops the sweep: its files cannot be told apart from garbage.
import { DeleteObjectsCommand } from "@aws-sdk/client-s3";
import { OperationError } from "../../cli/errors";
import { log } from "../../cli/log";
import { type PruneReport, retentionOf, type StoreLocation } from "../../store/catalog";
import type { RetentionPolicy } from "../../store/retention";
import { listObjects } from "../../store/s3";
import { recordKey, scanSnapshots } from "./records";

/** Default grace period: unreferenced files younger than this are never deleted. */
export const DEFAULT_GC_GRACE_MS = 24 * 3600 * 1000;

/** Environment variable both the backup and the prune read the grace period from (`24h`, `90m`...). */
export const GC_GRACE_ENV = "HOLDFAST_GC_GRACE";

/** How a prune runs besides its retention policy. */
export interface PruneOptions {
  graceMs: number;
  now?: Date;
}

async function deleteKeys(at: StoreLocation, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const r = await at.client.send(
      new DeleteObjectsCommand({
        Bucket: at.bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    if (r.Errors && r.Errors.length > 0)
      throw new OperationError(
        `could not delete ${r.Errors.length} object(s), e.g. ${r.Errors[0].Key}: ${r.Errors[0].Code} ${r.Errors[0].Message ?? ""}`,
        "the snapshots kept are intact; re-run the prune",
      );
  }
}

/**
 * Applies `policy` to the committed LanceDB snapshots and sweeps unreferenced files older than the grace
 * period. Damaged snapshots are never deleted; their files stay marked while their record can be read.
 */
export async function pruneSnapshots(
  at: StoreLocation,
  policy: RetentionPolicy,
  dryRun: boolean,
  opts: PruneOptions,
): Promise<PruneReport> {
  const now = opts.now ?? new Date();
  const first = await scanSnapshots(at);
  const decision = retentionOf(first.catalog, policy);
  const report: PruneReport = {
    store: "lancedb",
    kept: [...decision.keep].map(([id, reasons]) => ({ id, reasons })),
    deleted: decision.drop,
    damaged: first.catalog.damaged,
    objectsDeleted: 0,
    bytesDeleted: 0,
    dryRun,
  };
  if (first.catalog.damaged.length > 0)
    log.warn("damaged snapshots are kept for inspection, never pruned", {
      damaged: first.catalog.damaged.map((d) => `${d.id}: ${d.problem}`),
    });
  if (first.records.size === 0 && first.unreadable.length === 0) return report;

  // 1. Records retention does not keep.
  const dropped = new Set(decision.drop);
  let recordBytes = 0;
  for await (const o of listObjects(at.client, at.bucket, at.layout.lanceSnapshots))
    if (dropped.has(o.key.slice(at.layout.lanceSnapshots.length).replace(/\.json$/, "")))
      recordBytes += o.size;
  if (!dryRun)
    await deleteKeys(
      at,
      decision.drop.map((id) => recordKey(at, id)),
    );
  report.objectsDeleted += decision.drop.length;
  report.bytesDeleted += recordBytes;

  // 2. Mark: every record that exists now, committed or damaged (in a dry run: those that would remain).
  const current = dryRun ? first : await scanSnapshots(at);
  const unreadable = current.unreadable.filter((d) => !dryRun || !dropped.has(d.id));
  if (unreadable.length > 0) {
    log.warn("no file is swept while a snapshot record cannot be read: fix or remove it", {
      unreadable: unreadable.map((d) => `${recordKey(at, d.id)}: ${d.problem}`),
    });
    return report;
  }
  const marked = new Set<string>();
  for (const [id, r] of current.records) {
    if (dryRun && dropped.has(id)) continue;
    for (const t of r.tables) for (const f of t.files) marked.add(f.key);
  }

  // 3. Sweep: unmarked files older than the grace period.
  const cutoff = now.getTime() - opts.graceMs;
  const sweep: string[] = [];
  let young = 0;
  for (const [key, o] of current.files) {
    if (marked.has(key)) continue;
    if (o.lastModified === undefined || o.lastModified.getTime() >= cutoff) {
      young++;
      continue;
    }
    sweep.push(o.key);
    report.bytesDeleted += o.size;
  }
  if (young > 0)
    log.info("unreferenced files younger than the grace period are left for a later prune", { files: young });
  if (!dryRun) await deleteKeys(at, sweep);
  report.objectsDeleted += sweep.length;
  return report;
}
