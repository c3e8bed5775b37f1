// The stream's part of `drill`: a point-in-time restore to the newest durable moment, rehearsed in a
// scratch folder. The newest chain is planned to its last durable offset (every segment read and
// checked), its base and stream replayed into a throw-away server (replay.ts: the base checked against
// its manifest, the replica's offset moved by exactly the bytes sent, the saved RDB scanned against the
// server's key counts), and the saved RDB then loaded by a fresh server of the same engine, as a data
// directory's redis-server would load it, and its keys compared. Nothing outside the scratch folder is
// touched.
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_NAMES } from "../redis-backup/aof-layout";
import { backupEngine, binaryEngine, checkCanLoad } from "../redis-backup/scratch/engine-check";
import { type Check, databasesFor, keyspace } from "../redis-backup/scratch/load-check";
import { ScratchServer } from "../redis-backup/scratch/server";
import type { StoreLocation } from "../store/catalog";
import { describeEngine } from "../../core/engines";
import { listChains } from "./chain-store";
import { planPoint, type PointPlan } from "./point-plan";
import { type DatabaseCounts, replayPoint } from "./replay";
import { readTimeline } from "./timeline";

/** What the drill of the stream did. */
export interface StreamDrill {
  store: "redis";
  /** `to-offset N` of chain C. */
  id: string;
  ok: boolean;
  checks: Check[];
  chain?: number;
  base?: string;
  toOffset?: number;
  /** When the last replayed command arrived. */
  lastCommandAt?: string;
  durationMs: number;
}

/** Loads the replayed RDB in a fresh server and compares its keys with the replay's scan of it. */
async function loadReplayed(
  rdb: string,
  dir: string,
  plan: PointPlan,
  scanned: DatabaseCounts,
  redisServer: string,
): Promise<Check> {
  fs.mkdirSync(dir, { recursive: true });
  fs.linkSync(rdb, path.join(dir, DEFAULT_NAMES.dbFilename));
  const server = await ScratchServer.start({
    dir,
    appendonly: false,
    names: DEFAULT_NAMES,
    redisServer,
    databases: databasesFor(plan.base),
  });
  try {
    const loaded = await keyspace(server.client);
    const replayed = (db: string) => scanned[db]?.keys ?? 0;
    const dbs = [...new Set([...Object.keys(loaded), ...Object.keys(scanned)])].sort();
    const differ = dbs.filter((db) => (loaded[db] ?? 0) !== replayed(db));
    const total = Object.values(loaded).reduce((a, b) => a + b, 0);
    return {
      name: "a fresh server loads the replayed dataset with the same keys",
      ok: differ.length === 0,
      detail:
        differ.length === 0
          ? `${total} keys in ${dbs.length} databases`
          : differ.map((db) => `db${db}: ${loaded[db] ?? 0} loaded, ${replayed(db)} replayed`).join("; "),
    };
  } finally {
    await server.stop();
  }
}

/**
 * Rehearses a restore to the newest durable moment of the newest chain in `scratch`; undefined when the
 * bucket holds no stream with a base.
 */
export async function drillNewestPoint(
  at: StoreLocation,
  scratch: string,
  redisServer: string,
): Promise<StreamDrill | undefined> {
  const t0 = Date.now();
  const chains = (await listChains(at)).filter((c) => c.record?.base);
  const newest = chains[chains.length - 1];
  if (!newest) return undefined;
  const t = await readTimeline(at);
  const end = t.chains.find((c) => c.chain === newest.chain)?.endOffset ?? newest.record!.offset;
  const report: StreamDrill = {
    store: "redis",
    id: `to-offset ${end}`,
    ok: false,
    checks: [],
    chain: newest.chain,
    toOffset: end,
    durationMs: 0,
  };
  const done = () => ({
    ...report,
    ok: report.checks.length > 0 && report.checks.every((c) => c.ok),
    durationMs: Date.now() - t0,
  });
  let plan: PointPlan;
  const files = {
    stream: path.join(scratch, "stream.bin"),
    base: path.join(scratch, "base.rdb"),
    view: path.join(scratch, "replay"),
    out: path.join(scratch, "replayed.rdb"),
  };
  try {
    // From the chain's own base, whatever backups stand inside it: the drill proves the whole chain.
    plan = await planPoint(at, { offset: end }, files.stream, undefined, undefined, { chainBase: true });
  } catch (err) {
    report.checks.push({
      name: "every segment up to the newest durable command is intact",
      ok: false,
      detail: (err as Error).message,
    });
    return done();
  }
  report.base = plan.base.id;
  report.lastCommandAt = new Date(plan.cut.at).toISOString();
  report.checks.push({
    name: "every segment up to the newest durable command is intact",
    ok: true,
    detail: `${plan.segments.length} segments, offsets ${plan.startOffset}..${plan.cut.offset}`,
  });
  const engine = binaryEngine(redisServer);
  const name = "the throw-away server can load the base's engine";
  try {
    checkCanLoad(redisServer, plan.base);
    report.checks.push({
      name,
      ok: true,
      detail: `${redisServer}${engine ? ` (${describeEngine(engine)})` : ""}; base by ${describeEngine(backupEngine(plan.base))}`,
    });
  } catch (err) {
    report.checks.push({ name, ok: false, detail: (err as Error).message });
    return done();
  }
  try {
    const r = await replayPoint(at, plan, files, { names: DEFAULT_NAMES, redisServer });
    report.checks.push(...r.checks);
    if (r.checks.every((c) => c.ok))
      report.checks.push(
        await loadReplayed(files.out, path.join(scratch, "load"), plan, r.databases, redisServer),
      );
  } catch (err) {
    report.checks.push({ name: "the base and the stream replay", ok: false, detail: (err as Error).message });
  }
  return done();
}
