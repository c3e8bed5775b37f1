// The base of a new chain: when a primary answers the stream's PSYNC with a full resynchronisation, the
// snapshot it sends stands exactly at the offset the chain starts from. It is stored as an ordinary
// backup (reason `stream-base`): streamed into S3 through the same checks as `backup redis` (SHA-256,
// CRC-64, scan), manifest last, so list, verify, drill and restore all know it.
import { formatAddress, type NodeAddress } from "../redis/client";
import { log } from "../cli/log";
import { newBackupId } from "../store/backup-id";
import type { StoreLocation } from "../store/catalog";
import { commitManifest } from "../redis-backup/backup/replication-backup";
import { rdbFacts } from "../redis-backup/backup/rdb-facts";
import {
  holdfastVersion,
  MANIFEST_FORMAT,
  objectKey,
  RDB_OBJECT,
  type RedisBackupManifest,
} from "../redis-backup/manifest";
import { transferRdb } from "../redis-backup/transfer/checked-upload";
import { partSizeFor } from "../redis-backup/transfer/upload";
import type { ReplicaLink, SyncReply } from "./replica-link";

import { STREAM_BASE_REASON } from "./base-reason";

export { STREAM_BASE_REASON };

/** Stores the snapshot of a full resynchronisation as a backup; resolves to its id. */
export async function commitStreamBase(
  at: StoreLocation,
  link: ReplicaLink,
  reply: Extract<SyncReply, { kind: "full" }>,
  source: { masterName: string; primary: NodeAddress },
): Promise<string> {
  const startedAt = new Date();
  const id = newBackupId(startedAt);
  const key = objectKey(at.layout, id, RDB_OBJECT);
  log.info("storing the snapshot of a full resynchronisation as the chain's base", { backup: id, to: key });
  const { check, object } = await transferRdb(
    { pipe: (sink) => link.snapshot(sink) },
    { client: at.client, bucket: at.bucket, key, partSize: partSizeFor(reply.size ?? 0) },
    { patterns: [] },
  );
  const done = Date.now();
  const manifest: RedisBackupManifest = {
    format: MANIFEST_FORMAT,
    store: "redis",
    id,
    reason: STREAM_BASE_REASON,
    method: "replication",
    startedAt: startedAt.toISOString(),
    completedAt: new Date(done).toISOString(),
    timings: {
      discoverMs: 0,
      transferMs: done - startedAt.getTime(),
      commitMs: 0,
      totalMs: done - startedAt.getTime(),
    },
    source: {
      address: formatAddress(source.primary),
      role: "primary",
      masterName: source.masterName,
      primary: formatAddress(source.primary),
      lagBytes: 0,
      replicationId: reply.replid,
      replicationOffset: reply.offset,
      transfer: reply.size === undefined ? "eof" : "bulk",
    },
    ...rdbFacts(check, {}),
    objects: {
      [RDB_OBJECT]: { key, size: check.bytes, sha256: check.sha256, crc64: check.crc64, etag: object.etag },
    },
    info: {},
    holdfast: { version: holdfastVersion() },
  };
  await commitManifest(at, manifest);
  return id;
}
