// `holdfast backup lancedb` and `holdfast restore lancedb`: parse flags, check the bucket, run
// takeSnapshot / restoreSnapshot, print a summary (JSON with --json).
import * as path from "path";
import { backupStoreLayout } from "../../../core/store-layout";
import { durationMs, list, str, type Flags } from "../../cli/args";
import type { Command } from "../../cli/command";
import { UsageError } from "../../cli/errors";
import { log } from "../../cli/log";
import { PUSH_FLAGS, pushTarget, withBackupOutcome } from "../../metrics/report";
import { EXAMPLE_ID } from "../../store/backup-id";
import type { StoreLocation } from "../../store/catalog";
import { checkBucket, s3FromEnv } from "../../store/s3";
import { S3_TIMEOUT_FLAG, s3Timeout } from "../../store/flags";
import { takeSnapshot } from "./backup";
import { DEFAULT_GC_GRACE_MS, GC_GRACE_ENV } from "./prune";
import { restoreSnapshot } from "./restore";
import { DEFAULT_TRANSFER, type TransferSettings } from "./transfer";

const storeFlags = {
  bucket: { type: "string", required: true, help: "backup bucket" },
  prefix: {
    type: "string",
    required: true,
    help: "the stack's key prefix in the bucket (stack output backup.prefix; the stack name by default)",
  },
  concurrency: {
    type: "string",
    default: String(DEFAULT_TRANSFER.concurrency),
    help: "S3 requests in flight",
  },
  json: { type: "boolean", help: "print the summary as JSON on stdout" },
  ...S3_TIMEOUT_FLAG,
} as const;

/** Where the backups are, from --bucket and --prefix, after checking the bucket can be used. */
export async function storeLocation(flags: Flags): Promise<StoreLocation> {
  const bucket = str(flags, "bucket");
  const prefix = str(flags, "prefix");
  let layout;
  try {
    layout = backupStoreLayout(prefix);
  } catch (err) {
    throw new UsageError(`--prefix: ${(err as Error).message}`);
  }
  const client = s3FromEnv(process.env, s3Timeout(flags));
  await checkBucket(client, bucket);
  return { client, bucket, prefix: layout.root.replace(/\/$/, ""), layout };
}

function transferFrom(flags: Flags): TransferSettings {
  const n = Number(str(flags, "concurrency"));
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new UsageError(`--concurrency must be 1..64, got "${flags.concurrency}"`);
  return { ...DEFAULT_TRANSFER, concurrency: n };
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** `  tags current=5, first=1` (each kept with the version it names), or nothing. */
function describeTags(tags: Record<string, number> | undefined): string {
  const entries = Object.entries(tags ?? {});
  return entries.length === 0 ? "" : `  tags ${entries.map(([n, v]) => `${n}=${v}`).join(", ")}`;
}

const backupCommand: Command = {
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
      type: "string",
      default: "24h",
      env: GC_GRACE_ENV,
      help: "prune grace period (same value as the prune job's); the backup must finish within half of it",
    },
    "allow-empty": { type: "boolean", help: "record a snapshot even when the directory holds no table" },
    ...PUSH_FLAGS,
  },
  async run(flags) {
    const dataDir = str(flags, "data-dir");
    const transfer = transferFrom(flags);
    const graceMs = flags["gc-grace"]
      ? durationMs(str(flags, "gc-grace"), "--gc-grace")
      : DEFAULT_GC_GRACE_MS;
    const target = pushTarget(flags);
    // The database label: the data directory as the snapshot record names it, as the drill reads it.
    const outcome = await withBackupOutcome(
      target,
      { store: "lancedb", database: path.resolve(dataDir) },
      async () =>
        takeSnapshot({
          at: await storeLocation(flags),
          dataDir,
          reason: str(flags, "reason"),
          graceMs,
          allowEmpty: flags["allow-empty"] === true,
          transfer,
        }),
      (o) => ({
        sizeBytes: o.tables.reduce((n, t) => n + t.bytes, 0),
        uploadedBytes: o.uploaded.bytes,
        items: o.tables.reduce((n, t) => n + t.rows, 0),
        tableVersions: Object.fromEntries(o.tables.map((t) => [t.name, t.version])),
      }),
    );
    log.info("snapshot committed", { snapshot: outcome.id, record: outcome.recordKey });
    if (flags.json) process.stdout.write(JSON.stringify(outcome, null, 2) + "\n");
    else {
      for (const t of outcome.tables)
        process.stdout.write(
          `${t.name.padEnd(24)} version ${String(t.version).padEnd(6)} ${String(t.rows).padStart(10)} rows  ${String(t.files).padStart(5)} files  sent ${mb(t.uploadedBytes)}` +
            `${describeTags(t.tags)}\n`,
        );
      process.stdout.write(
        `snapshot ${outcome.id}: sent ${outcome.uploaded.files} files (${mb(outcome.uploaded.bytes)}), reused ${outcome.reused.files} (${mb(outcome.reused.bytes)}) in ${(outcome.durationMs / 1000).toFixed(1)} s\n`,
      );
    }
  },
};

const restoreCommand: Command = {
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
      multiple: true,
      help: "TABLE=VERSION or TABLE=TAG: restore that table at an older version the snapshot keeps (one a tag names), made its current version; repeatable",
    },
    ...storeFlags,
  },
  async run(flags) {
    const dataDir = str(flags, "data-dir");
    const transfer = transferFrom(flags);
    const at = await storeLocation(flags);
    const outcome = await restoreSnapshot({
      at,
      backup: str(flags, "backup"),
      dataDir,
      transfer,
      tableVersions: list(flags, "table-version"),
    });
    log.info("snapshot restored", {
      snapshot: outcome.id,
      dataDir: outcome.dataDir,
      aside: outcome.asideDir,
    });
    if (flags.json) process.stdout.write(JSON.stringify(outcome, null, 2) + "\n");
    else {
      for (const t of outcome.tables)
        process.stdout.write(
          `${t.name.padEnd(24)} version ${String(t.found?.version).padEnd(6)} ${String(t.found?.rows).padStart(10)} rows  ok` +
            (t.madeCurrent ? `  (version ${t.madeCurrent} made current)` : "") +
            `${describeTags(t.tags)}\n`,
        );
      process.stdout.write(
        `snapshot ${outcome.id} restored into ${outcome.dataDir}: ${outcome.files} files (${mb(outcome.bytes)}) checked` +
          (outcome.asideDir ? `; previous content kept in ${outcome.asideDir}\n` : "\n"),
      );
    }
  },
};

/** The LanceDB backup commands. */
export const lancedbBackupCommands: Command[] = [backupCommand, restoreCommand];
