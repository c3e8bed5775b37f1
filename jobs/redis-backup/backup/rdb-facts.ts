// What a backup's manifest says about the RDB it stored, the same for both ways of taking one: the
// engine that wrote it, its format, the counts, and which checks ran. An RDB the scanner reads gives its
// counts from the scan. One in a format the scanner does not know (a newer Redis, Valkey's own
// numbering) is still backed up, byte for byte, under its SHA-256 and, where its trailer is one, its
// CRC-64 — refusing to back up a healthy server because this Holdfast is older than it would leave no
// backup at all. Its counts then come from a load of the stored object in a throw-away server of the
// jobs image (the pods' own engine and version), and the manifest says so.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeEngine, engineOfInfo, engineOfRdb, type EngineVersion } from "../../../core/engines";
import { log } from "../../cli/log";
import type { StoreLocation } from "../../store/catalog";
import { DEFAULT_NAMES } from "../aof-layout";
import { countLoaded, downloadAndLoad } from "../scratch/load-check";
import type { RedisBackupManifest } from "../manifest";
import type { RdbCheckResult } from "../rdb/check";
import { ScratchServerError } from "../scratch/server";

/** The engine that wrote an RDB: its aux fields, else the source's INFO. */
export function rdbEngine(check: RdbCheckResult, info: Record<string, string | undefined>): EngineVersion {
  return engineOfRdb(check.summary.aux) ?? engineOfInfo(info);
}

/** The manifest fields the RDB decides: engine, format, counts and checks. */
export function rdbFacts(
  check: RdbCheckResult,
  info: Record<string, string | undefined>,
): Pick<RedisBackupManifest, "redis" | "dataset" | "checks"> {
  const s = check.summary;
  const engine = rdbEngine(check, info);
  const checks = [
    `sha256: ${check.sha256}`,
    check.crc === "ok"
      ? `crc64: ok (${check.crc64})`
      : check.crc === "none"
        ? "crc64: none (the RDB carries no checksum)"
        : "crc64: not checked (the last 8 bytes are not a CRC-64 of the rest in this unknown format)",
    s.unread
      ? `scan: skipped (${s.unread})`
      : `scan: ok (RDB ${s.rdbVersion}, ${s.keys} keys${s.emptyKeys ? `, ${s.emptyKeys} empty keys a load drops` : ""})`,
  ];
  if (s.emptyKeys > 0)
    log.warn("the RDB holds empty keys; Redis drops them when it loads it, so they are not counted", {
      emptyKeys: s.emptyKeys,
    });
  return {
    redis: { engine: engine.engine, version: engine.version, rdbVersion: s.rdbVersion },
    dataset: {
      keys: s.keys,
      databases: s.databases,
      patterns: s.patterns,
      functions: s.functions,
      modules: s.modules,
      aux: s.aux,
    },
    checks,
  };
}

/**
 * For an RDB the scanner did not read: loads the stored object in a throw-away server (HOLDFAST_REDIS_SERVER
 * or redis-server, the jobs image's own engine) and takes the counts from what it holds. A server that
 * cannot load it leaves the counts empty and says so in `checks`: the backup is kept (its bytes are
 * intact), and verify, restore and the drill will fail until a binary that reads the format is used.
 */
export async function countUnreadByLoad(
  at: Omit<StoreLocation, "prefix">,
  manifest: RedisBackupManifest,
  patterns: string[],
): Promise<void> {
  if (!manifest.dataset || manifest.checks?.every((c) => !c.startsWith("scan: skipped"))) return;
  const redisServer = process.env.HOLDFAST_REDIS_SERVER || "redis-server";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-backup-load-"));
  const who = describeEngine({ engine: manifest.redis.engine ?? "redis", version: manifest.redis.version });
  try {
    const { loadMs } = await downloadAndLoad(
      { ...at, prefix: "" },
      manifest,
      path.join(dir, "backup.rdb"),
      path.join(dir, "data"),
      { appendonly: false, names: DEFAULT_NAMES, redisServer },
      async (c) => {
        const counted = await countLoaded(c, patterns);
        manifest.dataset.keys = counted.keys;
        manifest.dataset.databases = counted.databases;
        manifest.dataset.patterns = counted.patterns;
        return [];
      },
    );
    manifest.checks!.push(
      `load: ok (${redisServer} loaded it in ${loadMs} ms; counts are what it holds, ${manifest.dataset.keys} keys)`,
    );
  } catch (err) {
    if (!(err instanceof ScratchServerError)) throw err;
    manifest.checks!.push(`load: failed (${err.message})`);
    log.warn(
      `backup ${manifest.id}: stored byte for byte, but no throw-away server here could load this format of ${who}; ` +
        "its counts are unknown and verify, restore and the drill will fail until the jobs image carries that engine",
      { error: err.message },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
