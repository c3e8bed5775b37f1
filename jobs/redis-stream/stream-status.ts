// What `status` says of the stream beside the Redis store's newest backup: the newest durable command
// and how far behind now it is (the lag), the chain it belongs to, and the times that cannot be restored
// to (the gaps of the timeline: a chain that began after a full resynchronisation). Read from the first
// and last segment of each chain, as the timeline is; `verify` reads every segment.
import type { StoreLocation } from "../store/catalog";
import { readTimeline, type Timeline, type TimelineGap } from "./timeline";

/** The stream as status reports it. */
export interface StreamStatus {
  /** The newest chain. */
  chain: number;
  /** Its base (a backup id). */
  base?: string;
  /** Restorable from (the base's moment), RFC 3339. */
  from?: string;
  /** The newest durable command, RFC 3339; absent before the first segment. */
  newest?: string;
  /** Seconds between now and `newest`. */
  lagSeconds?: number;
  segments: number;
  /** Times that cannot be restored to, oldest first. */
  gaps: TimelineGap[];
  /** Whether the lag is within --max-lag. */
  ok: boolean;
  problem?: string;
}

/** The status of a timeline (pure); undefined without a stream. */
export function statusOfTimeline(t: Timeline, maxLagMs: number): StreamStatus | undefined {
  const newest = t.chains[t.chains.length - 1];
  if (!newest) return undefined;
  const lag = t.lagSeconds;
  const problem =
    lag === undefined
      ? "the stream has made nothing durable yet"
      : lag * 1000 > maxLagMs
        ? `the newest durable command is ${lag} s old (more than --max-lag): is holdfast stream redis running?`
        : undefined;
  return {
    chain: newest.chain,
    base: newest.base,
    from: newest.from,
    newest: t.newest,
    lagSeconds: lag,
    segments: newest.segments,
    gaps: t.gaps,
    ok: problem === undefined,
    problem,
  };
}

/** The stream's status in the bucket; undefined when nothing was ever streamed there. */
export async function streamStatus(
  at: StoreLocation,
  maxLagMs: number,
  now = Date.now(),
): Promise<StreamStatus | undefined> {
  return statusOfTimeline(await readTimeline(at, now), maxLagMs);
}
