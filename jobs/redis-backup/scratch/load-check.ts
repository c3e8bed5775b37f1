// The proof of a restore: what a redis-server that loaded the restored files holds, compared with what
// the backup's manifest recorded — keys per database (DBSIZE) and keys per pattern (SCAN MATCH, an
// operator's `redis-cli --scan --pattern ... | wc -l`). Keys whose TTL ran out since the backup may be gone,
// so those counts are checked against a range the RDB's own expire times give; without such keys the
// check is exact.
import * as fs from "fs";
import * as path from "path";
import type Redis from "ioredis";
import { buildAofDir, type DatasetNames } from "../aof-layout";
import type { RedisBackupManifest } from "../manifest";
import type { DatabaseSummary, RdbScanner } from "../rdb/scanner";
import type { StoreLocation } from "../../store/catalog";
import { DamagedBackupError, downloadRdb } from "../transfer/download";
import { checkCanLoad } from "./engine-check";
import { RdbPrimary, RdbPrimaryError } from "../replication/rdb-primary";
import { failpoint } from "../failpoint";
import type { RdbCheckResult } from "../rdb/check";
import { killLeftoverServer, LOG_FILE, ScratchServer, ScratchServerError } from "./server";
import { s3TimeoutMs } from "../../store/s3-timeout";

/** One check and its outcome. */
export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

/** Keys per database as INFO keyspace reports them. */
export async function keyspace(c: Redis): Promise<Record<string, number>> {
  const info = String(await c.info("keyspace"));
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^db(\d+):keys=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** Keys of database `db` matching `pattern`, by SCAN (Redis does the matching). */
export async function scanCount(c: Redis, db: string, pattern: string): Promise<number> {
  await c.select(Number(db));
  let cursor = "0";
  let n = 0;
  do {
    const [next, keys] = await c.scanBuffer(cursor, "MATCH", pattern, "COUNT", 10_000);
    cursor = String(next);
    n += keys.length;
  } while (cursor !== "0");
  return n;
}

function range(expected: number, expiredBy: number): { low: number; high: number } {
  return { low: expected - expiredBy, high: expected };
}

function describe(actual: number, r: { low: number; high: number }): string {
  return r.low === r.high
    ? `${actual} (backup: ${r.high})`
    : `${actual} (backup: ${r.high}, ${r.high - r.low} of them expiring since)`;
}

/**
 * Compares a loaded server with the manifest.
 * @param scanner the scan of the same RDB with `expiryFrom` set, for the keys that may have expired.
 */
export async function compareLoaded(
  c: Redis,
  manifest: RedisBackupManifest,
  scanner: RdbScanner,
  /** How the server loaded: the AOF (true), dump.rdb (false), or as a replica (undefined). */
  appendonly: boolean | undefined,
): Promise<Check[]> {
  const checks: Check[] = [];
  if (appendonly === undefined) {
    const replication = String(await c.info("replication"));
    checks.push({
      name: "the throw-away redis-server loaded the RDB as it downloaded (as a replica)",
      ok: /^master_link_status:up/m.test(replication),
      detail: /^master_link_status:\w+/m.exec(replication)?.[0],
    });
  } else {
    const persistence = String(await c.info("persistence"));
    const aofOn = /^aof_enabled:1/m.test(persistence);
    checks.push({
      name: appendonly
        ? "the server loaded the AOF (appendonly yes)"
        : "the server loaded dump.rdb (appendonly no)",
      ok: aofOn === appendonly,
      detail: `aof_enabled:${aofOn ? 1 : 0}`,
    });
  }
  // A second of margin: expire times are bucketed by second.
  const now = Date.now() + 1000;
  const loaded = await keyspace(c);
  const dbs = new Set([...Object.keys(manifest.dataset.databases), ...Object.keys(loaded)]);
  for (const db of [...dbs].sort((a, b) => Number(a) - Number(b))) {
    const expected = manifest.dataset.databases[db];
    const actual = loaded[db] ?? 0;
    if (!expected) {
      checks.push({ name: `db${db} is not in the backup`, ok: false, detail: `${actual} keys loaded` });
      continue;
    }
    const r = range(expected.keys, scanner.expiries(db).expiredAt(now));
    checks.push({
      name: `DBSIZE of db${db}`,
      ok: actual >= r.low && actual <= r.high,
      detail: describe(actual, r),
    });
    for (const [pattern, count] of Object.entries(expected.patterns)) {
      const n = await scanCount(c, db, pattern);
      const pr = range(count, scanner.expiries(db, pattern).expiredAt(now));
      checks.push({
        name: `keys matching ${pattern} in db${db}`,
        ok: n >= pr.low && n <= pr.high,
        detail: describe(n, pr),
      });
    }
  }
  await c.select(0);
  return checks;
}

/** What Redis logs when the RDB it loads is damaged (rdb.c: rdbReportError and its callers). */
export const DAMAGED_RDB =
  /Wrong RDB checksum|RDB checksum|Short read|Bad file format|Internal error in RDB|Unexpected EOF|corrupt/i;

/**
 * The real cause when a throw-away server dies while it loads: a damaged RDB (the backup is damaged) or
 * whatever else its log says — instead of the client's `Connection is closed`.
 */
function loadFailure(
  manifest: RedisBackupManifest,
  viewDir: string,
  server: ScratchServer | undefined,
  err: unknown,
): Error {
  if (err instanceof DamagedBackupError) return err;
  if (err instanceof ScratchServerError && /cannot run/.test(err.message)) return err;
  let log = "";
  try {
    log = fs.readFileSync(path.join(viewDir, LOG_FILE), "utf8");
  } catch {
    // no log: say what the error says
  }
  const damaged = log.split("\n").find((l) => DAMAGED_RDB.test(l));
  if (damaged)
    return new DamagedBackupError(manifest.id, [
      `a redis-server refuses to load its RDB: ${damaged.replace(/^\d+:\w \d+ \w+ \d+ [\d:.]+ [*#.-] /, "").trim()}`,
    ]);
  if (server && !server.alive) {
    const tail = log.trim().split("\n").slice(-3).join(" | ");
    return new ScratchServerError(
      `the throw-away redis-server ${server.exitReason()} while loading the dataset${tail ? `: ${tail}` : ""}`,
    );
  }
  return err as Error;
}

/**
 * The databases a server needs to load the backup: 16 (Redis's default), or one more than the highest
 * database holding keys (a source run with `databases 64` and keys in db 40 needs 41).
 */
export function databasesFor(manifest: RedisBackupManifest): number {
  return Math.max(16, ...Object.keys(manifest.dataset.databases).map((db) => Number(db) + 1));
}

/** How to load a dataset for the check. */
export interface LoadCheckOptions {
  appendonly: boolean;
  names: DatasetNames;
  redisServer: string;
  modules?: string[];
  loadTimeoutMs?: number;
}

/**
 * Lays the RDB at `rdbFile` out in `viewDir` exactly as a restore places it in a data directory (hard
 * links, no copy), loads it in a throw-away redis-server and compares what it holds with the manifest.
 * Removes `viewDir` afterwards.
 */
export async function loadAndCompare(
  rdbFile: string,
  viewDir: string,
  manifest: RedisBackupManifest,
  scanner: RdbScanner,
  o: LoadCheckOptions,
): Promise<{ checks: Check[]; loadMs: number }> {
  checkCanLoad(o.redisServer, manifest, o.modules);
  killLeftoverServer(viewDir);
  fs.rmSync(viewDir, { recursive: true, force: true });
  fs.mkdirSync(viewDir, { recursive: true });
  if (o.appendonly) buildAofDir(viewDir, rdbFile, o.names);
  fs.linkSync(rdbFile, path.join(viewDir, o.names.dbFilename));
  let server: ScratchServer | undefined;
  try {
    server = await ScratchServer.start({ dir: viewDir, ...o, databases: databasesFor(manifest) });
    failpoint("restore-loaded");
    const checks = await compareLoaded(server.client, manifest, scanner, o.appendonly);
    return { checks, loadMs: server.loadedAt - server.loadStartedAt };
  } catch (err) {
    throw loadFailure(manifest, viewDir, server, err);
  } finally {
    await server?.stop();
    fs.rmSync(viewDir, { recursive: true, force: true });
  }
}

/** What a loaded server holds: keys and expires per database, pattern counts per database. */
export async function countLoaded(
  c: Redis,
  patterns: string[],
): Promise<{ databases: Record<string, DatabaseSummary>; keys: number; patterns: Record<string, number> }> {
  const info = String(await c.info("keyspace"));
  const databases: Record<string, DatabaseSummary> = {};
  const total: Record<string, number> = Object.fromEntries(patterns.map((p) => [p, 0]));
  let keys = 0;
  for (const m of info.matchAll(/^db(\d+):keys=(\d+),expires=(\d+)/gm)) {
    const d: DatabaseSummary = { keys: Number(m[2]), expires: Number(m[3]), types: {}, patterns: {} };
    for (const p of patterns) {
      d.patterns[p] = await scanCount(c, m[1], p);
      total[p] += d.patterns[p];
    }
    databases[m[1]] = d;
    keys += d.keys;
  }
  await c.select(0);
  return { databases, keys, patterns: total };
}

/**
 * Downloads the RDB to `file` and, at the same time, loads it into a throw-away redis-server started as
 * a replica of an in-process primary that forwards the download (so loading costs no time after the
 * download); then compares the loaded server with the manifest. Integrity failures of the download
 * (DamagedBackupError) come first.
 */
export async function downloadAndLoad(
  at: StoreLocation,
  manifest: RedisBackupManifest,
  file: string,
  viewDir: string,
  o: LoadCheckOptions,
  /** What to do with the loaded server; default: compare it with the manifest. */
  inspect: (c: Redis, scanner: RdbScanner) => Promise<Check[]> = (c, scanner) =>
    compareLoaded(c, manifest, scanner, undefined),
): Promise<{ result: RdbCheckResult; scanner: RdbScanner; checks: Check[]; loadMs: number }> {
  checkCanLoad(o.redisServer, manifest, o.modules);
  killLeftoverServer(viewDir);
  fs.rmSync(viewDir, { recursive: true, force: true });
  fs.mkdirSync(viewDir, { recursive: true });
  const primary = await RdbPrimary.listen();
  let server: ScratchServer | undefined;
  try {
    // The download may go silent for up to the S3 timeout before it fails; the replica waits that long.
    const replicaTimeoutS = Math.max(60, Math.ceil(s3TimeoutMs(at.client) / 1000) + 30);
    server = await ScratchServer.start({
      dir: viewDir,
      ...o,
      replicaOf: primary.port,
      replicaTimeoutS,
      databases: databasesFor(manifest),
    });
    const s = server;
    await primary.connected(60_000, () => s.alive);
    const started = Date.now();
    // The replica checks the RDB's CRC-64 as it loads; the SHA-256 is checked here.
    const { result, scanner } = await downloadRdb(at, manifest, file, primary, false);
    primary.end();
    const loaded = await server.waitSynced(() => primary.error, o.loadTimeoutMs);
    failpoint("restore-loaded");
    const checks = await inspect(server.client, scanner);
    return { result, scanner, checks, loadMs: loaded - started };
  } catch (err) {
    const cause = loadFailure(manifest, viewDir, server, err);
    if (cause instanceof RdbPrimaryError) throw new ScratchServerError(cause.message);
    throw cause;
  } finally {
    await server?.stop();
    primary.close();
    fs.rmSync(viewDir, { recursive: true, force: true });
  }
}
