// The store-generic commands: `holdfast list`, `verify`, `status`, `prune` and `drill`: their flags.
// The work is in commands.ts, loaded when one runs.
import type { FlagSpecs } from "../cli/args";
import type { Command } from "../cli/command";
import { PUSH_FLAGS } from "../metrics/flags";
import { JSON_FLAG, LOCATION_FLAGS, RETENTION_FLAGS } from "../store/flags";

/** The stores a backup bucket holds (storeModules in stores.ts; a test keeps them equal). */
export const STORE_KINDS = ["redis", "lancedb"] as const;

const STORE_FLAG: FlagSpecs = {
  store: {
    type: "enum",
    choices: STORE_KINDS,
    repeatable: true,
    help: `which stores (${STORE_KINDS.join(", ")}); repeatable; default every one`,
  },
};

const VERIFY_FLAGS: FlagSpecs = {
  "scratch-dir": {
    type: "string",
    help: "where to download and load the backup (needs its size free twice over); default a temporary folder",
  },
  "redis-server": {
    type: "string",
    env: "HOLDFAST_REDIS_SERVER",
    help: "redis-server binary for the verification load (default from PATH)",
  },
};

/** Whether verify and drill take in the Redis stream (continuous protection) too. */
const STREAM_FLAG = (choices: string[], help: string): FlagSpecs => ({
  stream: { type: "enum", choices, default: "auto", help },
});

const MAX_LAG_FLAG: FlagSpecs = {
  "max-lag": {
    type: "duration",
    default: "5m",
    help: "when the bucket holds a Redis stream: its newest durable command must be younger than this",
  },
};

const MAX_AGE_FLAG: FlagSpecs = {
  "max-age": {
    type: "duration",
    default: "24h",
    help: "the newest backup must be younger than this (30m, 24h, 7d)",
  },
};

/** The module that runs these commands, loaded on first use (require: tsx keeps import() native). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = async (): Promise<typeof import("./commands")> => require("./commands");

/** `holdfast list`; `stack list` runs it on a stack's bucket. */
export const listSpec: Command = {
  words: ["list"],
  summary:
    "list the backups: id, time, age, size, keys or rows, reason; damaged ones marked, with what is wrong",
  flags: { ...LOCATION_FLAGS, ...STORE_FLAG, ...JSON_FLAG },
  load: async () => (await load()).runList,
};

const verify: Command = {
  words: ["verify"],
  summary:
    "check a backup end to end: integrity, then a full restore into a scratch folder, loaded and compared",
  flags: {
    backup: {
      type: "string",
      default: "latest",
      help: "the backup id, or latest (each store's newest committed, undamaged backup)",
    },
    ...LOCATION_FLAGS,
    ...STORE_FLAG,
    ...STREAM_FLAG(
      ["auto", "only", "skip"],
      "auto: with Redis, also check every segment of the newest stream chain (hash, previous hash, offsets) when the bucket holds one; only: the chain alone, no backup downloaded; skip: backups only",
    ),
    ...VERIFY_FLAGS,
    ...JSON_FLAG,
  },
  load: async () => (await load()).runVerify,
};

/** `holdfast status`; `stack status` runs it on a stack's bucket. */
export const statusSpec: Command = {
  words: ["status"],
  summary:
    "exit 1 when a store's newest backup is older than --max-age (alert: no backup in 24 hours) or the Redis stream lags more than --max-lag",
  flags: { ...LOCATION_FLAGS, ...STORE_FLAG, ...MAX_AGE_FLAG, ...MAX_LAG_FLAG, ...JSON_FLAG },
  load: async () => (await load()).runStatus,
};

const prune: Command = {
  words: ["prune"],
  summary: "apply retention: keep the newest N whatever their age, then one per day, week and month",
  flags: {
    ...LOCATION_FLAGS,
    ...STORE_FLAG,
    ...RETENTION_FLAGS,
    "dry-run": { type: "boolean", default: false, help: "print what would be deleted, delete nothing" },
    ...JSON_FLAG,
  },
  load: async () => (await load()).runPrune,
};

const drill: Command = {
  words: ["drill"],
  summary:
    "the monthly restore test: verify each store's latest backup (newest committed, undamaged) and, with a Redis stream, restore to its newest durable moment; report, with ages and restore times",
  flags: {
    ...LOCATION_FLAGS,
    ...STORE_FLAG,
    ...MAX_AGE_FLAG,
    ...STREAM_FLAG(
      ["auto", "skip"],
      "auto: with Redis and a stream in the bucket, also replay the newest chain to its newest durable command into a throw-away server of the base's engine and load the result; skip: backups only",
    ),
    ...VERIFY_FLAGS,
    ...PUSH_FLAGS,
    ...JSON_FLAG,
  },
  load: async () => (await load()).runDrill,
};

/** The store-generic commands. */
export const backupStoreCommands: Command[] = [listSpec, verify, statusSpec, prune, drill];
