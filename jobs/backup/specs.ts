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
    ...VERIFY_FLAGS,
    ...JSON_FLAG,
  },
  load: async () => (await load()).runVerify,
};

/** `holdfast status`; `stack status` runs it on a stack's bucket. */
export const statusSpec: Command = {
  words: ["status"],
  summary: "exit 1 when a store's newest backup is older than --max-age (alert: no backup in 24 hours)",
  flags: { ...LOCATION_FLAGS, ...STORE_FLAG, ...MAX_AGE_FLAG, ...JSON_FLAG },
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
    "the monthly restore test: verify each store's latest backup (newest committed, undamaged) and report, with its age and restore time",
  flags: { ...LOCATION_FLAGS, ...STORE_FLAG, ...MAX_AGE_FLAG, ...VERIFY_FLAGS, ...PUSH_FLAGS, ...JSON_FLAG },
  load: async () => (await load()).runDrill,
};

/** The store-generic commands. */
export const backupStoreCommands: Command[] = [listSpec, verify, statusSpec, prune, drill];
