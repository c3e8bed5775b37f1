// The Redis store as the generic commands see it (StoreModule): list committed backups from their
// manifests, verify one end to end (download, integrity, a full load in a throw-away redis-server
// compared with the manifest), and prune by retention — deleting a backup's manifest first, so an
// interrupted prune leaves an uncommitted folder (removed by the next prune) and never a manifest
// whose RDB is gone.
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as path from "path";
import { REDIS_MANIFEST } from "../../components/backup-bucket/layout";
import { log } from "../cli/log";
import { backupTime, isBackupId } from "../store/backup-id";
import type { BackupSummary, PruneReport, StoreLocation, StoreModule, VerifyReport } from "../store/catalog";
import { applyRetention, type RetentionPolicy } from "../store/retention";
import { listObjects, type ListedObject } from "../store/s3";
import { DEFAULT_NAMES } from "./aof-layout";
import { DamagedBackupError, downloadRdb } from "./download";
import { loadAndCompare } from "./load-check";
import { manifestKey, readManifest, summarize } from "./manifest";
import { ScratchServerError } from "./scratch-server";

/** Runs `fn` over `items`, at most `limit` at a time. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** The objects under the Redis prefix, by backup id (names that are not backup ids are ignored). */
async function objectsById(at: StoreLocation): Promise<Map<string, ListedObject[]>> {
  const byId = new Map<string, ListedObject[]>();
  for await (const o of listObjects(at.client, at.bucket, at.layout.redis)) {
    const id = o.key.slice(at.layout.redis.length).split("/")[0];
    if (!isBackupId(id)) continue;
    byId.set(id, [...(byId.get(id) ?? []), o]);
  }
  return byId;
}

/** Ids of the committed backups (those with a manifest), oldest first. */
export async function committedBackups(at: StoreLocation): Promise<string[]> {
  const byId = await objectsById(at);
  return [...byId]
    .filter(([id, objects]) => objects.some((o) => o.key === manifestKey(at.layout, id)))
    .map(([id]) => id)
    .sort();
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
    if (!(err instanceof ScratchServerError)) throw err;
    checks.push({ name: "a redis-server loads the restored dataset", ok: false, detail: err.message });
  } finally {
    fs.rmSync(rdb, { force: true });
  }
  return report();
}

/** Applies retention to the Redis backups. */
async function pruneBackups(
  at: StoreLocation,
  policy: RetentionPolicy,
  dryRun: boolean,
  o: RedisStoreOptions,
): Promise<PruneReport> {
  const byId = await objectsById(at);
  const committed = [...byId.keys()].filter((id) =>
    byId.get(id)!.some((x) => x.key === manifestKey(at.layout, id)),
  );
  const decision = applyRetention(
    committed.map((id) => ({ id, at: backupTime(id) })),
    policy,
  );
  const abandoned = [...byId.keys()].filter(
    (id) => !committed.includes(id) && Date.now() - backupTime(id).getTime() > o.abandonedAfterMs,
  );
  const report: PruneReport = {
    store: "redis",
    kept: [...decision.keep].map(([id, reasons]) => ({ id, reasons })),
    deleted: [...decision.drop, ...abandoned].sort(),
    objectsDeleted: 0,
    bytesDeleted: 0,
    dryRun,
  };
  if (abandoned.length > 0) log.info("uncommitted backup folders to remove", { ids: abandoned });
  for (const id of report.deleted) {
    const objects = byId.get(id)!;
    report.objectsDeleted += objects.length;
    report.bytesDeleted += objects.reduce((n, x) => n + x.size, 0);
    if (dryRun) continue;
    const del = (key: string) => at.client.send(new DeleteObjectCommand({ Bucket: at.bucket, Key: key }));
    // The manifest first: from then on the backup no longer exists, whatever happens to the rest.
    const manifest = objects.find((x) => x.key.endsWith(`/${REDIS_MANIFEST}`));
    if (manifest) await del(manifest.key);
    await mapLimit(
      objects.filter((x) => x !== manifest),
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
    async listBackups(at: StoreLocation): Promise<BackupSummary[]> {
      const ids = await committedBackups(at);
      const summaries = await mapLimit(ids, 8, async (id) => {
        try {
          return summarize(await readManifest(at.client, at.bucket, at.layout, id));
        } catch (err) {
          log.warn("a backup's manifest cannot be read", { id, error: (err as Error).message });
          return undefined;
        }
      });
      return summaries.filter((s): s is BackupSummary => s !== undefined);
    },
    verify: (at, id, scratchDir) => verifyBackup(at, id, scratchDir, o),
    prune: (at, policy, dryRun) => pruneBackups(at, policy, dryRun, o),
  };
}

/** The Redis store with its defaults: redis-server from HOLDFAST_REDIS_SERVER or PATH. */
export const redisStore: StoreModule = createRedisStore({
  redisServer: () => process.env.HOLDFAST_REDIS_SERVER || "redis-server",
  abandonedAfterMs: 24 * 3600_000,
});
