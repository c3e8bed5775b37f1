// What the bucket can restore, to which second: one interval per chain, from the moment of its base to
// the last command of its newest segment; the breaks between chains are gaps; the lag is how far the
// newest durable byte is behind now (the primary pings its replicas every 10 s, so an idle set shows up
// to about 10 s).
import type { RedisBackupManifest } from "../redis-backup/manifest";
import { scanRedisBackups } from "../redis-backup/store";
import type { StoreLocation } from "../store/catalog";
import { anchorCandidates } from "./anchors";
import { listChains, readSegment, type StoredChain } from "./chain-store";
import type { ChainCause } from "./segment";

/** A committed backup inside a chain: where a restore to a later point may start (see anchors.ts). */
export interface BackupInside {
  id: string;
  offset: number;
  startedAt: string;
}

/** One chain as the timeline shows it. */
export interface TimelineChain {
  chain: number;
  /** The backup that anchors it. */
  base?: string;
  cause?: ChainCause;
  /** Restorable from (the base's moment) to (the newest command), RFC 3339 UTC; `to` absent without segments. */
  from?: string;
  to?: string;
  startOffset?: number;
  endOffset?: number;
  segments: number;
  bytes: number;
  /**
   * With backups read (the timeline command): the committed backups taken over replication whose offset
   * lies inside the chain, oldest first. A restore to a point after one starts there once the segment at
   * its offset confirms it (same replication id, a safe point there); otherwise from an older one.
   */
  backups?: BackupInside[];
}

/** A stretch of time that cannot be restored to. */
export interface TimelineGap {
  from: string;
  to: string;
  why: string;
}

/** The timeline of a store. */
export interface Timeline {
  now: string;
  chains: TimelineChain[];
  /** Restorable intervals (each chain with a base and segments). */
  intervals: { from: string; to: string; chain: number; base: string }[];
  gaps: TimelineGap[];
  /** Seconds between now and the newest durable command; absent without any segment. */
  lagSeconds?: number;
  /** The newest durable command's time. */
  newest?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Reads the timeline (the last segment of each chain); with `withBackups`, also the catalogue, for the
 * backups inside each chain.
 */
export async function readTimeline(
  at: StoreLocation,
  now = Date.now(),
  withBackups = false,
): Promise<Timeline> {
  const [stored, scan] = await Promise.all([listChains(at), withBackups ? scanRedisBackups(at) : undefined]);
  const chains: TimelineChain[] = [];
  for (const c of stored) {
    const t = await describeChain(at, c);
    if (scan) t.backups = backupsInside(c, scan.manifests.values(), t.endOffset);
    chains.push(t);
  }
  return timelineOf(chains, now);
}

/** The backups that may start a replay inside chain `c` up to its end, oldest first. */
function backupsInside(
  c: StoredChain,
  manifests: Iterable<RedisBackupManifest>,
  end: number | undefined,
): BackupInside[] {
  if (end === undefined) return [];
  return anchorCandidates(c, manifests, { offset: end })
    .reverse()
    .map((a) => ({ id: a.base.id, offset: a.offset, startedAt: a.base.startedAt }));
}

async function describeChain(at: StoreLocation, c: StoredChain): Promise<TimelineChain> {
  const t: TimelineChain = {
    chain: c.chain,
    base: c.record?.base,
    cause: c.record?.cause,
    from: c.record?.startedAt,
    startOffset: c.record?.offset,
    segments: c.segments.length,
    bytes: c.segments.reduce((n, s) => n + s.size, 0),
  };
  const last = c.segments[c.segments.length - 1];
  if (last) {
    const s = await readSegment(at, last.key);
    t.to = iso(s.header.lastAt);
    t.endOffset = s.header.end;
  } else t.endOffset = t.startOffset;
  return t;
}

/** The timeline of described chains (pure). */
export function timelineOf(chains: TimelineChain[], now: number): Timeline {
  const intervals = chains
    .filter((c) => c.base && c.from && c.to && c.to >= c.from)
    .map((c) => ({ from: c.from!, to: c.to!, chain: c.chain, base: c.base! }));
  const gaps: TimelineGap[] = [];
  for (let i = 1; i < chains.length; i++) {
    const before = chains[i - 1];
    const after = chains[i];
    if (before.to && after.from && after.from > before.to)
      gaps.push({
        from: before.to,
        to: after.from,
        why:
          after.cause === "full-resync"
            ? "the primary could not continue the stream (full resynchronisation); a new base was taken"
            : "the stream began a new chain",
      });
  }
  const newestMs = Math.max(...chains.filter((c) => c.to).map((c) => Date.parse(c.to!)), -Infinity);
  return {
    now: iso(now),
    chains,
    intervals,
    gaps,
    newest: Number.isFinite(newestMs) ? iso(newestMs) : undefined,
    lagSeconds: Number.isFinite(newestMs) ? Math.max(0, Math.round((now - newestMs) / 100) / 10) : undefined,
  };
}
