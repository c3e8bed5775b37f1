// The Redis store as the generic commands see it (StoreModule): its catalogue read from the manifests
// (catalog.ts says what committed and damaged mean), verify one backup end to end (download,
// integrity, a full load in a throw-away redis-server compared with the manifest), and prune by
// retention — deleting a backup's manifest first, so an interrupted prune leaves an uncommitted folder
// (removed by the next prune) and never a manifest whose RDB is gone. Damaged backups are never
// deleted: prune reports them for an operator to inspect.
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as path from "path";
import { REDIS_MANIFEST } from "../../core/store-layout";
import { log } from "../cli/log";
import { backupTime, isBackupId } from "../store/backup-id";
import { deleteChains, planChainRetention } from "../redis-stream/chain-retention";
import {
  type Catalog,
  catalogOf,
  type DamagedBackup,
  type PruneReport,
  retentionOf,
  type StoreLocation,
  type StoreModule,
  type VerifyReport,
} from "../store/catalog";
import { mapLimit } from "../store/map-limit";
import type { RetentionPolicy } from "../store/retention";
import { errorCode, listObjects, type ListedObject } from "../store/s3";
import { DEFAULT_NAMES } from "./aof-layout";
import { DamagedBackupError, downloadRdb } from "./transfer/download";
import { loadAndCompare } from "./scratch/load-check";
import { manifestKey, ManifestError, readManifest, type RedisBackupManifest, summarize } from "./manifest";
import { ScratchServerError } from "./scratch/server";

/**
 * The objects under the Redis prefix, by backup id (names that are not backup ids are ignored, and the
 * listing ends at the first key past the ids).
 */
async function objectsById(at: StoreLocation): Promise<Map<string, ListedObject[]>> {
  const byId = new Map<string, ListedObject[]>();
  for await (const o of listObjects(at.client, at.bucket, at.layout.redis)) {
    // Ids begin with a digit and a listing is in key order: past the digits (the stream's folder, with a
    // segment a second) there is no backup left to find.
    if (o.key.charCodeAt(at.layout.redis.length) > 0x39) break;
    const id = o.key.slice(at.layout.redis.length).split("/")[0];
    if (!isBackupId(id)) continue;
    byId.set(id, [...(byId.get(id) ?? []), o]);
  }
  return byId;
}

/** Where the Redis backups are, for messages. */
export function redisBackupsUrl(at: StoreLocation): string {
  return `s3://${at.bucket}/${at.layout.redis}`;
}

/** What the objects of a backup lack compared with its manifest, or undefined when all are there. */
function missingObjects(m: RedisBackupManifest, objects: ListedObject[]): string | undefined {
  const sizes = new Map(objects.map((o) => [o.key, o.size]));
  for (const [name, o] of Object.entries(m.objects)) {
    const size = sizes.get(o.key);
    if (size === undefined) return `${name} is missing (${o.key})`;
    if (size !== o.size) return `${name} is ${size} bytes, the manifest says ${o.size}`;
  }
  return undefined;
}

/** The Redis prefix read once: the catalogue, and what prune and restore need besides. */
export interface RedisScan {
  catalog: Catalog;
  /** Every object under the prefix, by backup id (committed, damaged and absent backups). */
  objects: Map<string, ListedObject[]>;
  /** The checked manifest of every committed backup. */
  manifests: Map<string, RedisBackupManifest>;
}

/** Reads the Redis prefix: every backup with a manifest, committed or damaged (see catalog.ts). */
export async function scanRedisBackups(at: StoreLocation): Promise<RedisScan> {
  const objects = await objectsById(at);
  const withManifest = [...objects].filter(([id, list]) =>
    list.some((o) => o.key === manifestKey(at.layout, id)),
  );
  const manifests = new Map<string, RedisBackupManifest>();
  const damaged: DamagedBackup[] = [];
  await mapLimit(withManifest, 8, async ([id, list]) => {
    let m: RedisBackupManifest;
    try {
      m = await readManifest(at.client, at.bucket, at.layout, id);
    } catch (err) {
      // Deleted since the listing (a prune at the same time): it no longer exists.
      if (errorCode(err) === "NoSuchKey") return;
      if (!(err instanceof ManifestError)) throw err;
      damaged.push({ store: "redis", id, problem: err.message });
      return;
    }
    const missing = missingObjects(m, list);
    if (missing) damaged.push({ store: "redis", id, problem: missing });
    else manifests.set(id, m);
  });
  const catalog = catalogOf("redis", redisBackupsUrl(at), [...manifests.values()].map(summarize), damaged);
  return { catalog, objects, manifests };
}

/** Ids of the committed (undamaged) backups, oldest first. */
export async function committedBackups(at: StoreLocation): Promise<string[]> {
  return (await scanRedisBackups(at)).catalog.committed.map((b) => b.id).reverse();
}

/** How the Redis store verifies and prunes. */
export interface RedisStoreOptions {
  /** The redis-server binary for verification loads. */
  redisServer: () => string;
  /** Uncommitted backup folders older than this are removed by prune (a backup may still be running). */
  abandonedAfterMs: number;
}

/** Verifies backup `id` into `scratchDir`. */
async function verifyBackup(
  at: StoreLocation,
  id: string,
  scratchDir: string,
  o: RedisStoreOptions,
): Promise<VerifyReport> {
  const t0 = Date.now();
  const checks: VerifyReport["checks"] = [];
  const report = () => ({
    store: "redis" as const,
    id,
    ok: checks.length > 0 && checks.every((c) => c.ok),
    checks,
    durationMs: Date.now() - t0,
  });
  let manifest;
  try {
    manifest = await readManifest(at.client, at.bucket, at.layout, id);
    checks.push({
      name: "manifest is readable",
      ok: true,
      detail: `${manifest.dataset.keys} keys, reason ${manifest.reason}`,
    });
  } catch (err) {
    checks.push({ name: "manifest is readable", ok: false, detail: (err as Error).message });
    return report();
  }
  fs.mkdirSync(scratchDir, { recursive: true });
  const rdb = path.join(scratchDir, "backup.rdb");
  let scanner;
  try {
    const d = await downloadRdb(at, manifest, rdb);
    scanner = d.scanner;
    checks.push({ name: "sha256 of dump.rdb matches the manifest", ok: true, detail: d.result.sha256 });
    checks.push({
      name: "the RDB's own checksum (CRC-64) is valid",
      ok: true,
      detail: d.result.crcPresent ? d.result.crc64 : "the RDB carries no checksum",
    });
    checks.push({ name: "keys per database and pattern counts in the RDB match the manifest", ok: true });
  } catch (err) {
    if (!(err instanceof DamagedBackupError)) throw err;
    checks.push({
      name: "dump.rdb is intact and matches the manifest",
      ok: false,
      detail: err.problems.join("; "),
    });
    return report();
  }
  try {
    const { checks: loaded, loadMs } = await loadAndCompare(
      rdb,
      path.join(scratchDir, "data"),
      manifest,
      scanner,
      {
        appendonly: true,
        names: DEFAULT_NAMES,
        redisServer: o.redisServer(),
      },
    );
    checks.push(...loaded);
    checks.push({ name: "load time of the restored dataset", ok: true, detail: `${loadMs} ms` });
  } catch (err) {
    if (!(err instanceof ScratchServerError || err instanceof DamagedBackupError)) throw err;
    checks.push({ name: "a redis-server loads the restored dataset", ok: false, detail: err.message });
  } finally {
    fs.rmSync(rdb, { force: true });
  }
  return report();
}

/** Applies retention to the committed Redis backups; damaged ones are kept and reported. */
async function pruneBackups(
  at: StoreLocation,
  policy: RetentionPolicy,
  dryRun: boolean,
  o: RedisStoreOptions,
): Promise<PruneReport> {
  const { catalog, objects } = await scanRedisBackups(at);
  const decision = retentionOf(catalog, policy);
  // The stream's chains live and die with their bases (chain-retention.ts).
  const chains = await planChainRetention(at, new Set(decision.drop));
  for (const id of chains.protect) decision.keep.set(id, ["stream-chain"]);
  decision.drop = decision.drop.filter((id) => !chains.protect.includes(id));
  const known = new Set([...catalog.committed, ...catalog.damaged].map((b) => b.id));
  const abandoned = [...objects.keys()].filter(
    (id) => !known.has(id) && Date.now() - backupTime(id).getTime() > o.abandonedAfterMs,
  );
  const report: PruneReport = {
    store: "redis",
    kept: [...decision.keep].map(([id, reasons]) => ({ id, reasons })),
    deleted: [...decision.drop, ...abandoned].sort(),
    damaged: catalog.damaged,
    objectsDeleted: 0,
    bytesDeleted: 0,
    dryRun,
  };
  if (abandoned.length > 0) log.info("uncommitted backup folders to remove", { ids: abandoned });
  if (chains.remove.length > 0) {
    log.info("stream chains whose base is pruned are removed whole", {
      chains: chains.remove.map((c) => c.chain),
    });
    const removed = dryRun
      ? {
          objects: chains.remove.reduce((n, c) => n + c.segments.length + 1, 0),
          bytes: chains.remove.reduce((n, c) => n + c.segments.reduce((m, x) => m + x.size, 0), 0),
        }
      : await deleteChains(at, chains.remove);
    report.objectsDeleted += removed.objects;
    report.bytesDeleted += removed.bytes;
  }
  if (catalog.damaged.length > 0)
    log.warn("damaged backups are kept for inspection, never pruned", {
      damaged: catalog.damaged.map((d) => `${d.id}: ${d.problem}`),
    });
  for (const id of report.deleted) {
    const list = objects.get(id)!;
    report.objectsDeleted += list.length;
    report.bytesDeleted += list.reduce((n, x) => n + x.size, 0);
    if (dryRun) continue;
    const del = (key: string) => at.client.send(new DeleteObjectCommand({ Bucket: at.bucket, Key: key }));
    // The manifest first: from then on the backup no longer exists, whatever happens to the rest.
    const manifest = list.find((x) => x.key.endsWith(`/${REDIS_MANIFEST}`));
    if (manifest) await del(manifest.key);
    await mapLimit(
      list.filter((x) => x !== manifest),
      8,
      (x) => del(x.key),
    );
  }
  return report;
}

/** The Redis StoreModule. */
export function createRedisStore(o: RedisStoreOptions): StoreModule {
  return {
    kind: "redis",
    catalog: async (at) => (await scanRedisBackups(at)).catalog,
    verify: (at, id, scratchDir) => verifyBackup(at, id, scratchDir, o),
    prune: (at, policy, dryRun) => pruneBackups(at, policy, dryRun, o),
  };
}

/** The Redis store with its defaults: redis-server from HOLDFAST_REDIS_SERVER or PATH. */
export const redisStore: StoreModule = createRedisStore({
  redisServer: () => process.env.HOLDFAST_REDIS_SERVER || "redis-server",
  abandonedAfterMs: 24 * 3600_000,
});
