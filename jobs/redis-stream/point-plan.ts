// Which base and which segments bring a dataset to a point in time (or offset): the newest chain whose
// base was taken before the point, its segments read in order and each checked (its SHA-256, that it
// follows the one before by offset and hash), cut at the last command that had arrived by the time
// (`--to-time`) or ends at or before the offset (`--to-offset`), never inside a transaction. A damaged
// or missing segment anywhere up to the cut refuses the plan: nothing is restored from a broken chain.
import type { StoreLocation } from "../store/catalog";
import { readManifest, type RedisBackupManifest } from "../redis-backup/manifest";
import { listChains, type StoredChain } from "./chain-store";
import { FetchAhead } from "./fetch-ahead";
import { SyncedFile } from "../redis-backup/transfer/synced-file";
import { bytesOf, checkChain, lastMark, type SegmentHeader, SegmentError } from "./segment";

/** The point to restore to. */
export type PointTarget = { time: number } | { offset: number };

/** The plan of a point-in-time restore. */
export interface PointPlan {
  target: PointTarget;
  chain: number;
  base: RedisBackupManifest;
  /** Where the replay starts (the base's offset) and stops. */
  startOffset: number;
  cut: { offset: number; at: number };
  /** The segments used, the last one possibly cut. */
  segments: { key: string; start: number; end: number }[];
  /** Stream bytes replayed (cut.offset - startOffset). */
  bytes: number;
}

/** The point cannot be restored to (bad input: outside what the bucket holds). */
export class PointOutOfRangeError extends Error {}

/** The chain up to the point is damaged or incomplete: refused, nothing touched. */
export class BrokenChainError extends Error {}

/** The point as people read it. */
export function describeTarget(t: PointTarget): string {
  return "time" in t ? new Date(t.time).toISOString() : `offset ${t.offset}`;
}

/** The state-file name of a point restore, so a re-run of the same command resumes it. */
export function pointId(t: PointTarget): string {
  return "time" in t ? `to-time ${new Date(t.time).toISOString()}` : `to-offset ${t.offset}`;
}

function chooseChain(chains: StoredChain[], t: PointTarget): StoredChain {
  const based = chains.filter((c) => c.record?.base);
  const fits = based.filter((c) =>
    "time" in t ? Date.parse(c.record!.startedAt) <= t.time : c.record!.offset <= t.offset,
  );
  const chosen = fits[fits.length - 1];
  if (!chosen) {
    const first = based[0]?.record;
    throw new PointOutOfRangeError(
      first
        ? `${describeTarget(t)} is before the stream's first base (${"time" in t ? first.startedAt : `offset ${first.offset}`})`
        : "the bucket holds no stream with a base yet (run holdfast stream redis)",
    );
  }
  return chosen;
}

/** Whether a point at (offset, arrival) is at or before the target. */
function within(t: PointTarget): (offset: number, at: number) => boolean {
  return "time" in t ? (_o, at) => at <= t.time : (o) => o <= t.offset;
}

/**
 * Plans a restore to `target`, reading and checking every segment up to the cut; with `streamFile`,
 * writes the stream bytes to replay there (synced). `onBase` is called with the base's manifest once it
 * is known to start the chain, before the segments are read (a caller may start its download);
 * `onBytes` with each piece of the stream bytes as it is written. Segments are read ahead of the one
 * being checked and written (FetchAhead: a few at once, bounded in number and bytes).
 * @throws PointOutOfRangeError, BrokenChainError
 */
export async function planPoint(
  at: StoreLocation,
  target: PointTarget,
  streamFile?: string,
  onBase?: (base: RedisBackupManifest) => void,
  onBytes?: (piece: Buffer) => void,
): Promise<PointPlan> {
  const chain = chooseChain(await listChains(at), target);
  const record = chain.record!;
  const base = await readManifest(at.client, at.bucket, at.layout, record.base!);
  if (base.source.replicationOffset !== record.offset)
    throw new BrokenChainError(
      `base ${base.id} stands at offset ${base.source.replicationOffset}, not at chain ${chain.chain}'s start ${record.offset}`,
    );
  onBase?.(base);
  const accept = within(target);
  const out = streamFile ? new SyncedFile(streamFile) : undefined;
  const used: PointPlan["segments"] = [];
  const checked: { header: SegmentHeader; sha256: string }[] = [];
  let cut = { offset: record.offset, at: Date.parse(record.startedAt) };
  let lastAt = cut.at;
  const ahead = new FetchAhead(at, chain.segments);
  try {
    for (let i = 0; i < chain.segments.length; i++) {
      const s = chain.segments[i];
      let seg;
      try {
        seg = await ahead.take(i);
      } catch (err) {
        if (err instanceof SegmentError) throw new BrokenChainError(err.message);
        throw err;
      }
      // Only what the chain check needs is kept: each payload is let go once it is written.
      checked.push({ header: seg.header, sha256: seg.sha256 });
      const broken = checkChain(record.offset, checked);
      if (broken) throw new BrokenChainError(`chain ${chain.chain}: ${broken.problem}`);
      lastAt = seg.header.lastAt;
      const mark = lastMark(seg.header, accept);
      if (!mark) break;
      cut = mark;
      used.push({ key: s.key, start: seg.header.start, end: seg.header.end });
      for (const piece of bytesOf(seg.payload, 0, mark.offset - seg.header.start)) {
        onBytes?.(piece);
        await out?.write(piece);
      }
      if (mark.offset < seg.header.end) break;
    }
    await out?.finish();
  } finally {
    await out?.close();
  }
  const reachesPast = "time" in target ? target.time <= lastAt : target.offset <= cut.offset;
  const lastSegment = used.length === chain.segments.length;
  if (
    lastSegment &&
    !reachesPast &&
    cut.offset === (checked[checked.length - 1]?.header.end ?? record.offset)
  )
    throw new PointOutOfRangeError(
      `${describeTarget(target)} is after the newest durable command of chain ${chain.chain} ` +
        `(${new Date(lastAt).toISOString()}, offset ${cut.offset}); see holdfast timeline`,
    );
  return {
    target,
    chain: chain.chain,
    base,
    startOffset: record.offset,
    cut,
    segments: used,
    bytes: cut.offset - record.offset,
  };
}
