// Which base and which segments bring a dataset to a point in time (or offset): the newest chain whose
// base was taken before the point; in it, the newest backup that stands inside the chain at or before
// the point (anchors.ts), else the chain's own base; the segments from there read in order and each
// checked (its SHA-256, that it follows the one before by offset and hash), cut at the last command that
// had arrived by the time (`--to-time`) or ends at or before the offset (`--to-offset`), never inside a
// transaction. A damaged or missing segment anywhere from the start to the cut refuses the plan: nothing
// is restored from a broken chain.
import type { StoreLocation } from "../store/catalog";
import { readManifest, type RedisBackupManifest } from "../redis-backup/manifest";
import { scanRedisBackups } from "../redis-backup/store";
import { type Anchor, anchorCandidates } from "./anchors";
import { listChains, type StoredChain } from "./chain-store";
import { FetchAhead } from "./fetch-ahead";
import { SyncedFile } from "../redis-backup/transfer/synced-file";
import { encodeCommand, RespError, RespReader } from "./resp";
import {
  bytesOf,
  checkChain,
  lastMark,
  markAt,
  type SegmentHeader,
  SegmentError,
  type SegmentPieces,
} from "./segment";

/** The point to restore to. */
export type PointTarget = { time: number } | { offset: number };

/** The plan of a point-in-time restore. */
export interface PointPlan {
  target: PointTarget;
  chain: number;
  base: RedisBackupManifest;
  /** Where the replay starts (the base's offset: the chain's start, or a backup's inside it) and stops. */
  startOffset: number;
  cut: { offset: number; at: number };
  /** The segments used (the first possibly from inside, the last possibly cut). */
  segments: { key: string; start: number; end: number }[];
  /**
   * Bytes written before the chain's: from a backup inside the chain, a SELECT of the database the stream
   * had selected at its offset (the stream does not say it again); 0 from the chain's base.
   */
  lead: number;
  /** Bytes replayed: lead + cut.offset - startOffset. */
  bytes: number;
}

/** How planPoint chooses where the replay starts. */
export interface PlanOptions {
  /**
   * Start at the chain's own base even when a later backup stands inside the chain (a drill proves the
   * whole chain).
   */
  chainBase?: boolean;
  /**
   * The committed backups' manifests by id, when the caller has read the catalogue already (the stack
   * restore's preflight); otherwise the plan reads it.
   */
  backups?: Map<string, RedisBackupManifest>;
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
 * Plans a restore to `target`, reading and checking every segment from the start to the cut; with
 * `streamFile`, writes the stream bytes to replay there (synced). `onBase` is called with the base's
 * manifest once it is known to start the replay, before any byte is written (a caller may start its
 * download); `onBytes` with each piece of the stream bytes as it is written. Segments are read ahead of
 * the one being checked and written (FetchAhead: a few at once, bounded in number and bytes).
 * @throws PointOutOfRangeError, BrokenChainError
 */
export async function planPoint(
  at: StoreLocation,
  target: PointTarget,
  streamFile?: string,
  onBase?: (base: RedisBackupManifest) => void,
  onBytes?: (piece: Buffer) => void,
  options: PlanOptions = {},
): Promise<PointPlan> {
  // The catalogue is read beside the chains (unless given): only committed backups may start a replay.
  const [chains, backups] = await Promise.all([
    listChains(at),
    options.chainBase ? undefined : (options.backups ?? scanRedisBackups(at).then((s) => s.manifests)),
  ]);
  const chain = chooseChain(chains, target);
  const record = chain.record!;
  const write = { streamFile, onBase, onBytes };
  for (const anchor of backups ? anchorCandidates(chain, backups.values(), target) : []) {
    const plan = await planFrom(at, chain, target, { ...anchor, inside: true }, write);
    if (plan) return plan;
  }
  const base =
    backups?.get(record.base!) ?? (await readManifest(at.client, at.bucket, at.layout, record.base!));
  if (base.source.replicationOffset !== record.offset)
    throw new BrokenChainError(
      `base ${base.id} stands at offset ${base.source.replicationOffset}, not at chain ${chain.chain}'s start ${record.offset}`,
    );
  const start = { base, replid: record.replid, offset: record.offset, inside: false };
  return (await planFrom(at, chain, target, start, write))!;
}

/**
 * Where a backup inside a chain stands in the segment that holds the byte after it: a mark at its offset
 * under its replication id, when that mark arrived, and the database selected there. Undefined when the
 * backup is not a point of this segment's stream (another history, no safe point there).
 */
export function standing(seg: SegmentPieces, start: Anchor): { at: number; db: number } | undefined {
  const h = seg.header;
  if (h.replid !== start.replid || start.offset <= h.start || start.offset > h.end) return undefined;
  const mark = markAt(h, start.offset);
  if (!mark) return undefined;
  const reader = new RespReader({ db: h.db, inMulti: false });
  try {
    for (const piece of bytesOf(seg.payload, 0, start.offset - h.start)) reader.count(piece);
  } catch (err) {
    if (err instanceof RespError) return undefined;
    throw err;
  }
  if (reader.partial > 0 || reader.state.inMulti) return undefined;
  return { at: mark.at, db: reader.state.db };
}

/**
 * The plan from `start`: the chain's base (`inside` false: the segments from the first), or a backup
 * inside the chain (from the segment holding the byte after its offset). Undefined when a backup inside
 * does not fit (see `standing`, or its point arrived after a time target): nothing was written then.
 */
async function planFrom(
  at: StoreLocation,
  chain: StoredChain,
  target: PointTarget,
  start: Anchor & { inside: boolean },
  write: {
    streamFile?: string;
    onBase?: (base: RedisBackupManifest) => void;
    onBytes?: (piece: Buffer) => void;
  },
): Promise<PointPlan | undefined> {
  const record = chain.record!;
  let first = 0;
  if (start.inside) {
    first = -1;
    for (let i = 0; i < chain.segments.length && chain.segments[i].start < start.offset; i++) first = i;
    if (first < 0) return undefined;
  }
  const segments = chain.segments.slice(first);
  const accept = within(target);
  let out: SyncedFile | undefined;
  const used: PointPlan["segments"] = [];
  const checked: { header: SegmentHeader; sha256: string }[] = [];
  let cut = { offset: start.offset, at: Date.parse(record.startedAt) };
  let lead = 0;
  let lastAt = cut.at;
  // The chain is checked from the chain's start, or from the first segment read (its `prev` taken as is:
  // the backup stands on its own manifest).
  let from = { offset: record.offset, prev: null as string | null };
  const ahead = new FetchAhead(at, segments);
  const emit = async (piece: Buffer) => {
    write.onBytes?.(piece);
    await out?.write(piece);
  };
  // The start is settled (at once for the chain's base; for a backup inside, once its segment is read):
  // the base may download, the stream file begins, with a SELECT of the database selected there if any.
  const begin = async (db: number) => {
    write.onBase?.(start.base);
    out = write.streamFile ? new SyncedFile(write.streamFile) : undefined;
    if (db < 0) return;
    const select = encodeCommand("SELECT", String(db));
    lead = select.length;
    await emit(select);
  };
  try {
    if (!start.inside) await begin(-1);
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i];
      let seg;
      try {
        seg = await ahead.take(i);
      } catch (err) {
        if (err instanceof SegmentError) throw new BrokenChainError(err.message);
        throw err;
      }
      let skip = 0;
      if (i === 0 && start.inside) {
        const stands = standing(seg, start);
        if (!stands || !accept(start.offset, stands.at)) return undefined;
        from = { offset: seg.header.start, prev: seg.header.prev };
        cut = { offset: start.offset, at: stands.at };
        lastAt = stands.at;
        skip = start.offset - seg.header.start;
        await begin(stands.db);
      }
      // Only what the chain check needs is kept: each payload is let go once it is written.
      checked.push({ header: seg.header, sha256: seg.sha256 });
      const broken = checkChain(from.offset, checked, from.prev);
      if (broken) throw new BrokenChainError(`chain ${chain.chain}: ${broken.problem}`);
      lastAt = Math.max(lastAt, seg.header.lastAt);
      const found = lastMark(seg.header, accept);
      const mark = found && found.offset >= cut.offset ? found : undefined;
      if (!mark) break;
      cut = mark;
      used.push({ key: s.key, start: seg.header.start, end: seg.header.end });
      for (const piece of bytesOf(seg.payload, skip, mark.offset - seg.header.start)) await emit(piece);
      if (mark.offset < seg.header.end) break;
    }
    await out?.finish();
  } finally {
    await out?.close();
  }
  const reachesPast = "time" in target ? target.time <= lastAt : target.offset <= cut.offset;
  const lastSegment = used.length === segments.length;
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
    base: start.base,
    startOffset: start.offset,
    cut,
    segments: used,
    lead,
    bytes: lead + cut.offset - start.offset,
  };
}
