// What the bucket can restore, to which second: one interval per chain, from the moment of its base to
// the last command of its newest segment; the breaks between chains are gaps; the lag is how far the
// newest durable byte is behind now (the primary pings its replicas every 10 s, so an idle set shows up
// to about 10 s).
import type { StoreLocation } from "../store/catalog";
import { listChains, readSegment, type StoredChain } from "./chain-store";
import type { ChainCause } from "./segment";

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

/** Reads the timeline (the first and last segment of each chain). */
export async function readTimeline(at: StoreLocation, now = Date.now()): Promise<Timeline> {
  const stored = await listChains(at);
  const chains: TimelineChain[] = [];
  for (const c of stored) chains.push(await describeChain(at, c));
  return timelineOf(chains, now);
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
