// Continuous protection: `holdfast stream redis` and `holdfast timeline`: their flags. The work is in
// commands.ts, loaded when one runs.
import type { Command } from "../cli/command";
import { SENTINEL_FLAG } from "../redis-pod/specs";
import { JSON_FLAG, LOCATION_FLAGS } from "../store/flags";

/** The module that runs these commands, loaded on first use (require: tsx keeps import() native). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = async (): Promise<typeof import("./commands")> => require("./commands");

const stream: Command = {
  words: ["stream", "redis"],
  summary:
    "join the Sentinel set as a replica and ship its replication stream to the bucket, second by second",
  flags: {
    ...SENTINEL_FLAG,
    "master-name": {
      type: "string",
      required: true,
      help: "the name the sentinels monitor the primary under",
    },
    ...LOCATION_FLAGS,
    "segment-time": {
      type: "duration",
      min: 1,
      default: "1s",
      help: "close a segment once its oldest byte is this old",
    },
    "segment-size": {
      type: "bytes",
      min: 1,
      default: "8MiB",
      help: "close a segment once this much waits",
    },
    "upload-concurrency": {
      type: "integer",
      min: 1,
      max: 16, // MAX_UPLOADS in streamer.ts
      default: "4",
      help: "segments written to the bucket at once (the durable position still moves only over a gap-free run of them)",
    },
    "max-buffered": {
      type: "bytes",
      min: 1048576,
      default: "32MiB",
      help: "stop reading from the primary while this many bytes of segments wait for the bucket (the stream's memory: about 80MiB plus this plus one segment)",
    },
    "stall-timeout": {
      type: "duration",
      min: 1,
      default: "60s",
      help: "a primary that sends nothing (not even its pings) for this long is dropped",
    },
    "metrics-port": {
      type: "integer",
      min: 0,
      max: 65535,
      default: "0",
      help: "serve the lag and position on GET /metrics of this port; 0: no endpoint",
    },
  },
  load: async () => (await load()).runStreamRedis,
};

const timeline: Command = {
  words: ["timeline"],
  summary: "show which times the Redis stream can restore to: intervals, bases, gaps, lag",
  flags: {
    store: {
      type: "enum",
      choices: ["redis"],
      default: "redis",
      help: "the store (only Redis is streamed)",
    },
    ...LOCATION_FLAGS,
    ...JSON_FLAG,
  },
  load: async () => (await load()).runTimeline,
};

/** The commands of continuous protection. */
export const redisStreamCommands: Command[] = [stream, timeline];
