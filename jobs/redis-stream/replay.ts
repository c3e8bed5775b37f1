// Replays a planned point into a throw-away redis-server and keeps what it holds: the server is a
// replica of an in-process primary that first sends the base's RDB as it downloads (checked against
// its manifest as a normal restore checks it), then the staged stream bytes, exactly as the real primary
// sent them. The replica applies them as any replica does; once its replication offset has moved by
// exactly the bytes sent, SAVE writes the dataset, and the saved RDB is scanned and compared key count
// by key count with the server. The data directory is not involved.
import * as fs from "fs";
import * as path from "path";
import { parseInfo } from "../redis/info";
import type { StoreLocation } from "../store/catalog";
import type { DatasetNames } from "../redis-backup/aof-layout";
import { RdbCheck } from "../redis-backup/rdb/check";
import { RdbPrimary } from "../redis-backup/replication/rdb-primary";
import { type Check, compareLoaded, databasesFor, keyspace } from "../redis-backup/scratch/load-check";
import { checkCanLoad } from "../redis-backup/scratch/engine-check";
import { killLeftoverServer, ScratchServer, ScratchServerError } from "../redis-backup/scratch/server";
import { downloadRdb } from "../redis-backup/transfer/download";
import type { PointPlan } from "./point-plan";

/** How to run the replay. */
export interface ReplayOptions {
  names: DatasetNames;
  redisServer: string;
  modules?: string[];
  loadTimeoutMs?: number;
}

/** Files the replay uses in the staging folder. */
export interface ReplayFiles {
  /** The staged stream bytes (from planPoint). */
  stream: string;
  /** Where the base RDB is downloaded. */
  base: string;
  /** The throw-away server's folder. */
  view: string;
  /** Where the replayed dataset's RDB is left. */
  out: string;
}

async function feedFile(primary: RdbPrimary, file: string): Promise<void> {
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }))
    if (!primary.write(chunk as Buffer)) await primary.drained();
}

async function waitOffset(
  server: ScratchServer,
  bytes: number,
  failed: () => Error | undefined,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = failed();
    if (f) throw new ScratchServerError(f.message);
    if (!server.alive)
      throw new ScratchServerError(`the throw-away redis-server ${server.exitReason()} during the replay`);
    const info = parseInfo(String(await server.client.info("replication")));
    const offset = Number(info.master_repl_offset ?? info.slave_repl_offset);
    if (offset === bytes) return;
    if (offset > bytes) throw new ScratchServerError(`the replay went past its end (${offset} > ${bytes})`);
    if (Date.now() > deadline)
      throw new ScratchServerError(`the replay stopped at ${offset} of ${bytes} bytes`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Keys and keys with a TTL, by database. */
export type DatabaseCounts = Record<string, { keys: number; expires: number }>;

/** The key counts of an RDB file by database: keys, and keys with a TTL. */
async function countsOfFile(file: string): Promise<{
  databases: DatabaseCounts;
  sha256: string;
  bytes: number;
}> {
  const check = new RdbCheck({ patterns: [] });
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }))
    check.write(chunk as Buffer);
  const r = check.finish();
  const dbs = Object.entries(r.summary.databases);
  return {
    databases: Object.fromEntries(dbs.map(([db, d]) => [db, { keys: d.keys, expires: d.expires ?? 0 }])),
    sha256: r.sha256,
    bytes: r.bytes,
  };
}

/** Where a replay's time went (ms): the base downloaded and loaded, the stream applied, SAVE, the scan. */
export interface ReplayTimes {
  base: number;
  stream: number;
  save: number;
  scan: number;
}

/**
 * Runs the replay; leaves the dataset's RDB at `files.out`. Resolves to the checks (all passed), the
 * RDB's SHA-256 (for a resumed restore to recheck), its key counts (from its scan, by database) and
 * where the time went.
 * @throws DamagedBackupError (the base), ScratchServerError, Error for a failed check.
 */
export async function replayPoint(
  at: StoreLocation,
  plan: PointPlan,
  files: ReplayFiles,
  o: ReplayOptions,
): Promise<{
  checks: Check[];
  sha256: string;
  size: number;
  databases: DatabaseCounts;
  loadMs: number;
  times?: ReplayTimes;
}> {
  const manifest = plan.base;
  checkCanLoad(o.redisServer, manifest, o.modules);
  killLeftoverServer(files.view);
  fs.rmSync(files.view, { recursive: true, force: true });
  fs.mkdirSync(files.view, { recursive: true });
  const primary = await RdbPrimary.listen();
  let server: ScratchServer | undefined;
  const t0 = Date.now();
  try {
    server = await ScratchServer.start({
      dir: files.view,
      appendonly: false,
      names: o.names,
      redisServer: o.redisServer,
      modules: o.modules,
      replicaOf: primary.port,
      replicaTimeoutS: 300,
      databases: databasesFor(manifest),
    });
    const s = server;
    await primary.connected(60_000, () => s.alive);
    const { scanner } = await downloadRdb(at, manifest, files.base, primary, false);
    primary.end();
    await server.waitSynced(() => primary.error, o.loadTimeoutMs);
    const checks = await compareLoaded(server.client, manifest, scanner, undefined);
    checks[0].name = `the base ${manifest.id} loaded as a replica`;
    if (checks.some((c) => !c.ok))
      return { checks, sha256: "", size: 0, databases: {}, loadMs: Date.now() - t0 };
    const tBase = Date.now();
    await feedFile(primary, files.stream);
    await waitOffset(server, plan.bytes, () => primary.error, o.loadTimeoutMs ?? 3600_000);
    checks.push({
      name: "the stream replayed in full",
      ok: true,
      detail: `${plan.bytes} bytes, offsets ${plan.startOffset}..${plan.cut.offset}, ${plan.segments.length} segments`,
    });
    const tStream = Date.now();
    await server.client.call("SAVE");
    const live = await keyspace(server.client);
    fs.renameSync(path.join(files.view, o.names.dbFilename), files.out);
    const tSave = Date.now();
    const saved = await countsOfFile(files.out);
    const dbs = new Set([...Object.keys(live), ...Object.keys(saved.databases)]);
    for (const db of [...dbs].sort()) {
      const keys = saved.databases[db]?.keys ?? 0;
      checks.push({
        name: `the saved RDB holds db${db} as replayed`,
        ok: (live[db] ?? 0) === keys,
        detail: `${keys} keys (server: ${live[db] ?? 0})`,
      });
    }
    const times = {
      base: tBase - t0,
      stream: tStream - tBase,
      save: tSave - tStream,
      scan: Date.now() - tSave,
    };
    return {
      checks,
      sha256: saved.sha256,
      size: saved.bytes,
      databases: saved.databases,
      loadMs: Date.now() - t0,
      times,
    };
  } finally {
    await server?.stop();
    primary.close();
    fs.rmSync(files.view, { recursive: true, force: true });
    fs.rmSync(files.base, { force: true });
  }
}
