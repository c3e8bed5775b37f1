// The flags of `restore redis` that name a point of the stream (`--to-time`, `--to-offset`) and its
// `--dry-run`, which plans the restore (every segment up to the point read and checked) and says which
// base and segments it would use, touching nothing.
import { optStr, type Flags, type FlagSpecs } from "../cli/args";
import { UsageError } from "../cli/errors";
import type { StoreLocation } from "../store/catalog";
import { BrokenChainError, planPoint, PointOutOfRangeError, type PointTarget } from "./point-plan";
import { OperationError } from "../cli/errors";

/** `--to-time`, `--to-offset`, `--dry-run`. */
export const POINT_FLAGS: FlagSpecs = {
  "to-time": {
    type: "string",
    help: "restore the dataset as it was at this time (RFC 3339, e.g. 2026-01-15T12:00:00.250Z): the newest stream base before it and the replayed stream (see holdfast timeline)",
  },
  "to-offset": {
    type: "string",
    help: "restore the dataset as it was at this replication offset (the last whole command ending at or before it)",
  },
  "dry-run": {
    type: "boolean",
    default: false,
    help: "say what would be restored (for a point: the base and segments, every one checked) and touch nothing",
  },
};

/**
 * The point the flags name, if any.
 * @throws UsageError for a time that is not RFC 3339 with a zone, or both flags.
 */
export function pointTargetOf(flags: Flags): PointTarget | undefined {
  const time = optStr(flags, "to-time");
  const offset = optStr(flags, "to-offset");
  if (time && offset) throw new UsageError("give --to-time or --to-offset, not both");
  if (time) {
    const ms = Date.parse(time);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(time) || Number.isNaN(ms))
      throw new UsageError(
        `--to-time must be an RFC 3339 time with a zone (2026-01-15T12:00:00Z), got "${time}"`,
      );
    return { time: ms };
  }
  if (offset) {
    if (!/^\d+$/.test(offset))
      throw new UsageError(`--to-offset must be a replication offset (a whole number), got "${offset}"`);
    return { offset: Number(offset) };
  }
  return undefined;
}

/** Plans a point restore and prints the plan (`--dry-run`). */
export async function printPointPlan(at: StoreLocation, target: PointTarget, json: boolean): Promise<void> {
  let plan;
  try {
    plan = await planPoint(at, target);
  } catch (err) {
    throw pointError(err);
  }
  const out = {
    base: plan.base.id,
    chain: plan.chain,
    fromOffset: plan.startOffset,
    toOffset: plan.cut.offset,
    lastCommandAt: new Date(plan.cut.at).toISOString(),
    bytes: plan.bytes,
    segments: plan.segments.map((s) => s.key),
  };
  if (json) {
    process.stdout.write(JSON.stringify(out) + "\n");
    return;
  }
  process.stdout.write(
    [
      `would restore base ${out.base} and replay chain ${out.chain} from offset ${out.fromOffset} to ${out.toOffset}`,
      `  last command arrived ${out.lastCommandAt}; ${out.bytes} bytes in ${out.segments.length} segments (all checked)`,
      ...out.segments.map((k) => `  segment ${k}`),
      "nothing was touched (dry run)",
    ].join("\n") + "\n",
  );
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
