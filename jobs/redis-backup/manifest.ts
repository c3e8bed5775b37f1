// The manifest of a Redis backup: `<prefix>/redis/<id>/manifest.json`, written last as the commit marker
// (a backup without it does not exist). It records what the old backup_redis.sh script recorded (INFO,
// DBSIZE, the files) and what a restore needs to prove itself: keys per database and pattern counts of
// exactly the RDB stored (read from the RDB, not counted on the live server at another moment), the
// source node, Redis version, replication offset, size and hashes of every object, reason and timings.
import * as fs from "fs";
import * as path from "path";
import type { S3Client } from "@aws-sdk/client-s3";
import { REDIS_MANIFEST, type BackupStoreLayout } from "../../core/store-layout";
import { isBackupId } from "../store/backup-id";
import type { BackupSummary } from "../store/catalog";
import { getJson, putJson } from "../store/s3";
import type { EngineKind } from "../../core/engines";
import type { InfoSections } from "./backup/discovery";
import type { DatabaseSummary } from "./rdb/scanner";

/** The format tag of manifests this version writes and reads. */
export const MANIFEST_FORMAT = "holdfast.redis-backup/1";

/** The name of the RDB object in a backup's folder. */
export const RDB_OBJECT = "dump.rdb";

/** One stored object of a backup. */
export interface ManifestObject {
  /** The object's full key in the bucket. */
  key: string;
  size: number;
  sha256: string;
  /** The RDB's own CRC-64, as stored in its trailer (RDB objects only). */
  crc64?: string;
  etag?: string;
}

/** The manifest of one Redis backup. */
export interface RedisBackupManifest {
  format: typeof MANIFEST_FORMAT;
  store: "redis";
  id: string;
  /** scheduled, pre-training, pre-restore, manual, ... */
  reason: string;
  /** How the RDB was taken: streamed over replication, or read from a data directory after BGSAVE. */
  method: "replication" | "data-dir";
  startedAt: string;
  completedAt: string;
  timings: { discoverMs: number; transferMs: number; commitMs: number; totalMs: number };
  source: {
    /** host:port of the node the RDB came from. */
    address: string;
    role: "replica" | "primary" | "unknown";
    masterName?: string;
    /** The primary when the backup was taken. */
    primary?: string;
    /** How far the source was behind the primary, in bytes of the replication stream. */
    lagBytes?: number;
    replicationId?: string;
    replicationOffset?: number;
    /** bulk (`$<len>`), eof (diskless `$EOF:` mark) or file (read from the data directory). */
    transfer: "bulk" | "eof" | "file";
    /** Data directory read (data-dir method). */
    dataDir?: string;
  };
  /** The engine that wrote the RDB (absent in manifests of older Holdfast: redis), its version and format. */
  redis: { engine?: EngineKind; version: string; rdbVersion: number };
  /**
   * Which checks ran on the RDB when it was taken (sha256, crc64, scan, load), one line each, e.g.
   * `scan: skipped (RDB version 13 unknown to this Holdfast)`. Absent in manifests of older Holdfast.
   */
  checks?: string[];
  /** Every stored object by name: `dump.rdb`, and for the data-dir method `aof/<file>`. */
  objects: Record<string, ManifestObject>;
  dataset: {
    /** Keys of all databases in the RDB. */
    keys: number;
    /** Per database index, only databases with keys. */
    databases: Record<string, DatabaseSummary>;
    /** Keys matching each pattern, all databases. */
    patterns: Record<string, number>;
    functions: number;
    modules: string[];
    /** The RDB's aux fields. */
    aux: Record<string, string>;
  };
  /** The source node's INFO when the backup started (server, replication, persistence, memory, keyspace). */
  info: InfoSections;
  holdfast: { version: string };
}

/** The key of an object of backup `id`. */
export function objectKey(layout: BackupStoreLayout, id: string, name: string): string {
  return `${layout.redis}${id}/${name}`;
}

/** The key of backup `id`'s manifest. */
export function manifestKey(layout: BackupStoreLayout, id: string): string {
  return objectKey(layout, id, REDIS_MANIFEST);
}

let version: string | undefined;

/** This Holdfast's version, from its package.json (in a checkout or the job image). */
export function holdfastVersion(): string {
  if (version) return version;
  version = "unknown";
  for (const up of ["../..", "../../.."]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, up, "package.json"), "utf8"));
      if (pkg.name === "holdfast") {
        version = String(pkg.version);
        break;
      }
    } catch {
      // not there
    }
  }
  return version;
}

/** Thrown for a manifest this version cannot use. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

/**
 * Checks that `value` is a manifest of backup `id` this version can restore: its format, the backup it
 * names, and every object it lists lying inside that backup (`<prefix>/redis/<id>/<name>`), so a
 * tampered manifest cannot steer a restore to another backup's or another stack's data.
 */
export function checkManifest(value: unknown, id: string, layout: BackupStoreLayout): RedisBackupManifest {
  const m = value as RedisBackupManifest;
  const fail = (what: string) => {
    throw new ManifestError(`the manifest of backup ${id} ${what}`);
  };
  if (!m || typeof m !== "object" || Array.isArray(m)) fail("is not a JSON object");
  if (m.format !== MANIFEST_FORMAT)
    fail(
      `has format ${JSON.stringify(m.format)}, which this version does not know (it reads ${MANIFEST_FORMAT})`,
    );
  if (m.id !== id || !isBackupId(m.id)) fail(`names backup ${JSON.stringify(m.id)}`);
  const rdb = m.objects?.[RDB_OBJECT];
  if (
    !rdb ||
    typeof rdb.key !== "string" ||
    !Number.isInteger(rdb.size) ||
    !/^[0-9a-f]{64}$/.test(rdb.sha256)
  )
    fail(`has no valid ${RDB_OBJECT} entry`);
  for (const [name, o] of Object.entries(m.objects)) {
    const inside = objectKey(layout, id, name);
    if (!/^(dump\.rdb|aof\/[^/]+)$/.test(name) || name.includes(".."))
      fail(`lists an object named ${JSON.stringify(name)}`);
    if (typeof o?.key !== "string" || o.key !== inside)
      fail(`puts ${name} at ${JSON.stringify(o?.key)}, outside its own backup (${inside})`);
    if (!Number.isSafeInteger(o.size) || o.size < 0) fail(`gives ${name} no valid size`);
  }
  if (!m.dataset || typeof m.dataset.databases !== "object" || !Number.isInteger(m.dataset.keys))
    fail("has no dataset counts");
  return m;
}

/**
 * Reads and checks a backup's manifest.
 * @throws ManifestError when it is not valid JSON or fails checkManifest; S3 errors as they come.
 */
export async function readManifest(
  client: S3Client,
  bucket: string,
  layout: BackupStoreLayout,
  id: string,
): Promise<RedisBackupManifest> {
  let json: unknown;
  try {
    json = await getJson(client, bucket, manifestKey(layout, id));
  } catch (err) {
    if (err instanceof SyntaxError) throw new ManifestError(`the manifest of backup ${id} is not valid JSON`);
    throw err;
  }
  return checkManifest(json, id, layout);
}

/** Writes the manifest, create-only: the commit of the backup. */
export async function writeManifest(
  client: S3Client,
  bucket: string,
  layout: BackupStoreLayout,
  manifest: RedisBackupManifest,
): Promise<void> {
  await putJson(client, bucket, manifestKey(layout, manifest.id), manifest);
}

/** What `holdfast list` shows of a backup. */
export function summarize(m: RedisBackupManifest): BackupSummary {
  return {
    store: "redis",
    id: m.id,
    completedAt: m.completedAt,
    sizeBytes: Object.values(m.objects).reduce((n, o) => n + o.size, 0),
    items: m.dataset.keys,
    reason: m.reason,
    database: m.source.masterName ?? m.source.dataDir,
  };
}
