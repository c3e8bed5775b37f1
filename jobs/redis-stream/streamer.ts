// `holdfast stream redis`: a replica of the set that keeps nothing but ships the replication stream to
// the bucket. It finds the primary through the sentinels (as `backup redis` does), continues from the
// last durable segment (`PSYNC <replid> <offset+1>`), follows the set through a failover by the same
// continuation on the new primary (whose replid2 is the old id), and when a node can only give a full
// resynchronisation it takes that snapshot as a new base backup and begins a new chain: the break
// between the chains is a gap the timeline shows.
import { log } from "../cli/log";
import type { Credentials, NodeAddress } from "../redis/client";
import { formatAddress } from "../redis/client";
import { discoverTopology } from "../redis-backup/backup/discovery";
import type { StoreLocation } from "../store/catalog";
import { commitStreamBase } from "./base";
import { listChains, putChainRecord, readSegment } from "./chain-store";
import { LinkAuthError, ReplicaLink } from "./replica-link";
import type { StreamMetrics } from "./metrics";
import { RespReader } from "./resp";
import type { ChainCause, Segment, SegmentHeader } from "./segment";
import { type ChainPosition, type DurableSegment, SegmentWriter, type SegmentLimits } from "./segment-writer";

/** What the stream needs. */
export interface StreamOptions {
  sentinels: NodeAddress[];
  masterName: string;
  sentinelCredentials: Credentials;
  /** The stream's user on the data nodes (+psync +replconf +ping). */
  redisCredentials: Credentials;
  at: StoreLocation;
  limits?: Partial<SegmentLimits>;
  /** A link with no byte for this long is dropped and made again. Default 60 s. */
  stallMs?: number;
  /** Stops the stream (the buffered stream is written first). */
  signal: AbortSignal;
  /** Told of every durable segment. */
  onDurable?: (s: DurableSegment) => void;
  /** Kept up to date for the metrics endpoint. */
  metrics?: StreamMetrics;
}

/**
 * Where the bucket's newest chain stands, checked: its last segment read back and its hash verified.
 * Undefined when there is no chain, or when the newest cannot be continued (then a new one begins).
 */
export async function resumePoint(at: StoreLocation): Promise<{ position?: ChainPosition; chains: number }> {
  const chains = await listChains(at);
  const last = chains[chains.length - 1];
  if (!last) return { chains: 0 };
  if (!last.record) {
    log.warn("the newest chain has no record; beginning a new chain", { chain: last.chain });
    return { chains: last.chain };
  }
  const tail = last.segments[last.segments.length - 1];
  if (!tail) {
    const r = last.record;
    return {
      position: { chain: r.chain, replid: r.replid, offset: r.offset, prev: null, db: -1 },
      chains: last.chain,
    };
  }
  try {
    const s = await contiguousTail(at, last.segments, last.record.offset);
    if (!s) return { chains: last.chain };
    const reader = new RespReader({ db: s.header.db, inMulti: false });
    reader.feed(s.payload);
    return {
      position: {
        chain: last.chain,
        replid: s.header.replid,
        offset: s.header.end,
        prev: s.sha256,
        db: reader.state.db,
      },
      chains: last.chain,
    };
  } catch (err) {
    log.error("the newest segment cannot be read back; beginning a new chain", {
      key: tail.key,
      error: (err as Error).message,
    });
    return { chains: last.chain };
  }
}

/** The most segments a stream writes at once (`--upload-concurrency`'s maximum). */
export const MAX_UPLOADS = 16;

/**
 * The chain's last segment, checked; undefined when segments were written past one that never landed
 * (a stream stopped while the bucket refused it: up to MAX_UPLOADS - 1 of them, after the hole).
 * The chain cannot continue over such a hole, so a new chain begins.
 */
async function contiguousTail(
  at: StoreLocation,
  segments: { key: string }[],
  chainStart: number,
): Promise<Segment | undefined> {
  const window = segments.slice(-(MAX_UPLOADS + 1));
  // Walked back from the newest; before the window's first the chain's start, when it is the first.
  const links: { header: Pick<SegmentHeader, "start" | "end" | "prev">; sha256: string | null }[] = [];
  let tail: Segment | undefined;
  for (const { key } of [...window].reverse()) {
    const s = await readSegment(at, key);
    tail ??= s;
    links.push({ header: s.header, sha256: s.sha256 }); // not the payload: up to 17 of 8 MiB
  }
  if (window.length === segments.length)
    links.push({ header: { start: chainStart, end: chainStart, prev: null }, sha256: null });
  for (let i = 1; i < links.length; i++) {
    const [after, before] = [links[i - 1], links[i]];
    if (after.header.start !== before.header.end || after.header.prev !== before.sha256) {
      log.error("gap: segments were written past one that never landed; beginning a new chain", {
        missingFrom: before.header.end,
        writtenAt: after.header.start,
        needsNewBase: true,
      });
      return undefined;
    }
  }
  return tail;
}

/** Runs the stream until `signal` aborts it. */
export async function streamRedis(o: StreamOptions): Promise<void> {
  let { position, chains } = await resumePoint(o.at);
  log.info(
    "stream starting",
    position ? { continuesChain: position.chain, offset: position.offset } : { newChain: chains + 1 },
  );
  let delay = 500;
  while (!o.signal.aborted) {
    try {
      position = await oneLink(o, position, () => ++chains);
      delay = 500;
    } catch (err) {
      if (err instanceof LinkAuthError) throw err;
      log.warn("the replication link failed; trying again", { error: (err as Error).message, inMs: delay });
    }
    if (o.signal.aborted) break;
    await new Promise((r) => {
      const t = setTimeout(r, delay);
      o.signal.addEventListener("abort", () => {
        clearTimeout(t);
        r(undefined);
      });
    });
    delay = Math.min(delay * 2, 5000);
  }
  log.info("stream stopped", position ? { chain: position.chain, offset: position.offset } : {});
}

/** One link: discover the primary, sync, stream until the link ends; resolves to the durable position. */
async function oneLink(
  o: StreamOptions,
  position: ChainPosition | undefined,
  nextChain: () => number,
): Promise<ChainPosition | undefined> {
  const topology = await discoverTopology(o.sentinels, o.masterName, o.sentinelCredentials);
  const primary = topology.primary;
  const { link, reply } = await ReplicaLink.open(
    primary,
    o.redisCredentials,
    position ? { replid: position.replid, offset: position.offset } : undefined,
    o.stallMs,
  );
  try {
    if (reply.kind === "full") {
      const cause: ChainCause = position ? "full-resync" : "first";
      if (position)
        log.error("gap: the primary cannot continue the stream; a new base and chain begin", {
          primary: formatAddress(primary),
          heldOffset: position.offset,
          needsNewBase: true,
        });
      if (position && o.metrics) o.metrics.gaps++;
      const chain = nextChain();
      const base = await commitStreamBase(o.at, link, reply, { masterName: o.masterName, primary });
      await putChainRecord(o.at, {
        format: "holdfast.redis-stream-chain/1",
        chain,
        replid: reply.replid,
        offset: reply.offset,
        base,
        startedAt: new Date().toISOString(),
        cause,
      });
      log.info("chain begun", { chain, base, replid: reply.replid, offset: reply.offset, cause });
      position = { chain, replid: reply.replid, offset: reply.offset, prev: null, db: -1 };
    } else {
      if (reply.replid !== position!.replid)
        log.info("continuing on a new primary", {
          primary: formatAddress(primary),
          replid: reply.replid,
          offset: position!.offset,
        });
      position = { ...position!, replid: reply.replid };
    }
    return await pump(o, link, position);
  } finally {
    link.close();
  }
}

/** Streams one link's commands into segments until the link ends or the stream is stopped. */
async function pump(o: StreamOptions, link: ReplicaLink, from: ChainPosition): Promise<ChainPosition> {
  const m = o.metrics;
  const writer = new SegmentWriter(
    o.at,
    from,
    o.limits,
    (s) => {
      if (m) {
        m.lastDurableAt = s.durableAt;
        m.durableOffset = s.header.end;
      }
      o.onDurable?.(s);
    },
    (p) => link.pause(p),
  );
  if (m) {
    m.linkUp = true;
    m.durableOffset = from.offset;
    m.oldestPendingAt = () => writer.oldestPending();
  }
  let watch: NodeJS.Timeout | undefined;
  const why = await new Promise<string>((resolve) => {
    link.stream(
      { data: (piece, at) => writer.add(piece, at), ended: (w) => resolve(w) },
      () => writer.durable.offset,
    );
    o.signal.addEventListener("abort", () => resolve("stopped"));
    watch = setInterval(() => {
      if (writer.error) resolve(writer.error.message);
    }, 200);
  });
  clearInterval(watch);
  if (m) m.linkUp = false;
  link.close();
  const at = await writer.finish();
  if (why !== "stopped") log.warn("the replication link ended", { why, durableOffset: at.offset });
  return at;
}
