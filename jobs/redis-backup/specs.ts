// `holdfast backup redis` and `holdfast restore redis`: their flags. The work is in commands.ts,
// loaded when one runs.
import type { FlagSpecs } from "../cli/args";
import type { Command } from "../cli/command";
import { PUSH_FLAGS } from "../metrics/flags";
import { SENTINEL_FLAG } from "../redis-pod/specs";
import { EXAMPLE_ID } from "../store/backup-id";
import { JSON_FLAG, LOCATION_FLAGS } from "../store/flags";
import { DEFAULT_NAMES } from "./aof-layout";

/** Parts uploaded at once by default (DEFAULT_CONCURRENCY in transfer/upload.ts; a test keeps them equal). */
export const DEFAULT_UPLOAD_CONCURRENCY = 3;

const UPLOAD_FLAGS: FlagSpecs = {
  "part-size": {
    type: "bytes",
    none: "auto",
    default: "auto",
    help: "bytes per multipart upload part, at least 5MiB; auto: 8MiB, more for datasets over 39 GiB (memory: part size x (concurrency + 1))",
  },
  "upload-concurrency": {
    type: "integer",
    min: 1,
    default: String(DEFAULT_UPLOAD_CONCURRENCY),
    help: `parts uploaded at once`,
  },
};

const NAME_FLAGS: FlagSpecs = {
  appendfilename: {
    type: "string",
    default: DEFAULT_NAMES.appendFilename,
    help: "redis.conf appendfilename",
  },
  appenddirname: { type: "string", default: DEFAULT_NAMES.appendDirname, help: "redis.conf appenddirname" },
  dbfilename: { type: "string", default: DEFAULT_NAMES.dbFilename, help: "redis.conf dbfilename" },
};

/** The module that runs these commands, loaded on first use (require: tsx keeps import() native). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = async (): Promise<typeof import("./commands")> => require("./commands");
/** The restore's module, apart: a restore loads nothing of the backup. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadRestore = async (): Promise<typeof import("./restore-command")> => require("./restore-command");

const backup: Command = {
  words: ["backup", "redis"],
  summary: "stream an RDB snapshot of a Sentinel-replicated Redis into the bucket, checked, manifest last",
  flags: {
    ...SENTINEL_FLAG,
    sentinel: {
      ...SENTINEL_FLAG.sentinel,
      required: false,
      help: "a sentinel of the set; repeatable, or comma-separated (not with --data-dir)",
    },
    "master-name": { type: "string", help: "the name the sentinels monitor the primary under" },
    ...LOCATION_FLAGS,
    source: {
      type: "enum",
      choices: ["replica", "primary"],
      default: "replica",
      help: "replica (default): the healthiest replica, the primary only if none is healthy; primary: the primary",
    },
    pattern: {
      type: "string",
      repeatable: true,
      help: "a key pattern (Redis glob) whose key count the manifest records; repeatable",
    },
    reason: {
      type: "string",
      default: "manual",
      help: "why the backup is taken: scheduled, pre-training, manual (default), ...",
    },
    attempts: {
      type: "integer",
      min: 1,
      default: "3",
      help: "nodes to try when one fails mid-stream",
    },
    "stall-timeout": {
      type: "duration",
      default: "60s",
      help: "a source sending nothing for this long has failed",
    },
    ...UPLOAD_FLAGS,
    "data-dir": {
      type: "string",
      help: "back up this mounted Redis data directory after BGSAVE instead (sidecar)",
    },
    redis: {
      type: "string",
      default: "127.0.0.1:6379",
      value: "HOST:PORT",
      help: "with --data-dir: the node that owns it, for BGSAVE",
    },
    "skip-bgsave": {
      type: "boolean",
      default: false,
      help: "with --data-dir: back up the dump.rdb that is there, no BGSAVE",
    },
    ...NAME_FLAGS,
    ...PUSH_FLAGS,
    ...JSON_FLAG,
  },
  load: async () => (await load()).runBackupRedis,
};

const restore: Command = {
  words: ["restore", "redis"],
  summary:
    "restore a backup into a Redis data directory (Redis stopped), verified by a throw-away redis-server or, with --verify serving, by the load of the redis-server it starts to serve it",
  flags: {
    backup: {
      type: "string",
      help: `the backup id (${EXAMPLE_ID}) or latest (the newest committed, undamaged backup); one of --backup, --to-time, --to-offset`,
    },
    "to-time": {
      type: "string",
      value: "RFC3339",
      help: "restore the dataset as it was at this time (e.g. 2026-01-15T12:00:00.250Z): the newest base before it (a backup inside the stream's chain, else the chain's own) and the replayed stream (see holdfast timeline)",
    },
    "to-offset": {
      type: "integer",
      min: 0,
      help: "restore the dataset as it was at this replication offset (the last whole command ending at or before it)",
    },
    "data-dir": {
      type: "string",
      required: true,
      help: "the Redis data directory (the pod's volume, /data)",
    },
    ...LOCATION_FLAGS,
    appendonly: {
      type: "enum",
      choices: ["yes", "no"],
      default: "yes",
      help: "yes (default): lay the dataset out as the AOF Redis loads with appendonly yes; no: dump.rdb only",
    },
    ...NAME_FLAGS,
    "redis-server": {
      type: "string",
      default: "redis-server",
      help: "redis-server binary for the verification load (with --verify serving: the server left serving)",
    },
    "load-module": {
      type: "string",
      repeatable: true,
      help: "a module the verification load needs (--loadmodule); repeatable",
    },
    verify: {
      type: "enum",
      choices: ["concurrent", "layout", "serving"],
      default: "concurrent",
      help: "concurrent (default): a throw-away redis-server loads the RDB while it downloads; layout: after the download, it loads the files laid out as they will be placed (slower); serving: no throw-away load: the restore starts the redis-server that serves the directory, its first load is the verification, and a failed load or check puts the previous dataset back; for a point (appendonly yes) the base and the stream up to the cut are placed as its AOF and loaded once, with no replay",
    },
    "serve-port": {
      type: "integer",
      min: 1,
      max: 65535,
      default: "6379",
      help: "with --verify serving: the port the restored redis-server serves on, opened once its load is checked and the RDB is on disk",
    },
    "serve-config": {
      type: "string",
      value: "FILE",
      help: "with --verify serving: the redis.conf the restored redis-server starts with (the restore sets its dir, appendonly and file names, port 0 until checked, rdbchecksum yes)",
    },
    "load-timeout": {
      type: "duration",
      default: "1h",
      help: "bound on loading the dataset for verification",
    },
    "dry-run": {
      type: "boolean",
      default: false,
      help: "say which backup would be restored (for a point: the base and segments, every one checked) and what would be moved aside; download and touch nothing",
    },
    ...JSON_FLAG,
  },
  load: async () => (await loadRestore()).runRestoreRedis,
  // A restore leaves nothing running here (a serving server runs in its own session).
  exitOnReturn: true,
};

/** The Redis backup and restore commands. */
export const redisBackupCommands: Command[] = [backup, restore];
