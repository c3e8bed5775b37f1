// What `verify` checks of the stream: every segment of the newest chain read back and checked (its
// SHA-256, that it sits where its key says, that offsets run on without a hole from the chain's start and
// that each names the hash of the one before), and the base the chain is anchored on. Reads only: a
// damaged chain is reported (every damaged segment and every break), nothing is repaired or removed.
// A segment missing at the very end of a chain leaves no trace (nothing follows it to notice); the
// timeline then simply ends earlier.
import type { Check } from "../redis-backup/scratch/load-check";
import { readManifest } from "../redis-backup/manifest";
import type { StoreLocation } from "../store/catalog";
import { mapLimit } from "../store/map-limit";
import { listChains, readSegment, type StoredChain } from "./chain-store";
import type { Segment } from "./segment";

/** The outcome of checking a chain. */
export interface ChainVerification {
  store: "redis";
  /** How the chain is named in reports: `stream chain 3`. */
  id: string;
  chain: number;
  ok: boolean;
  checks: Check[];
  segments: number;
  bytes: number;
  startOffset?: number;
  /** The newest intact segment's end, and when its last byte arrived. */
  endOffset?: number;
  newest?: string;
  durationMs: number;
}

/** A segment as read back: decoded, or why not. */
type ReadBack = { key: string; start: number; segment?: Segment; problem?: string };

async function readAll(at: StoreLocation, c: StoredChain): Promise<ReadBack[]> {
  return mapLimit(c.segments, 8, async (s) => {
    try {
      return { key: s.key, start: s.start, segment: await readSegment(at, s.key) };
    } catch (err) {
      return { key: s.key, start: s.start, problem: (err as Error).message };
    }
  });
}

/**
 * Every break in the order of the segments: a hole in the offsets (a missing segment), a segment that
 * does not name the one before. A damaged segment is reported by the hash check; the segment after it
 * is not held against it.
 */
export function chainBreaks(offset: number, read: ReadBack[]): string[] {
  const breaks: string[] = [];
  let end: number | undefined = offset;
  let prev: string | null | undefined = null;
  for (const r of read) {
    const h = r.segment?.header;
    if (!h) {
      end = prev = undefined;
      continue;
    }
    if (end !== undefined && h.start > end)
      breaks.push(`the stream from offset ${end} to ${h.start} is missing`);
    else if (end !== undefined && h.start < end)
      breaks.push(`the segment at offset ${h.start} overlaps the one before (ends at ${end})`);
    else if (prev !== undefined && h.prev !== prev)
      breaks.push(`the segment at offset ${h.start} does not name the one before (hash)`);
    end = h.end;
    prev = r.segment!.sha256;
  }
  return breaks;
}

async function baseCheck(at: StoreLocation, c: StoredChain): Promise<Check> {
  const name = "its base is a committed backup standing at the chain's start";
  const base = c.record?.base;
  if (!base) return { name, ok: false, detail: "the chain's record names no base" };
  try {
    const m = await readManifest(at.client, at.bucket, at.layout, base);
    const ok = m.source.replicationOffset === c.record!.offset;
    return {
      name,
      ok,
      detail: ok
        ? `${base}, offset ${c.record!.offset}`
        : `${base} stands at offset ${m.source.replicationOffset}, the chain starts at ${c.record!.offset}`,
    };
  } catch (err) {
    return { name, ok: false, detail: `${base}: ${(err as Error).message}` };
  }
}

/** Checks chain `c` in full. */
export async function verifyChain(at: StoreLocation, c: StoredChain): Promise<ChainVerification> {
  const t0 = Date.now();
  const checks: Check[] = [];
  checks.push({
    name: "the chain's record is readable",
    ok: Boolean(c.record),
    detail: c.record
      ? `starts at offset ${c.record.offset} (${c.record.startedAt}, ${c.record.cause})`
      : "no chain.json: the chain cannot be replayed",
  });
  if (c.record) checks.push(await baseCheck(at, c));
  const read = await readAll(at, c);
  const damaged = read.filter((r) => r.problem);
  checks.push({
    name: "every segment matches its SHA-256",
    ok: damaged.length === 0,
    detail:
      damaged.length === 0
        ? `${read.length} segments`
        : `${damaged.length} of ${read.length} damaged: ${damaged.map((d) => d.problem).join("; ")}`,
  });
  if (c.record) {
    const breaks = chainBreaks(c.record.offset, read);
    checks.push({
      name: "the segments follow each other (offsets contiguous, each names the one before)",
      ok: breaks.length === 0,
      detail: breaks.length === 0 ? undefined : breaks.join("; "),
    });
  }
  const intact = read.filter((r) => r.segment).map((r) => r.segment!);
  const last = intact[intact.length - 1];
  return {
    store: "redis",
    id: `stream chain ${c.chain}`,
    chain: c.chain,
    ok: checks.every((x) => x.ok),
    checks,
    segments: c.segments.length,
    bytes: c.segments.reduce((n, s) => n + s.size, 0),
    startOffset: c.record?.offset,
    endOffset: last?.header.end ?? c.record?.offset,
    newest: last ? new Date(last.header.lastAt).toISOString() : undefined,
    durationMs: Date.now() - t0,
  };
}

/** Checks the newest chain in the bucket; undefined when there is no stream. */
export async function verifyNewestChain(at: StoreLocation): Promise<ChainVerification | undefined> {
  const chains = await listChains(at);
  const newest = chains[chains.length - 1];
  return newest ? verifyChain(at, newest) : undefined;
}
