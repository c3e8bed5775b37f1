// What `restore redis` makes of the flags that name a point of the stream (`--to-time`, `--to-offset`;
// declared in redis-backup/specs.ts), and what its `--dry-run` says of a point: the base and segments
// it would use, every one read and checked, touching nothing.
import { optNum, optStr, type Flags } from "../cli/args";
import { checkRequestedBackup } from "../store/backup-id";
import { OperationError, UsageError } from "../cli/errors";
import type { StoreLocation } from "../store/catalog";
import type { RedisBackupManifest } from "../redis-backup/manifest";
import { BrokenChainError, planPoint, PointOutOfRangeError, type PointTarget } from "./point-plan";

/**
 * The point the flags name, if any.
 * @throws UsageError for a time that is not RFC 3339 with a zone, or both flags.
 */
export function pointTargetOf(flags: Flags): PointTarget | undefined {
  const time = optStr(flags, "to-time");
  const offset = optNum(flags, "to-offset");
  if (time && offset !== undefined) throw new UsageError("give --to-time or --to-offset, not both");
  if (time) {
    const ms = Date.parse(time);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(time) || Number.isNaN(ms))
      throw new UsageError(
        `--to-time must be an RFC 3339 time with a zone (2026-01-15T12:00:00Z), got "${time}"`,
      );
    return { time: ms };
  }
  return offset === undefined ? undefined : { offset };
}

/**
 * What a Redis restore restores: a backup (`--backup`), or a point of the stream (`--to-time`,
 * `--to-offset`); exactly one of them (`restore redis` and `stack restore redis`).
 * @throws UsageError when none or more than one is given, or the one given is malformed.
 */
export function restoreTargetOf(flags: Flags): { backup: string; point?: PointTarget } {
  const requested = optStr(flags, "backup");
  const given = ["backup", "to-time", "to-offset"].filter((f) => flags[f] !== undefined && flags[f] !== "");
  if (given.length === 0) throw new UsageError("missing --backup, --to-time or --to-offset (give one)");
  if (given.length > 1)
    throw new UsageError(
      `give one of --backup, --to-time, --to-offset, not ${given.map((f) => `--${f}`).join(" and ")}`,
    );
  const point = pointTargetOf(flags);
  return point ? { backup: "", point } : { backup: checkRequestedBackup(requested!) };
}

/** The flags that name a point again (for the Job of a stack restore, and messages). */
export function pointArgs(t: PointTarget): string[] {
  return "time" in t ? ["--to-time", new Date(t.time).toISOString()] : ["--to-offset", String(t.offset)];
}

/** A point restore's plan as the dry run shows it. */
export interface PointPlanSummary {
  /** The stream base (a backup id) the replay starts from. */
  base: string;
  chain: number;
  fromOffset: number;
  toOffset: number;
  /** When the last replayed command arrived (RFC 3339). */
  lastCommandAt: string;
  bytes: number;
  /** The segment keys replayed, in order. */
  segments: string[];
}

/**
 * Plans a point restore: every segment up to the point read and checked.
 * @param backups the committed backups' manifests by id, when the caller has read the catalogue
 * @throws UsageError for a point outside the timeline; OperationError for a broken chain.
 */
export async function pointPlanSummary(
  at: StoreLocation,
  target: PointTarget,
  backups?: Map<string, RedisBackupManifest>,
): Promise<PointPlanSummary> {
  let plan;
  try {
    plan = await planPoint(at, target, undefined, undefined, undefined, { backups });
  } catch (err) {
    throw pointError(err);
  }
  return {
    base: plan.base.id,
    chain: plan.chain,
    fromOffset: plan.startOffset,
    toOffset: plan.cut.offset,
    lastCommandAt: new Date(plan.cut.at).toISOString(),
    bytes: plan.bytes,
    segments: plan.segments.map((s) => s.key),
  };
}

/** The dry run's lines for a point. */
export function pointPlanLines(p: PointPlanSummary): string[] {
  return [
    `would restore base ${p.base} and replay chain ${p.chain} from offset ${p.fromOffset} to ${p.toOffset}`,
    `  last command arrived ${p.lastCommandAt}; ${p.bytes} bytes in ${p.segments.length} segments (all checked)`,
    ...p.segments.map((k) => `  segment ${k}`),
  ];
}

/** The CLI error of a failed plan: out of range is bad input, a broken chain a refusal. */
export function pointError(err: unknown): unknown {
  if (err instanceof PointOutOfRangeError) return new UsageError(err.message);
  if (err instanceof BrokenChainError)
    return new OperationError(
      `refused: ${err.message}`,
      "Nothing was touched. Restore to an earlier time, or a backup (holdfast list --store redis).",
    );
  return err;
}
