// The continuous-protection commands (flags in specs.ts): `stream redis` (the long-running replica that
// ships the replication stream to the bucket) and `timeline` (what can be restored to which second).
import { list, num, str } from "../cli/args";
import type { RunCommand } from "../cli/command";
import { UsageError } from "../cli/errors";
import { log } from "../cli/log";
import { credentialsFromEnv, parseAddresses } from "../redis/client";
import { DiscoveryError } from "../redis-backup/backup/discovery";
import { StreamMetrics } from "./metrics";
import { openLocation } from "../store/location";
import { LinkAuthError } from "./replica-link";
import { streamRedis } from "./streamer";

/** `holdfast stream redis`: runs until SIGTERM or SIGINT, then writes what is buffered. */
export const runStreamRedis: RunCommand = async (flags) => {
  const sentinels = parseAddresses(list(flags, "sentinel").join(","), "--sentinel");
  const masterName = str(flags, "master-name");
  const segmentMs = num(flags, "segment-time");
  const segmentBytes = num(flags, "segment-size");
  const uploads = num(flags, "upload-concurrency");
  const maxBuffered = num(flags, "max-buffered");
  const stallMs = num(flags, "stall-timeout");
  const metricsPort = num(flags, "metrics-port");
  const at = await openLocation(flags);
  const metrics = new StreamMetrics();
  const endpoint = metricsPort > 0 ? await metrics.serve(metricsPort) : undefined;
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const)
    process.once(sig, () => {
      log.info("stopping: writing what is buffered", { signal: sig });
      stop.abort();
    });
  try {
    await streamRedis({
      sentinels,
      masterName,
      sentinelCredentials: credentialsFromEnv("SENTINEL"),
      redisCredentials: credentialsFromEnv("REDIS"),
      at,
      limits: { segmentMs, segmentBytes, uploads, maxBuffered },
      stallMs,
      signal: stop.signal,
      metrics,
      onDurable: (s) =>
        log.info("segment durable", {
          key: s.key,
          bytes: s.header.end - s.header.start,
          end: s.header.end,
          lagMs: s.durableAt - s.header.firstAt,
        }),
    });
  } catch (err) {
    if (err instanceof LinkAuthError || err instanceof DiscoveryError) throw new UsageError(err.message);
    throw err;
  } finally {
    endpoint?.close();
  }
  return 0;
};

export { runTimeline } from "./timeline-command";
