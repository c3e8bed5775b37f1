// `holdfast backup redis`: a hand-run backup_redis.sh done properly. Find the nodes through the
// sentinels, take the snapshot from the healthiest replica over the replication protocol, stream it
// into S3 while hashing, checksumming and scanning it, complete the upload only if the RDB is whole,
// then write the manifest last. If the node dies mid-stream the upload is aborted and the next node is
// tried; a backup either commits completely or leaves nothing a restore could mistake for one.
import type { S3Client } from "@aws-sdk/client-s3";
import type { BackupStoreLayout } from "../../../core/store-layout";
import { log } from "../../cli/log";
import { Progress } from "../transfer/progress";
import { type Credentials, formatAddress, type NodeAddress } from "../../redis/client";
import { newBackupId } from "../../store/backup-id";
import { discoverTopology, rankSources, type SourceCandidate, type SourcePreference } from "./discovery";
import {
  holdfastVersion,
  MANIFEST_FORMAT,
  objectKey,
  RDB_OBJECT,
  type RedisBackupManifest,
  writeManifest,
} from "../manifest";
import { RdbChecksumError } from "../rdb/check";
import { countUnreadByLoad, rdbFacts } from "./rdb-facts";
import { ReplicationAuthError, ReplicationStream, ReplicationStreamError } from "../replication/stream";
import { TransferError, transferRdb } from "../transfer/checked-upload";
import { partSizeFor } from "../transfer/upload";

/** Everything a replication backup needs. */
export interface ReplicationBackupOptions {
  sentinels: NodeAddress[];
  masterName: string;
  sentinelCredentials: Credentials;
  /** The backup user on the data nodes. */
  redisCredentials: Credentials;
  client: S3Client;
  bucket: string;
  layout: BackupStoreLayout;
  /** Glob patterns to count keys for in the manifest. */
  patterns: string[];
  reason: string;
  source: SourcePreference;
  /** Nodes to try before giving up (a node that dies mid-stream counts as one). */
  attempts: number;
  /** Bytes per upload part; default from the source's memory use (partSizeFor). */
  partSize?: number;
  concurrency?: number;
  /** A stream with no byte for this long has failed. */
  stallTimeoutMs?: number;
}

/** One node tried and why it did not give the backup. */
export interface FailedAttempt {
  source: string;
  error: string;
  bytes: number;
  /** A multipart upload that could not be aborted: `<upload id> of s3://bucket/key`. */
  leftUpload?: string;
}

/** The backup failed; `attempts` says what was tried and what is left behind. */
export class BackupFailedError extends Error {
  constructor(
    message: string,
    readonly attempts: FailedAttempt[],
    /** The id the backup would have had. */
    readonly id?: string,
    /** An object written but not committed (its manifest missing): invisible, removed by prune. */
    readonly uncommitted?: string,
  ) {
    super(message);
    this.name = "BackupFailedError";
  }
}

/** Whether another node may succeed where this failure happened. */
function sourceFault(err: Error): boolean {
  return err instanceof ReplicationStreamError || err instanceof RdbChecksumError;
}

/** Takes one backup; resolves to its committed manifest. */
export async function backupRedis(o: ReplicationBackupOptions): Promise<RedisBackupManifest> {
  const startedAt = new Date();
  const t0 = Date.now();
  const topology = await discoverTopology(o.sentinels, o.masterName, o.sentinelCredentials);
  const { candidates, rejected } = await rankSources(topology, o.source, o.redisCredentials);
  for (const r of rejected)
    log.warn("not a backup source", { node: formatAddress(r.address), reason: r.reason });
  if (candidates.length === 0)
    throw new BackupFailedError(
      `no node of ${o.masterName} can give a snapshot (primary ${formatAddress(topology.primary)}, ` +
        `${topology.replicas.length} replicas known to the sentinels)`,
      [],
    );
  if (o.source === "replica" && candidates[0].role === "primary")
    log.warn("no healthy replica: taking the snapshot from the primary (it forks to write it)", {
      primary: formatAddress(topology.primary),
    });

  // Unique without a listing (which cannot see a backup still uploading); every write is create-only.
  const id = newBackupId(startedAt);
  const failures: FailedAttempt[] = [];
  for (const candidate of candidates.slice(0, Math.max(1, o.attempts))) {
    const where = formatAddress(candidate.address);
    try {
      return await takeSnapshot(o, id, candidate, topology.primary, startedAt, t0);
    } catch (err) {
      if (err instanceof ReplicationAuthError || err instanceof BackupFailedError) throw err;
      const e = err instanceof TransferError ? err.cause : (err as Error);
      const attempt: FailedAttempt = {
        source: where,
        error: e.message,
        bytes: err instanceof TransferError ? err.bytes : 0,
        leftUpload:
          err instanceof TransferError && err.leftUpload
            ? `${err.leftUpload} of s3://${o.bucket}/${objectKey(o.layout, id, RDB_OBJECT)}`
            : undefined,
      };
      failures.push(attempt);
      if (!sourceFault(e)) {
        throw new BackupFailedError(
          `backup ${id} failed while streaming from ${where}: ${e.message}`,
          failures,
          id,
        );
      }
      log.warn("the snapshot from this node failed", { node: where, ...attempt });
    }
  }
  throw new BackupFailedError(
    `backup ${id} failed: ${failures.map((f) => `${f.source}: ${f.error}`).join("; ")}`,
    failures,
    id,
  );
}

/** Streams one snapshot from `candidate` into S3 and commits it. */
async function takeSnapshot(
  o: ReplicationBackupOptions,
  id: string,
  candidate: SourceCandidate,
  primary: NodeAddress,
  startedAt: Date,
  t0: number,
): Promise<RedisBackupManifest> {
  const where = formatAddress(candidate.address);
  const stream = await ReplicationStream.open(candidate.address, o.redisCredentials, {
    stallTimeoutMs: o.stallTimeoutMs,
  });
  const discovered = Date.now();
  const key = objectKey(o.layout, id, RDB_OBJECT);
  log.info("streaming the snapshot", {
    backup: id,
    source: where,
    role: candidate.role,
    lagBytes: candidate.lagBytes,
    transfer: stream.snapshot.transfer,
    to: `s3://${o.bucket}/${key}`,
  });
  let result;
  try {
    // The RDB is smaller than the dataset in memory; a `$<len>` stream says its size exactly.
    const expected = stream.snapshot.size ?? Number(candidate.info.used_memory ?? 0);
    result = await transferRdb(
      stream,
      {
        client: o.client,
        bucket: o.bucket,
        key,
        partSize: o.partSize ?? partSizeFor(expected),
        concurrency: o.concurrency,
      },
      { patterns: o.patterns },
      new Progress(`${where} -> s3://${o.bucket}/${key}`, stream.snapshot.size),
    );
  } finally {
    stream.destroy();
  }
  const transferred = Date.now();
  const { check, object } = result;
  const manifest: RedisBackupManifest = {
    format: MANIFEST_FORMAT,
    store: "redis",
    id,
    reason: o.reason,
    method: "replication",
    startedAt: startedAt.toISOString(),
    completedAt: "",
    timings: { discoverMs: discovered - t0, transferMs: transferred - discovered, commitMs: 0, totalMs: 0 },
    source: {
      address: where,
      role: candidate.role,
      masterName: o.masterName,
      primary: formatAddress(primary),
      lagBytes: candidate.lagBytes,
      replicationId: stream.snapshot.replicationId,
      replicationOffset: stream.snapshot.replicationOffset,
      transfer: stream.snapshot.transfer,
    },
    ...rdbFacts(check, candidate.info),
    objects: {
      [RDB_OBJECT]: { key, size: check.bytes, sha256: check.sha256, crc64: check.crc64, etag: object.etag },
    },
    info: candidate.infoSections,
    holdfast: { version: holdfastVersion() },
  };
  if (!check.crcPresent)
    log.warn("the RDB carries no checksum (rdbchecksum no on the source); only its SHA-256 protects it", {
      backup: id,
    });
  await countUnreadByLoad(o, manifest, o.patterns);
  const committed = Date.now();
  manifest.timings.commitMs = committed - transferred;
  manifest.timings.totalMs = committed - t0;
  manifest.completedAt = new Date(committed).toISOString();
  await commitManifest(o, manifest);
  return manifest;
}

/**
 * Writes a backup's manifest (create-only), which commits it.
 * @throws BackupFailedError naming the RDB left without a manifest.
 */
export async function commitManifest(
  o: { client: S3Client; bucket: string; layout: BackupStoreLayout },
  manifest: RedisBackupManifest,
): Promise<void> {
  try {
    await writeManifest(o.client, o.bucket, o.layout, manifest);
  } catch (err) {
    throw new BackupFailedError(
      `backup ${manifest.id} failed: writing its manifest failed (${(err as Error).message})`,
      [],
      manifest.id,
      `s3://${o.bucket}/${manifest.objects[RDB_OBJECT].key}`,
    );
  }
}
