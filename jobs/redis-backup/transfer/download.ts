// Fetching a backup's RDB for a restore or a verification: streamed from S3 into a local file while
// the same single pass computes its SHA-256, checks its CRC-64 and scans it, then compared with what
// the manifest recorded. A damaged or mismatching download is an error before anything else happens.
import { GetObjectCommand } from "@aws-sdk/client-s3";
import * as fs from "fs";
import { SyncedFile } from "./synced-file";
import { Progress } from "./progress";
import type { StoreLocation } from "../../store/catalog";
import { describeS3Error, isS3Stall } from "../../store/s3-timeout";
import { RDB_OBJECT, type RedisBackupManifest } from "../manifest";
import { RdbCheck, RdbChecksumError, type RdbCheckResult } from "../rdb/check";
import { RdbFormatError, type RdbScanner } from "../rdb/scanner";

/** The stored RDB is not what the manifest describes (damaged, truncated, replaced). */
export class DamagedBackupError extends Error {
  constructor(
    readonly id: string,
    readonly problems: string[],
  ) {
    super(`backup ${id} is damaged: ${problems.join("; ")}`);
    this.name = "DamagedBackupError";
  }
}

/** S3 stopped answering while the RDB of backup `id` was downloading; nothing was placed. */
export class DownloadStalledError extends Error {
  constructor(
    readonly id: string,
    /** How S3 failed to answer. */
    readonly reason: string,
  ) {
    super(`${reason} while downloading the RDB of backup ${id}`);
    this.name = "DownloadStalledError";
  }
}

/** Differences between a checked RDB and its manifest, one line each. */
export function differences(result: RdbCheckResult, manifest: RedisBackupManifest): string[] {
  const rdb = manifest.objects[RDB_OBJECT];
  const problems: string[] = [];
  if (result.bytes !== rdb.size) problems.push(`${result.bytes} bytes, the manifest says ${rdb.size}`);
  if (result.sha256 !== rdb.sha256) problems.push(`sha256 ${result.sha256}, the manifest says ${rdb.sha256}`);
  if (rdb.crc64 && result.crc64 !== rdb.crc64)
    problems.push(`CRC-64 ${result.crc64}, the manifest says ${rdb.crc64}`);
  const s = result.summary;
  // A format the scanner does not read has no counts of its own: the verification load compares them.
  if (s.unread) return problems;
  const dbs = new Set([...Object.keys(s.databases), ...Object.keys(manifest.dataset.databases)]);
  for (const db of dbs) {
    const got = s.databases[db];
    const want = manifest.dataset.databases[db];
    if (got?.keys !== want?.keys)
      problems.push(`db${db} holds ${got?.keys ?? 0} keys, the manifest says ${want?.keys ?? 0}`);
    for (const [p, n] of Object.entries(want?.patterns ?? {}))
      if (got?.patterns[p] !== n)
        problems.push(`db${db} holds ${got?.patterns[p] ?? 0} keys matching ${p}, the manifest says ${n}`);
  }
  return problems;
}

/** Completes a check and compares it with the manifest. @throws DamagedBackupError */
function finishCheck(check: RdbCheck, manifest: RedisBackupManifest): RdbCheckResult {
  let result: RdbCheckResult;
  try {
    result = check.finish();
  } catch (err) {
    if (!(err instanceof RdbChecksumError || err instanceof RdbFormatError)) throw err;
    // Say first whether the bytes are those the backup stored, then what Redis's own checksum says.
    const rdb = manifest.objects[RDB_OBJECT];
    const problems = [];
    if (check.size !== rdb.size) problems.push(`${check.size} bytes, the manifest says ${rdb.size}`);
    if (check.sha256 !== rdb.sha256) problems.push(`sha256 ${check.sha256}, the manifest says ${rdb.sha256}`);
    throw new DamagedBackupError(manifest.id, [...problems, err.message]);
  }
  const problems = differences(result, manifest);
  if (problems.length > 0) throw new DamagedBackupError(manifest.id, problems);
  return result;
}

/**
 * Checks RDB bytes from any source against the manifest.
 * @throws DamagedBackupError
 */
export async function checkRdbStream(
  chunks: AsyncIterable<Buffer>,
  manifest: RedisBackupManifest,
  check: RdbCheck,
): Promise<RdbCheckResult> {
  try {
    for await (const chunk of chunks) check.write(chunk);
  } catch (err) {
    if (err instanceof RdbChecksumError || err instanceof RdbFormatError)
      throw new DamagedBackupError(manifest.id, [(err as Error).message]);
    throw err;
  }
  return finishCheck(check, manifest);
}

/**
 * A scan that also buckets expire times from now, for the load check.
 * @param computeCrc false when a throw-away redis-server checks the CRC-64 as it loads (the SHA-256 is
 *   compared with the manifest either way).
 */
function newCheck(manifest: RedisBackupManifest, computeCrc = true): RdbCheck {
  return new RdbCheck(
    {
      patterns: Object.keys(manifest.dataset.patterns),
      expiryFrom: Date.now(),
      expiryHorizonMs: 24 * 3600_000,
    },
    computeCrc,
  );
}

/** Where else the downloaded bytes go (a throw-away server loading them as they arrive). */
export interface DownloadFeed {
  /** Takes a piece (without keeping a reference it does not own); false: wait for `drained`. */
  write(chunk: Buffer): boolean;
  drained(): Promise<void>;
}

/** Bytes between two background syncs of the file, so the final fsync has little left to write. */
const SYNC_EVERY = 64 * 1024 * 1024;

/**
 * Downloads backup `manifest.id`'s RDB to `file` (synced to disk), checking it on the way, and hands
 * every piece to `feed` as well when given. With `computeCrc` false the RDB's own CRC-64 is left to the
 * redis-server that loads it (the restore's verification load). With `syncLater`, it resolves once the
 * bytes are written and checked, and the file's final fsync (started then, on libuv's thread pool, on a
 * descriptor of its own, so a rename does not matter) is the `durable` promise: a restore can start
 * loading the file while the last of it reaches the disk, and waits for `durable` before the result is
 * used.
 * @throws DamagedBackupError when it does not match the manifest; the file is then removed.
 */
export async function downloadRdb(
  at: StoreLocation,
  manifest: RedisBackupManifest,
  file: string,
  feed?: DownloadFeed,
  computeCrc = true,
  syncLater = false,
): Promise<{ result: RdbCheckResult; scanner: RdbScanner; durable?: Promise<void> }> {
  const rdb = manifest.objects[RDB_OBJECT];
  const check = newCheck(manifest, computeCrc);
  const progress = new Progress(`s3://${at.bucket}/${rdb.key} -> ${file}`, rdb.size);
  const stalled = (err: unknown) =>
    isS3Stall(err) ? new DownloadStalledError(manifest.id, describeS3Error(err, at.client)) : err;
  let r;
  try {
    r = await at.client.send(new GetObjectCommand({ Bucket: at.bucket, Key: rdb.key }));
  } catch (err) {
    progress.done();
    throw stalled(err);
  }
  const body = r.Body as AsyncIterable<Buffer>;
  // Written on the thread pool, several writes at once, synced in the background as it goes.
  const out = new SyncedFile(file, SYNC_EVERY);
  try {
    try {
      for await (const chunk of body) {
        check.write(chunk);
        progress.add(chunk.length);
        if (feed && !feed.write(chunk)) await feed.drained();
        await out.write(chunk);
      }
      if (syncLater) await out.written();
      else await out.finish();
    } finally {
      await out.close();
    }
    const result = finishCheck(check, manifest);
    return { result, scanner: check.scanner, durable: syncLater ? fsyncFile(file) : undefined };
  } catch (err) {
    fs.rmSync(file, { force: true });
    if (err instanceof RdbChecksumError || err instanceof RdbFormatError)
      throw new DamagedBackupError(manifest.id, [(err as Error).message]);
    throw stalled(err);
  } finally {
    progress.done();
  }
}

/**
 * Flushes a file to disk on libuv's thread pool. The descriptor is opened before this returns, so the
 * file may be renamed while the flush runs. A failure to open, flush or close rejects.
 */
export function fsyncFile(file: string): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    return Promise.reject(err as Error);
  }
  return new Promise((resolve, reject) =>
    fs.fsync(fd, (err) =>
      fs.close(fd, (closeErr) => ((err ?? closeErr) ? reject(err ?? closeErr) : resolve())),
    ),
  );
}

/**
 * Checks an RDB already on disk (a staged download found by a re-run) against the manifest.
 * @throws DamagedBackupError
 */
export async function checkLocalRdb(
  file: string,
  manifest: RedisBackupManifest,
): Promise<{ result: RdbCheckResult; scanner: RdbScanner }> {
  const check = newCheck(manifest);
  const result = await checkRdbStream(fs.createReadStream(file, { highWaterMark: 1 << 20 }), manifest, check);
  return { result, scanner: check.scanner };
}
