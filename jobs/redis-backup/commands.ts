// `holdfast backup redis` and `holdfast restore redis`: parse the flags, map each failure to its exit
// code (bad input 2, failure 1 with what is left behind) and print the outcome; the work is in
// backup/ (replication-backup.ts, data-dir-backup.ts) and restore/.
import * as fs from "fs";
import * as path from "path";
import { durationMs, type Flags, type FlagSpecs, hostPort, list, optStr, str } from "../cli/args";
import type { Command } from "../cli/command";
import { OperationError, UsageError } from "../cli/errors";
import { log } from "../cli/log";
import { byteSize, count, JSON_FLAG, LOCATION_FLAGS } from "../store/flags";
import { formatBytes, formatDuration } from "../cli/format";
import { openLocation } from "../store/location";
import { PUSH_FLAGS, pushTarget, withBackupOutcome } from "../metrics/report";
import { credentialsFromEnv, parseAddresses } from "../redis/client";
import { checkRequestedBackup, EXAMPLE_ID } from "../store/backup-id";
import { DEFAULT_NAMES, type DatasetNames } from "./aof-layout";
import { BackupFailedError, backupRedis, type FailedAttempt } from "./backup/replication-backup";
import { DEFAULT_CONCURRENCY } from "./transfer/upload";
import { backupDataDir, BgsaveDeniedError, NodeUnreachableError } from "./backup/data-dir-backup";
import { DiscoveryError, type SourcePreference } from "./backup/discovery";
import { DamagedBackupError, DownloadStalledError } from "./transfer/download";
import { ManifestError, type RedisBackupManifest, summarize } from "./manifest";
import { ReplicationAuthError } from "./replication/stream";
import { readRestoreState, restoreRedis, RestoreVerificationError, STAGING_DIR } from "./restore/restore";
import { ScratchServerError } from "./scratch/server";
import { scanRedisBackups } from "./store";
import { resolveBackup } from "../store/catalog";
import type { PointTarget } from "../redis-stream/point-plan";
import { pointError, pointTargetOf, POINT_FLAGS, printPointPlan } from "../redis-stream/point-flags";

const UPLOAD_FLAGS: FlagSpecs = {
  "part-size": {
    type: "string",
    default: "auto",
    help: "bytes per multipart upload part; auto: 8MiB, more for datasets over 39 GiB (memory: part size x (concurrency + 1))",
  },
  "upload-concurrency": {
    type: "string",
    default: String(DEFAULT_CONCURRENCY),
    help: `parts uploaded at once; default ${DEFAULT_CONCURRENCY}`,
  },
};

function whatIsLeft(attempts: FailedAttempt[], id?: string): string {
  const left = attempts.filter((a) => a.leftUpload).map((a) => a.leftUpload!);
  const base = `no manifest was written${id ? `, so backup ${id} does not exist` : ""}`;
  return left.length === 0
    ? `${base}; nothing was left in the bucket. Re-run the backup.`
    : `${base}; S3 could not be reached to abort the incomplete multipart upload ${left.join(", ")} ` +
        "(the bucket's lifecycle rule aborts it after a day). Re-run the backup.";
}

function report(m: RedisBackupManifest, json: boolean): void {
  const rdb = m.objects["dump.rdb"];
  if (json) {
    process.stdout.write(
      JSON.stringify({
        id: m.id,
        key: rdb.key,
        size: rdb.size,
        sha256: rdb.sha256,
        keys: m.dataset.keys,
        databases: Object.fromEntries(Object.entries(m.dataset.databases).map(([db, d]) => [db, d.keys])),
        patterns: m.dataset.patterns,
        source: m.source,
        reason: m.reason,
        durationMs: m.timings.totalMs,
      }) + "\n",
    );
    return;
  }
  const dbs = Object.keys(m.dataset.databases).length;
  const lines = [
    `backup ${m.id} committed: ${formatBytes(rdb.size)}, ${m.dataset.keys} keys in ${dbs} database${dbs === 1 ? "" : "s"}, ` +
      `from ${m.source.role} ${m.source.address} in ${formatDuration(m.timings.totalMs)}`,
    `  s3 key   ${rdb.key}`,
    `  sha256   ${rdb.sha256}`,
    ...Object.entries(m.dataset.patterns).map(([p, n]) => `  pattern  ${p}: ${n} keys`),
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

function datasetNames(flags: Record<string, unknown>): DatasetNames {
  const names = {
    appendFilename: String(flags.appendfilename),
    appendDirname: String(flags.appenddirname),
    dbFilename: String(flags.dbfilename),
  };
  for (const [flag, v] of Object.entries(names))
    if (!v || v.includes("/") || v === "." || v === "..")
      throw new UsageError(`--${flag.toLowerCase()} must be a file name, got "${v}"`);
  return names;
}

const NAME_FLAGS: FlagSpecs = {
  appendfilename: {
    type: "string",
    default: DEFAULT_NAMES.appendFilename,
    help: "redis.conf appendfilename",
  },
  appenddirname: { type: "string", default: DEFAULT_NAMES.appendDirname, help: "redis.conf appenddirname" },
  dbfilename: { type: "string", default: DEFAULT_NAMES.dbFilename, help: "redis.conf dbfilename" },
};

function directory(dir: string, flag: string): string {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new UsageError(`--${flag} ${dir} is not a directory`);
  return path.resolve(dir);
}

const backupCommand: Command = {
  words: ["backup", "redis"],
  summary: "stream an RDB snapshot of a Sentinel-replicated Redis into the bucket, checked, manifest last",
  flags: {
    sentinel: { type: "string", help: "every sentinel as HOST:PORT, comma-separated (not with --data-dir)" },
    "master-name": { type: "string", help: "the name the sentinels monitor the primary under" },
    ...LOCATION_FLAGS,
    source: {
      type: "string",
      default: "replica",
      help: "replica (default): the healthiest replica, the primary only if none is healthy; primary: the primary",
    },
    pattern: {
      type: "string",
      multiple: true,
      help: "a key pattern (Redis glob) whose key count the manifest records; repeatable",
    },
    reason: {
      type: "string",
      default: "manual",
      help: "why the backup is taken: scheduled, pre-training, manual (default), ...",
    },
    attempts: { type: "string", default: "3", help: "nodes to try when one fails mid-stream; default 3" },
    "stall-timeout": {
      type: "string",
      default: "60s",
      help: "a source sending nothing for this long has failed; default 60s",
    },
    ...UPLOAD_FLAGS,
    "data-dir": {
      type: "string",
      help: "back up this mounted Redis data directory after BGSAVE instead (sidecar)",
    },
    redis: {
      type: "string",
      default: "127.0.0.1:6379",
      help: "with --data-dir: the node that owns it, for BGSAVE; default 127.0.0.1:6379",
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
  async run(flags) {
    const dataDir = optStr(flags, "data-dir");
    const sentinel = optStr(flags, "sentinel");
    const masterName = optStr(flags, "master-name");
    if (!dataDir && !sentinel)
      throw new UsageError("missing --sentinel (or HOLDFAST_SENTINEL), or --data-dir");
    if (!dataDir && !masterName) throw new UsageError("missing --master-name (or HOLDFAST_MASTER_NAME)");
    const source = str(flags, "source");
    if (source !== "replica" && source !== "primary")
      throw new UsageError(`--source must be replica or primary, got "${source}"`);
    const partSize =
      str(flags, "part-size") === "auto" ? undefined : byteSize(str(flags, "part-size"), "part-size");
    if (partSize !== undefined && partSize < 5 * 1024 * 1024)
      throw new UsageError("--part-size must be at least 5MiB (S3's minimum)");
    const upload = {
      partSize,
      concurrency: count(str(flags, "upload-concurrency"), "upload-concurrency", 1),
    };
    const patterns = list(flags, "pattern");
    const reason = str(flags, "reason");
    // Every flag is checked before the backup starts: bad input is exit 2, and pushes no failure.
    const dir = dataDir ? directory(dataDir, "data-dir") : undefined;
    const names = datasetNames(flags);
    const redis = hostPort(str(flags, "redis"), "--redis");
    const sentinels = sentinel ? parseAddresses(sentinel, "--sentinel") : [];
    const attempts = count(str(flags, "attempts"), "attempts", 1);
    const stallTimeoutMs = durationMs(str(flags, "stall-timeout"), "--stall-timeout");
    const target = pushTarget(flags);
    // The database label: what the manifest records as the source, so the drill pushes the same one.
    const database = dir ?? masterName!;
    const manifest = await withBackupOutcome(
      target,
      { store: "redis", database },
      () => takeBackup(),
      (m) => {
        // A Redis backup sends every object it holds.
        const { sizeBytes } = summarize(m);
        return { sizeBytes, uploadedBytes: sizeBytes, items: m.dataset.keys };
      },
    );
    log.info("backup committed", {
      backup: manifest.id,
      keys: manifest.dataset.keys,
      bytes: manifest.objects["dump.rdb"].size,
    });
    report(manifest, Boolean(flags.json));

    async function takeBackup(): Promise<RedisBackupManifest> {
      const at = await openLocation(flags);
      let manifest: RedisBackupManifest;
      try {
        if (dir) {
          manifest = await backupDataDir({
            dataDir: dir,
            names,
            redis,
            credentials: credentialsFromEnv("REDIS"),
            bgsave: !flags["skip-bgsave"],
            client: at.client,
            bucket: at.bucket,
            layout: at.layout,
            patterns,
            reason,
            ...upload,
          });
        } else {
          manifest = await backupRedis({
            sentinels,
            masterName: masterName!,
            sentinelCredentials: credentialsFromEnv("SENTINEL"),
            redisCredentials: credentialsFromEnv("REDIS"),
            client: at.client,
            bucket: at.bucket,
            layout: at.layout,
            patterns,
            reason,
            source: source as SourcePreference,
            attempts,
            stallTimeoutMs,
            ...upload,
          });
        }
      } catch (err) {
        if (
          err instanceof DiscoveryError ||
          err instanceof ReplicationAuthError ||
          err instanceof BgsaveDeniedError ||
          err instanceof NodeUnreachableError
        )
          throw new UsageError(err.message);
        if (err instanceof BackupFailedError)
          throw new OperationError(
            err.message,
            err.uncommitted
              ? `the RDB at ${err.uncommitted} has no manifest, so no backup exists (prune removes it). Re-run the backup.`
              : whatIsLeft(err.attempts, err.id),
          );
        throw err;
      }
      return manifest;
    }
  },
};

const restoreCommand: Command = {
  words: ["restore", "redis"],
  summary:
    "restore a backup into a Redis data directory (Redis stopped), verified by a throw-away redis-server",
  flags: {
    backup: {
      type: "string",
      help: `the backup id (${EXAMPLE_ID}) or latest (the newest committed, undamaged backup); or --to-time / --to-offset`,
    },
    ...POINT_FLAGS,
    "data-dir": {
      type: "string",
      required: true,
      help: "the Redis data directory (the pod's volume, /data)",
    },
    ...LOCATION_FLAGS,
    appendonly: {
      type: "string",
      default: "yes",
      help: "yes (default): lay the dataset out as the AOF Redis loads with appendonly yes; no: dump.rdb only",
    },
    ...NAME_FLAGS,
    "redis-server": {
      type: "string",
      default: "redis-server",
      help: "redis-server binary for the verification load",
    },
    "load-module": {
      type: "string",
      multiple: true,
      help: "a module the verification load needs (--loadmodule); repeatable",
    },
    verify: {
      type: "string",
      default: "concurrent",
      help: "concurrent (default): a throw-away redis-server loads the RDB while it downloads; layout: after the download, it loads the files laid out as they will be placed (slower)",
    },
    "load-timeout": {
      type: "string",
      default: "1h",
      help: "bound on loading the dataset for verification; default 1h",
    },
    ...JSON_FLAG,
  },
  async run(flags) {
    const point = pointTargetOf(flags);
    const requested = optStr(flags, "backup");
    if (point && requested) throw new UsageError("give --backup, or --to-time / --to-offset, not both");
    if (!point && !requested) throw new UsageError("missing --backup (or --to-time / --to-offset)");
    const backup = point ? "" : checkRequestedBackup(requested!);
    if (flags["dry-run"]) return dryRun(flags, backup, point);
    const dataDir = directory(str(flags, "data-dir"), "data-dir");
    const appendonly = str(flags, "appendonly");
    if (appendonly !== "yes" && appendonly !== "no")
      throw new UsageError(`--appendonly must be yes or no, got "${appendonly}"`);
    try {
      fs.accessSync(dataDir, fs.constants.W_OK);
    } catch {
      throw new UsageError(`--data-dir ${dataDir} is not writable by this user`);
    }
    const names = datasetNames(flags);
    const verify = str(flags, "verify");
    if (verify !== "concurrent" && verify !== "layout")
      throw new UsageError(`--verify must be concurrent or layout, got "${verify}"`);
    const at = await openLocation(flags);
    const untouched = `${dataDir} was not touched.`;
    let outcome;
    try {
      outcome = await restoreRedis({
        at,
        backup,
        point,
        dataDir,
        appendonly: appendonly === "yes",
        names,
        redisServer: str(flags, "redis-server"),
        modules: list(flags, "load-module"),
        loadTimeoutMs: durationMs(str(flags, "load-timeout"), "--load-timeout"),
        verify,
      });
    } catch (err) {
      const state = readRestoreState(dataDir);
      const left = state
        ? `The restore of backup ${state.id} stopped at step ${state.phase}; the previous dataset is ${state.asideDir ? `in ${state.asideDir}` : "where it was"}. ` +
          "Re-run the same command to finish it."
        : untouched;
      if (err instanceof ScratchServerError && /cannot run/.test(err.message))
        throw new UsageError(err.message);
      // Before the dataset is moved aside nothing is left (`left` says the directory was not touched).
      if (err instanceof DamagedBackupError)
        throw new OperationError(
          err.message,
          state ? left : `${untouched} Restore another backup (holdfast list --store redis).`,
        );
      if (err instanceof DownloadStalledError)
        throw new OperationError(
          `the restore of backup ${err.id} stopped: ${err.reason}, while downloading its RDB`,
          state ? left : `${untouched} Re-run the same command once S3 answers again.`,
        );
      if (err instanceof RestoreVerificationError) throw new OperationError(err.message, left);
      if (err instanceof ScratchServerError) throw new OperationError(err.message, left);
      if (err instanceof ManifestError) throw new OperationError(err.message, left);
      if (err instanceof UsageError || err instanceof OperationError) throw err;
      const e = pointError(err);
      if (e !== err) throw e;
      throw new OperationError(`the restore failed: ${(err as Error).message}`, left);
    }
    const m = outcome.manifest;
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({
          id: outcome.id,
          dataDir,
          appendonly: appendonly === "yes",
          keys: outcome.keys,
          base: point ? m.id : undefined,
          asideDir: outcome.asideDir ?? null,
          resumed: outcome.resumed,
          checks: outcome.checks,
          timings: outcome.timings,
        }) + "\n",
      );
      return;
    }
    const lines = [
      `restored ${point ? `${outcome.id} (base ${m.id} and the stream)` : `backup ${outcome.id}`} into ${dataDir} (appendonly ${appendonly}${outcome.resumed ? ", finishing an interrupted restore" : ""})`,
      ...outcome.checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail ?? ""}`),
      outcome.asideDir
        ? `  the previous dataset is kept in ${outcome.asideDir}`
        : "  the directory held no dataset before",
      `  took ${formatDuration(outcome.timings.totalMs)} (download ${formatDuration(outcome.timings.downloadMs)}, verification ${formatDuration(outcome.timings.verifyMs)})`,
    ];
    process.stdout.write(lines.join("\n") + "\n");
  },
};

/** `restore redis --dry-run`: what would be restored, nothing touched. */
async function dryRun(flags: Flags, backup: string, point: PointTarget | undefined): Promise<void> {
  const at = await openLocation(flags);
  if (point) return printPointPlan(at, point, Boolean(flags.json));
  const { catalog } = await scanRedisBackups(at);
  const chosen = resolveBackup(catalog, backup);
  process.stdout.write(
    flags.json
      ? JSON.stringify({ backup: chosen.id }) + "\n"
      : `would restore backup ${chosen.id}; nothing was touched (dry run)\n`,
  );
}

/** The Redis backup and restore commands. */
export const redisBackupCommands: Command[] = [backupCommand, restoreCommand];

/** The staging folder name, for documentation and tests. */
export { STAGING_DIR };
