// The continuous-protection commands: `stream redis` (the long-running replica that ships the
// replication stream to the bucket) and `timeline` (what can be restored to which second).
import { byteSize, durationMs, optStr, str, type Flags } from "../cli/args";
import type { Command } from "../cli/command";
import { UsageError } from "../cli/errors";
import { log } from "../cli/log";
import { credentialsFromEnv, parseAddresses } from "../redis/client";
import { DiscoveryError } from "../redis-backup/backup/discovery";
import { LOCATION_FLAGS } from "../store/flags";
import { StreamMetrics } from "./metrics";
import { openLocation } from "../store/location";
import { LinkAuthError } from "./replica-link";
import { streamRedis } from "./streamer";
import { timelineCommand } from "./timeline-command";

function positive(flags: Flags, name: string, parse: (v: string) => number): number {
  const v = parse(str(flags, name));
  if (!(v > 0)) throw new UsageError(`--${name} must be more than zero`);
  return v;
}

const streamCommand: Command = {
  words: ["stream", "redis"],
  summary:
    "join the Sentinel set as a replica and ship its replication stream to the bucket, second by second",
  flags: {
    sentinel: { type: "string", help: "every sentinel as HOST:PORT, comma-separated" },
    "master-name": { type: "string", help: "the name the sentinels monitor the primary under" },
    ...LOCATION_FLAGS,
    "segment-time": {
      type: "string",
      default: "1s",
      help: "close a segment once its oldest byte is this old; default 1s",
    },
    "segment-size": {
      type: "string",
      default: "8MiB",
      help: "close a segment once this much waits; default 8MiB",
    },
    "stall-timeout": {
      type: "string",
      default: "60s",
      help: "a primary that sends nothing (not even its pings) for this long is dropped; default 60s",
    },
    "metrics-port": {
      type: "string",
      default: "0",
      help: "serve the lag and position on GET /metrics of this port; 0 (default): no endpoint",
    },
  },
  async run(flags) {
    const sentinel = optStr(flags, "sentinel");
    const masterName = optStr(flags, "master-name");
    if (!sentinel) throw new UsageError("missing --sentinel (or HOLDFAST_SENTINEL)");
    if (!masterName) throw new UsageError("missing --master-name (or HOLDFAST_MASTER_NAME)");
    const sentinels = parseAddresses(sentinel, "--sentinel");
    const segmentMs = positive(flags, "segment-time", (v) => durationMs(v, "--segment-time"));
    const segmentBytes = positive(flags, "segment-size", (v) => byteSize(v, "segment-size"));
    const stallMs = positive(flags, "stall-timeout", (v) => durationMs(v, "--stall-timeout"));
    const metricsPort = Number(str(flags, "metrics-port"));
    if (!/^\d+$/.test(str(flags, "metrics-port")) || metricsPort > 65535)
      throw new UsageError(`--metrics-port must be a port, got "${str(flags, "metrics-port")}"`);
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
        limits: { segmentMs, segmentBytes },
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
  },
};

/** The commands of continuous protection. */
export const redisStreamCommands: Command[] = [streamCommand, timelineCommand];
