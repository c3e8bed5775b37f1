// `holdfast backup lancedb` and `holdfast restore lancedb`: their flags. The work is in commands.ts,
// loaded when one runs.
import type { FlagSpecs } from "../../cli/args";
import type { Command } from "../../cli/command";
import { PUSH_FLAGS } from "../../metrics/flags";
import { EXAMPLE_ID } from "../../store/backup-id";
import { JSON_FLAG, LOCATION_FLAGS } from "../../store/flags";

/** The transfer's default concurrency (DEFAULT_TRANSFER in transfer.ts; a test keeps them equal). */
export const DEFAULT_LANCEDB_CONCURRENCY = 8;

const storeFlags: FlagSpecs = {
  ...LOCATION_FLAGS,
  concurrency: {
    type: "integer",
    min: 1,
    max: 64,
    default: String(DEFAULT_LANCEDB_CONCURRENCY),
    help: "S3 requests in flight",
  },
  ...JSON_FLAG,
};

/** The module that runs these commands, loaded on first use (require: tsx keeps import() native). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = async (): Promise<typeof import("./commands")> => require("./commands");

const backup: Command = {
  words: ["backup", "lancedb"],
  summary:
    "snapshot every LanceDB table of a data directory to the bucket (incremental, while it is written)",
  flags: {
    "data-dir": {
      type: "string",
      required: true,
      help: "the LanceDB data directory (the app's /app/lancedb_data)",
    },
    ...storeFlags,
    reason: { type: "string", default: "manual", help: "why: scheduled, pre-training, manual..." },
    "gc-grace": {
      type: "duration",
      default: "24h",
      env: "HOLDFAST_GC_GRACE",
      help: "prune grace period (same value as the prune job's); the backup must finish within half of it",
    },
    "allow-empty": { type: "boolean", help: "record a snapshot even when the directory holds no table" },
    ...PUSH_FLAGS,
  },
  load: async () => (await load()).runBackupLanceDb,
};

const restore: Command = {
  words: ["restore", "lancedb"],
  summary: "restore a LanceDB snapshot into a data directory (previous content moved aside, never deleted)",
  flags: {
    backup: {
      type: "string",
      required: true,
      help: `snapshot id (${EXAMPLE_ID}) or latest (the newest committed, undamaged snapshot)`,
    },
    "data-dir": {
      type: "string",
      required: true,
      help: "the LanceDB data directory, which must exist and be writable; stop the application first",
    },
    "table-version": {
      type: "string",
      repeatable: true,
      value: "TABLE=VERSION",
      help: "TABLE=VERSION or TABLE=TAG: restore that table at an older version the snapshot keeps (one a tag names), made its current version; repeatable",
    },
    "dry-run": {
      type: "boolean",
      default: false,
      help: "say which snapshot would be restored where, and what would be moved aside; touch nothing",
    },
    ...storeFlags,
  },
  load: async () => (await load()).runRestoreLanceDb,
};

/** The LanceDB backup commands. */
export const lancedbBackupCommands: Command[] = [backup, restore];
