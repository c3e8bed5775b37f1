// `holdfast backup redis` (flags in specs.ts): map each failure to its exit code (bad input 2, failure 1
// with what is left behind) and print the outcome; the work is in backup/ (replication-backup.ts,
// data-dir-backup.ts). `restore redis` is in restore-command.ts.
import { hostPort, list, num, optNum, optStr, str } from "../cli/args";
import type { RunCommand } from "../cli/command";
import { OperationError, UsageError } from "../cli/errors";
import { log } from "../cli/log";
import { formatBytes, formatDuration } from "../cli/format";
import { openLocation } from "../store/location";
import { pushTarget, withBackupOutcome } from "../metrics/report";
import { credentialsFromEnv, parseAddresses } from "../redis/client";
import { datasetNames, directory } from "./command-flags";
import { BackupFailedError, backupRedis, type FailedAttempt } from "./backup/replication-backup";
import { backupDataDir, BgsaveDeniedError, NodeUnreachableError } from "./backup/data-dir-backup";
import { DiscoveryError, type SourcePreference } from "./backup/discovery";
import { type RedisBackupManifest, summarize } from "./manifest";
import { ReplicationAuthError } from "./replication/stream";

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

/** `holdfast backup redis`. */
export const runBackupRedis: RunCommand = async (flags) => {
  const dataDir = optStr(flags, "data-dir");
  const sentinel = list(flags, "sentinel").join(",");
  const masterName = optStr(flags, "master-name");
  if (!dataDir && !sentinel) throw new UsageError("missing --sentinel (or HOLDFAST_SENTINEL), or --data-dir");
  if (!dataDir && !masterName) throw new UsageError("missing --master-name (or HOLDFAST_MASTER_NAME)");
  const source = str(flags, "source") as SourcePreference;
  const partSize = optNum(flags, "part-size");
  if (partSize !== undefined && partSize < 5 * 1024 * 1024)
    throw new UsageError("--part-size must be at least 5MiB (S3's minimum)");
  const upload = {
    partSize,
    concurrency: num(flags, "upload-concurrency"),
  };
  const patterns = list(flags, "pattern");
  const reason = str(flags, "reason");
  // Every flag is checked before the backup starts: bad input is exit 2, and pushes no failure.
  const dir = dataDir ? directory(dataDir, "data-dir") : undefined;
  const names = datasetNames(flags);
  const redis = hostPort(str(flags, "redis"), "--redis");
  const sentinels = sentinel ? parseAddresses(sentinel, "--sentinel") : [];
  const attempts = num(flags, "attempts");
  const stallTimeoutMs = num(flags, "stall-timeout");
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
          source,
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
};
