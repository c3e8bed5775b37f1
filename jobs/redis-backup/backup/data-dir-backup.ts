// The second way to take a backup, the classic BGSAVE-and-copy, for a sidecar that mounts the Redis data
// directory: BGSAVE on the local node and wait for it, then stream dump.rdb (checked like a replication
// snapshot: SHA-256, CRC-64, scan) and the AOF files in appendonlydir/ into S3, manifest last. The
// restore uses dump.rdb; the AOF files are kept as they were, for forensics.
import * as fs from "fs";
import * as path from "path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { BackupStoreLayout } from "../../../core/store-layout";
import { log } from "../../cli/log";
import { Progress } from "../transfer/progress";
import {
  connectNode,
  type Credentials,
  formatAddress,
  type NodeAddress,
  parseInfo,
} from "../../redis/client";
import { newBackupId } from "../../store/backup-id";
import type { DatasetNames } from "../aof-layout";
import { BackupFailedError, commitManifest } from "./replication-backup";
import { nodeInfo } from "./discovery";
import {
  holdfastVersion,
  MANIFEST_FORMAT,
  type ManifestObject,
  objectKey,
  RDB_OBJECT,
  type RedisBackupManifest,
} from "../manifest";
import { countUnreadByLoad, rdbFacts } from "./rdb-facts";
import { chunksOf, TransferError, transferFile, transferRdb } from "../transfer/checked-upload";
import { partSizeFor } from "../transfer/upload";

/** Everything a data-directory backup needs. */
export interface DataDirBackupOptions {
  dataDir: string;
  names: DatasetNames;
  /** The Redis node whose data directory this is (for BGSAVE and INFO). */
  redis: NodeAddress;
  /** A user with +bgsave +lastsave +info (the backup user of the stack has none of the first two). */
  credentials: Credentials;
  /** Run BGSAVE first (the classic procedure); false backs up the dump.rdb already there. */
  bgsave: boolean;
  bgsaveTimeoutMs?: number;
  client: S3Client;
  bucket: string;
  layout: BackupStoreLayout;
  patterns: string[];
  reason: string;
  partSize?: number;
  concurrency?: number;
}

/** The node refused BGSAVE or LASTSAVE to this user. */
export class BgsaveDeniedError extends Error {}

/** The node of --redis does not answer: bad input (the address), not a failed backup. */
export class NodeUnreachableError extends Error {}

/**
 * Closes a file descriptor a read stream may have closed already (it does when it is destroyed by a
 * failure): a second close must not replace the failure's own message with EBADF.
 */
function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EBADF") throw err;
  }
}

/** Runs BGSAVE and waits until a new snapshot is on disk. */
export async function takeSnapshotOnDisk(
  address: NodeAddress,
  credentials: Credentials,
  timeoutMs: number,
): Promise<void> {
  const c = await connectNode(address, credentials, 10_000);
  try {
    // Snapshots taken so far (rdb_saves, Redis 7+): LASTSAVE counts in seconds and does not move when
    // the BGSAVE ends in the same second as the save before it (a server just started, a save rule).
    const savesBefore = Number(parseInfo(String(await c.info("persistence"))).rdb_saves ?? NaN);
    const before = Number(await c.call("LASTSAVE"));
    try {
      await c.call("BGSAVE");
    } catch (err) {
      const msg = (err as Error).message;
      if (/NOPERM/.test(msg)) throw new BgsaveDeniedError(`${formatAddress(address)}: ${msg}`);
      // An AOF rewrite or another save is running: have Redis save as soon as it is done.
      if (!/in progress|already/i.test(msg)) throw err;
      await c.call("BGSAVE", "SCHEDULE");
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = parseInfo(String(await c.info("persistence")));
      const last = Number(await c.call("LASTSAVE"));
      const saved = Number.isNaN(savesBefore) ? last > before : Number(info.rdb_saves) > savesBefore;
      if (info.rdb_bgsave_in_progress === "0" && saved) {
        if (info.rdb_last_bgsave_status !== "ok")
          throw new Error(
            `BGSAVE on ${formatAddress(address)} failed (rdb_last_bgsave_status:${info.rdb_last_bgsave_status})`,
          );
        return;
      }
      if (Date.now() > deadline)
        throw new Error(`BGSAVE on ${formatAddress(address)} did not finish in time`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    if (/NOPERM/.test((err as Error).message) && !(err instanceof BgsaveDeniedError))
      throw new BgsaveDeniedError(`${formatAddress(address)}: ${(err as Error).message}`);
    throw err;
  } finally {
    c.disconnect();
  }
}

/** A file opened now, read later up to its size now (an AOF may grow meanwhile). */
interface OpenedFile {
  name: string;
  fd: number;
  size: number;
}

/** Opens the AOF files the AOF manifest lists, and the manifest; retried if a rewrite replaces them. */
function openAof(dataDir: string, names: DatasetNames): OpenedFile[] {
  const dir = path.join(dataDir, names.appendDirname);
  const manifestName = `${names.appendFilename}.manifest`;
  if (!fs.existsSync(path.join(dir, manifestName))) return [];
  for (let attempt = 0; ; attempt++) {
    const opened: OpenedFile[] = [];
    try {
      const text = fs.readFileSync(path.join(dir, manifestName), "utf8");
      const files = [...text.matchAll(/^file\s+(\S+)\s/gm)].map((m) => m[1]);
      for (const name of [manifestName, ...files]) {
        const fd = fs.openSync(path.join(dir, name), "r");
        opened.push({ name, fd, size: fs.fstatSync(fd).size });
      }
      return opened;
    } catch (err) {
      for (const f of opened) fs.closeSync(f.fd);
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 5) throw err;
    }
  }
}

/** Takes one backup from a data directory; resolves to its committed manifest. */
export async function backupDataDir(o: DataDirBackupOptions): Promise<RedisBackupManifest> {
  const startedAt = new Date();
  const t0 = Date.now();
  let info;
  try {
    info = await nodeInfo(o.redis, o.credentials, 10_000);
  } catch (err) {
    const msg = (err as Error).message;
    if (/NOPERM|WRONGPASS|NOAUTH/.test(msg)) throw err;
    throw new NodeUnreachableError(
      `cannot reach the Redis of --redis ${formatAddress(o.redis)} (${msg}); the data-directory backup needs the node whose directory it reads`,
    );
  }
  if (o.bgsave) {
    log.info("BGSAVE", { node: formatAddress(o.redis) });
    await takeSnapshotOnDisk(o.redis, o.credentials, o.bgsaveTimeoutMs ?? 3600_000);
  }
  const rdbFile = path.join(o.dataDir, o.names.dbFilename);
  // Opened before reading anything: a later BGSAVE renames a new file over the name, this one stays.
  const rdbFd = fs.openSync(rdbFile, "r");
  const aof = openAof(o.dataDir, o.names);
  // Unique without a listing (which cannot see a backup still uploading); every write is create-only.
  const id = newBackupId(startedAt);
  const prepared = Date.now();
  const objects: Record<string, ManifestObject> = {};
  const target = (name: string, size = 0) => ({
    client: o.client,
    bucket: o.bucket,
    key: objectKey(o.layout, id, name),
    partSize: o.partSize ?? partSizeFor(size),
    concurrency: o.concurrency,
  });
  let summary;
  try {
    const rdbSize = fs.fstatSync(rdbFd).size;
    const r = await transferRdb(
      chunksOf(fs.createReadStream("", { fd: rdbFd, highWaterMark: 1 << 20, autoClose: false })),
      target(RDB_OBJECT, rdbSize),
      { patterns: o.patterns },
      new Progress(`${rdbFile} -> s3://${o.bucket}/${target(RDB_OBJECT).key}`, rdbSize),
    );
    summary = r.check;
    objects[RDB_OBJECT] = {
      key: r.object.key,
      size: r.check.bytes,
      sha256: r.check.sha256,
      crc64: r.check.crc64,
      etag: r.object.etag,
    };
    for (const f of aof) {
      const name = `aof/${f.name}`;
      const chunks =
        f.size === 0
          ? []
          : fs.createReadStream("", {
              fd: f.fd,
              start: 0,
              end: f.size - 1,
              highWaterMark: 1 << 20,
              autoClose: false,
            });
      const a = await transferFile(chunksOf(chunks), target(name, f.size));
      objects[name] = { key: a.object.key, size: a.check.bytes, sha256: a.check.sha256, etag: a.object.etag };
    }
  } catch (err) {
    const e = err instanceof TransferError ? err : undefined;
    throw new BackupFailedError(
      `backup ${id} from ${o.dataDir} failed: ${(err as Error).message}`,
      [
        {
          source: o.dataDir,
          error: (err as Error).message,
          bytes: e?.bytes ?? 0,
          leftUpload: e?.leftUpload,
        },
      ],
      id,
    );
  } finally {
    closeQuietly(rdbFd);
    for (const f of aof) closeQuietly(f.fd);
  }
  const transferred = Date.now();
  const manifest: RedisBackupManifest = {
    format: MANIFEST_FORMAT,
    store: "redis",
    id,
    reason: o.reason,
    method: "data-dir",
    startedAt: startedAt.toISOString(),
    completedAt: new Date().toISOString(),
    timings: {
      discoverMs: prepared - t0,
      transferMs: transferred - prepared,
      commitMs: 0,
      totalMs: transferred - t0,
    },
    source: {
      address: formatAddress(o.redis),
      role: info.flat.role === "master" ? "primary" : info.flat.role === "slave" ? "replica" : "unknown",
      replicationId: info.flat.master_replid,
      replicationOffset: Number(info.flat.master_repl_offset ?? NaN) || undefined,
      transfer: "file",
      dataDir: o.dataDir,
    },
    ...rdbFacts(summary, info.flat),
    objects,
    info: info.sections,
    holdfast: { version: holdfastVersion() },
  };
  await countUnreadByLoad(o, manifest, o.patterns);
  await commitManifest(o, manifest);
  return manifest;
}
