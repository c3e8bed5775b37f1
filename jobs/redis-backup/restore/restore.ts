// `holdfast restore redis`: a hand-run restore_redis.sh done so that nothing is lost and the result is
// proven. In order, each step recorded in a state file before it acts, so a re-run after a crash or a
// SIGKILL picks up where the first run stopped:
//   download  the RDB into a staging folder inside the data directory (same filesystem: the later steps
//             are renames and hard links), checking SHA-256, CRC-64 and the manifest's counts
//   verify    load it in a throw-away redis-server and compare DBSIZE per database and pattern counts
//             with the manifest: by default while it downloads (the server is a replica of an in-process
//             primary forwarding the download), or with --verify layout after it, from the files laid out
//             in the staging folder exactly as they will be placed
//   aside     move what the data directory holds (dump.rdb, appendonlydir/, ...) into
//             holdfast-aside/<time>-pre-restore/ — moved, never deleted
//   place     rename the AOF folder (RDB as base, empty incr, manifest) and link dump.rdb into place
// With --verify serving there is no throw-away load: after `place` the restore starts the redis-server
// that will serve the directory (restore/serving.ts), and its own first load is the verification:
//   serve     the serving server loads the placed files on a private socket (its load checks the
//             CRC-64); DBSIZE per database and pattern counts are compared with the manifest. The
//             RDB's last fsync, started when its download ended, runs during this load and is awaited
//             before the handover. A failed load, check or fsync rolls back: the server is killed, the
//             placed files removed (they are copies of the backup) and the previous dataset moved back
//             from holdfast-aside/
//   handover  the server's port is opened (CONFIG SET port); it is left serving
// Until `aside` the data directory is untouched: a damaged backup or a failed load leaves it as it was.
// After it, a re-run finishes the restore: it checks the staged RDB in full again first (SHA-256, CRC-64,
// counts; downloaded again if a byte changed), and never takes its own half-placed files for the user's.
// The state file is synced to disk before each step that changes what the data directory holds (aside,
// place, handover, rollback), so after a power loss a re-run knows what is there. What it records of the
// serving server's run (`serve` with the server's socket and pid, `done` just before the staging folder
// is removed) is only replaced atomically, not synced: a power loss ends that server, and a re-run from
// the synced `place` places the same files again, as it would after any kill in that step.
import * as fs from "fs";
import * as path from "path";
import { OperationError, UsageError } from "../../cli/errors";
import { log } from "../../cli/log";
import { ASIDE_DIR, compactTime, datasetEntries } from "../../redis-pod/aside";
import { resolveBackup, skippedForLatest, type StoreLocation } from "../../store/catalog";
import {
  aofFiles,
  aofManifestText,
  buildAofDir,
  type DatasetNames,
  pointAofFiles,
  syncDir,
} from "../aof-layout";
import { checkLocalRdb, DamagedBackupError, downloadRdb, fsyncFile } from "../transfer/download";
import { failpoint } from "../failpoint";
import { readManifest, type RedisBackupManifest } from "../manifest";
import type { RdbScanner } from "../rdb/scanner";
import type { RdbCheckResult } from "../rdb/check";
import { checkCanLoad } from "../scratch/engine-check";
import {
  type Check,
  compareLoaded,
  DAMAGED_RDB,
  databasesFor,
  downloadAndLoad,
  loadAndCompare,
} from "../scratch/load-check";
import {
  connectServing,
  findServing,
  killServing,
  newSocket,
  openPort,
  portFree,
  ServingLoadError,
  type ServingRecord,
  ServingServer,
} from "./serving";
import type Redis from "ioredis";
import { scanRedisBackups } from "../store";
import { Took } from "./took";
import { planPoint, pointId, type PointPlan, type PointTarget } from "../../redis-stream/point-plan";
import { type DatabaseCounts, replayPoint } from "../../redis-stream/replay";
import {
  pointLoadChecks,
  servedKeyCounts,
  sha256Of,
  stagedStreamName,
  StagedStreamMatch,
  stagePointFiles,
} from "../../redis-stream/point-stage";

/** The staging folder inside a data directory; only the restore writes and removes it. */
export const STAGING_DIR = "holdfast-restore";

/** The steps of a restore, in order. */
export type RestorePhase =
  "download" | "verify" | "aside" | "place" | "serve" | "handover" | "done" | "rollback";
const ORDER: RestorePhase[] = [
  "download",
  "verify",
  "aside",
  "place",
  "serve",
  "handover",
  "done",
  "rollback",
];

/** How a restore proves the dataset (see RestoreOptions.verify). */
export type VerifyMode = "concurrent" | "layout" | "serving";

/** What the state file records. */
export interface RestoreState {
  version: 1;
  id: string;
  phase: RestorePhase;
  startedAt: string;
  /** Where the data directory's previous dataset went (set before anything is moved). */
  asideDir?: string;
  /**
   * A point: the staged RDB's hash, size and keys (a resumed run rechecks it); with --verify serving the
   * RDB is the base, `stream` the SHA-256 of the stream bytes staged as the AOF's first incremental file,
   * and the keys are known only once the serving server has loaded them.
   */
  staged?: { sha256: string; size: number; keys?: number; databases?: DatabaseCounts; stream?: string };
  pid: number;
  /** How this restore proves the dataset (absent in the states of older versions: as asked). */
  verify?: VerifyMode;
  /** --verify serving: the server that loads the placed dataset and serves it. */
  serving?: ServingRecord;
  /** Rolling back: the placed files are out, the previous dataset is going back. */
  returning?: boolean;
  /** Rolling back: why (a re-run that finishes the rollback reports it again). */
  failure?: string;
}

/** What a restore needs. */
export interface RestoreOptions {
  at: StoreLocation;
  /** A backup id or `latest` (ignored with `point`). */
  backup: string;
  /** Restore to this point of the stream instead: the newest base before it and the replayed stream. */
  point?: PointTarget;
  dataDir: string;
  /** Lay the dataset out for `appendonly yes` (the AOF folder) or `no` (dump.rdb only). */
  appendonly: boolean;
  names: DatasetNames;
  redisServer: string;
  modules?: string[];
  loadTimeoutMs?: number;
  /**
   * How the restored dataset is proven before the data directory is touched: `concurrent` loads it into
   * a throw-away redis-server (as a replica) while it downloads; `layout` loads, after the download, the
   * files laid out exactly as they will be placed (the AOF with appendonly yes), with appendonly as
   * configured; `serving` places the dataset (the previous one kept aside) and starts the redis-server
   * that serves the directory, whose own first load is the verification (rolled back if it fails). All
   * compare DBSIZE per database and pattern counts with the manifest.
   */
  verify: VerifyMode;
  /** --verify serving: the port the server serves on, and its redis.conf. */
  serve?: { port: number; config?: string };
}

/** A finished restore. */
export interface RestoreOutcome {
  id: string;
  /** The backup's manifest (for a point, its base's). */
  manifest: RedisBackupManifest;
  /** Keys of the restored dataset. */
  keys: number;
  /** A replayed point: keys and keys with a TTL per database (what a stack restore compares with). */
  databases?: DatabaseCounts;
  /** Where the previous dataset is kept, if the directory held one. */
  asideDir?: string;
  checks: Check[];
  /** The run continued an interrupted restore. */
  resumed: boolean;
  /** How the dataset was proven. */
  verification: VerifyMode;
  /** --verify serving: the redis-server left serving the directory. */
  serving?: { pid: number; port: number };
  timings: { downloadMs: number; verifyMs: number; placeMs: number; totalMs: number };
  /** Where the time went, step by step in ms (see Took): they add up to `timings.totalMs`. */
  took: Record<string, number>;
}

/** The loaded dataset did not match the manifest; the data directory was not touched. */
export class RestoreVerificationError extends Error {
  constructor(
    readonly id: string,
    readonly checks: Check[],
  ) {
    super(
      `the restored dataset of backup ${id} does not match its manifest: ` +
        checks
          .filter((c) => !c.ok)
          .map((c) => `${c.name}: ${c.detail}`)
          .join("; "),
    );
    this.name = "RestoreVerificationError";
  }
}

/**
 * The serving server's load or its checks failed and the restore was rolled back: the server is gone,
 * the placed files removed, the previous dataset back where it was.
 */
export class RolledBackError extends Error {
  constructor(
    message: string,
    /** Where the previous dataset is now: back in the data directory. */
    readonly dataDir: string,
    /** The checks the serving server's load was compared with, when it got that far. */
    readonly checks: Check[] = [],
  ) {
    super(message);
    this.name = "RolledBackError";
  }
}

function stagingPaths(dataDir: string) {
  const staging = path.join(dataDir, STAGING_DIR);
  return {
    staging,
    state: path.join(staging, "state.json"),
    lock: path.join(staging, "lock"),
    rdb: path.join(staging, "backup.rdb"),
    /** A point restored with --verify serving: the stream bytes up to the cut, placed as AOF. */
    stream: path.join(staging, "stream.aof"),
    partial: path.join(staging, "backup.rdb.partial"),
    view: path.join(staging, "verify"),
    place: path.join(staging, "place"),
  };
}

/** Reads the state of an interrupted restore, if any. */
export function readRestoreState(dataDir: string): RestoreState | undefined {
  const file = stagingPaths(dataDir).state;
  if (!fs.existsSync(file)) return undefined;
  try {
    const s = JSON.parse(fs.readFileSync(file, "utf8")) as RestoreState;
    return ORDER.includes(s.phase) ? s : undefined;
  } catch {
    return undefined;
  }
}

function writeState(dataDir: string, state: RestoreState, durable = true): void {
  const { state: file } = stagingPaths(dataDir);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, JSON.stringify(state, null, 2) + "\n");
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (durable) syncDir(path.dirname(file));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the data directory's restore lock; a lock of a dead process is taken over. */
function lock(dataDir: string): () => void {
  const { staging, lock: file } = stagingPaths(dataDir);
  fs.mkdirSync(staging, { recursive: true });
  for (let i = 0; i < 2; i++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(fs.readFileSync(file, "utf8"));
      if (holder !== process.pid && alive(holder))
        throw new UsageError(`another restore (pid ${holder}) is running in ${dataDir}`);
      fs.rmSync(file, { force: true });
    }
  }
  throw new UsageError(`cannot lock ${dataDir} for the restore`);
}

/** The entries of the data directory that make up a dataset (what is moved aside). */
export function datasetIn(dataDir: string, names: DatasetNames): string[] {
  const entries = new Set(datasetEntries(dataDir));
  for (const n of [names.dbFilename, names.appendDirname])
    if (fs.existsSync(path.join(dataDir, n))) entries.add(n);
  entries.delete(STAGING_DIR);
  entries.delete(ASIDE_DIR);
  return [...entries].sort();
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

/** A new, unused folder under holdfast-aside/. */
function newAsideDir(dataDir: string, reason: string): string {
  const base = path.join(dataDir, ASIDE_DIR, `${compactTime()}-${reason}`);
  let dir = base;
  for (let n = 2; fs.existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}

/** Moves `entries` of the data directory into `asideDir` (renames: same filesystem, nothing copied). */
function moveAside(dataDir: string, entries: string[], asideDir: string): void {
  fs.mkdirSync(asideDir, { recursive: true });
  for (const e of entries) {
    let target = path.join(asideDir, e);
    for (let n = 2; fs.existsSync(target); n++) target = path.join(asideDir, `${e}.${n}`);
    fs.renameSync(path.join(dataDir, e), target);
    failpoint("restore-aside-entry");
  }
  syncDir(asideDir);
  syncDir(dataDir);
}

/**
 * Whether `entry` of the data directory is what an earlier run of this restore placed (for a point
 * served from its stream: the base and the stream's file, and the empty one the server appends to).
 */
function placedByUs(
  dataDir: string,
  entry: string,
  rdb: string,
  names: DatasetNames,
  stream?: string,
): boolean {
  const p = path.join(dataDir, entry);
  if (entry === names.dbFilename) return sameFile(p, rdb);
  if (entry === names.appendDirname) {
    const f = aofFiles(names);
    const files = fs.readdirSync(p).sort();
    if (stream) {
      const s = pointAofFiles(names);
      return (
        sameFile(path.join(p, f.base), rdb) &&
        sameFile(path.join(p, s.stream), stream) &&
        files.every((x) => [f.base, s.stream, s.next, f.manifest].includes(x))
      );
    }
    return (
      sameFile(path.join(p, f.base), rdb) &&
      files.every((x) => [f.base, f.incr, f.manifest].includes(x)) &&
      (!fs.existsSync(path.join(p, f.incr)) || fs.statSync(path.join(p, f.incr)).size === 0)
    );
  }
  return false;
}

/** Gives placed files the data directory's owner when running as root (Redis runs as uid 999). */
function matchOwner(dataDir: string, entries: string[]): void {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return;
  const { uid, gid } = fs.statSync(dataDir);
  const own = (p: string) => {
    fs.lchownSync(p, uid, gid);
    if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) own(path.join(p, e));
  };
  for (const e of entries) own(path.join(dataDir, e));
}

function checkSpace(dir: string, bytes: number): void {
  const statfs = (fs as unknown as { statfsSync?: (p: string) => { bavail: number; bsize: number } })
    .statfsSync;
  if (!statfs) return;
  const s = statfs(dir);
  const free = s.bavail * s.bsize;
  const need = bytes + 64 * 1024 * 1024;
  if (free < need)
    throw new UsageError(
      `${dir} has ${Math.floor(free / 2 ** 20)} MiB free; the backup needs ${Math.ceil(need / 2 ** 20)} MiB`,
    );
}

/**
 * A redis-server working in `dir` (its current directory is its `dir`), if this machine can see one.
 * In Kubernetes the restore runs in its own pod and sees none: there Redis must be scaled to zero.
 */
export function redisServerIn(dir: string): number | undefined {
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  const target = fs.realpathSync(dir);
  for (const pid of pids) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/cwd`) !== target) continue;
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (/(^|\/)(redis|valkey)-server/.test(cmd.split("\0")[0])) return Number(pid);
    } catch {
      // gone, or not ours to look at
    }
  }
  return undefined;
}

/** What is being restored: a backup, or a point of the stream (a base and its replayed segments). */
interface RestoreSource {
  /** The id the state file records: a backup id, or `to-time <time>` / `to-offset <n>`. */
  id: string;
  /** The backup's manifest (for a point: filled in by the replay with its base's). */
  manifest?: RedisBackupManifest;
}

/** A restore under way: its paths, state and how it records a step. */
interface RestoreRun {
  o: RestoreOptions;
  p: ReturnType<typeof stagingPaths>;
  state: RestoreState;
  resumed: boolean;
  /**
   * Records the step (the state file is replaced atomically). `durable` (the default) syncs it to disk
   * first; the header of this file says which records need not survive a power loss.
   */
  step(phase: RestorePhase, extra?: Partial<RestoreState>, durable?: boolean): void;
  past(phase: RestorePhase): boolean;
  took: Took;
}

/** What the staging steps produced: the checks that passed and their times. */
interface Staged {
  manifest: RedisBackupManifest;
  checks: Check[];
  downloadMs: number;
  verifyMs: number;
  /** Keys of the staged dataset, when not the manifest's (a replayed point). */
  keys?: number;
  databases?: DatabaseCounts;
  /** The scan of the staged RDB (expire times for the serving server's checks). */
  scanner?: RdbScanner;
  /**
   * --verify serving: the staged RDB's final fsync, started when its download ended and left running
   * while the dataset is placed and loaded; the port opens only once it has resolved.
   */
  durable?: Promise<void>;
}

/** Refuses to restore under a running redis-server (but for the serving server this restore started). */
function refuseRunningServer(dataDir: string, prior: RestoreState | undefined): void {
  const running = redisServerIn(dataDir);
  if (running && running === findServing(prior?.serving?.socket)) return;
  if (running)
    throw new UsageError(
      `a redis-server (pid ${running}) is running in ${dataDir}: stop it before restoring (in Kubernetes, scale the StatefulSet to zero)`,
    );
}

/** How a restore is named to the operator: `backup <id>`, or the point (`to-time <time>`). */
export function restoreName(id: string): string {
  return id.startsWith("to-") ? id : `backup ${id}`;
}

/**
 * What an earlier restore left in the data directory means for this one: from `aside` on, the directory
 * holds part of that restore and only finishing it is safe.
 * @param prior the state file's record, if any.
 * @param requested the backup id, `latest`, or the point's id (`to-time <time>`, see pointId).
 * @returns "finish" when this run finishes it; undefined when nothing stands in the way.
 * @throws UsageError when an unfinished restore of something else is in the directory.
 */
export function unfinishedRestore(
  prior: RestoreState | undefined,
  requested: string,
  dataDir: string,
): "finish" | undefined {
  const touched = prior !== undefined && ORDER.indexOf(prior.phase) >= ORDER.indexOf("aside");
  if (!touched) return undefined;
  if (requested === "latest" || requested === prior.id) return "finish";
  if (prior.phase === "done") return undefined;
  throw new UsageError(
    `an interrupted restore of ${restoreName(prior.id)} is in ${dataDir} (the previous data is in ${prior.asideDir ?? "no folder: there was none"}); ` +
      `finish it first by re-running with ${prior.id.startsWith("to-") ? `--${prior.id}` : `--backup ${prior.id}`}`,
  );
}

/**
 * Decides what this run restores: an interrupted restore that touched the directory must be finished
 * first; otherwise the backup asked for (resolved in the catalogue) or the point.
 */
async function chooseSource(o: RestoreOptions, prior: RestoreState | undefined): Promise<RestoreSource> {
  const requested = o.point ? pointId(o.point) : o.backup;
  const pending = unfinishedRestore(prior, requested, o.dataDir);
  if (pending === "finish") return { id: prior!.id };
  if (o.point) return { id: requested };
  const { catalog, manifests } = await scanRedisBackups(o.at);
  const chosen = resolveBackup(catalog, o.backup);
  const skipped = o.backup === "latest" ? skippedForLatest(catalog, chosen) : [];
  if (skipped.length > 0)
    log.warn("latest skips damaged backups newer than the one restored", {
      backup: chosen.id,
      damaged: skipped.map((d) => `${d.id}: ${d.problem}`),
    });
  return { id: chosen.id, manifest: manifests.get(chosen.id) };
}

function startRun(o: RestoreOptions, prior: RestoreState | undefined, id: string, took: Took): RestoreRun {
  const requested = o.point ? pointId(o.point) : o.backup;
  const keep =
    prior && prior.id === id && (prior.phase !== "done" || requested === "latest" || requested === id);
  const fresh: RestoreState = {
    version: 1,
    id,
    phase: "download",
    startedAt: new Date().toISOString(),
    pid: process.pid,
    verify: o.verify,
    serving: o.verify === "serving" ? { port: o.serve?.port ?? 6379, config: o.serve?.config } : undefined,
  };
  // Past the download, an interrupted restore goes on as it started: a serving restore's dataset is
  // proven only by the serving load, which a switch to another mode would skip.
  const state = keep
    ? prior.phase === "download"
      ? { ...fresh, startedAt: prior.startedAt, asideDir: prior.asideDir }
      : { ...prior, pid: process.pid }
    : fresh;
  const mode = state.verify ?? o.verify;
  if (mode !== o.verify)
    log.warn("continuing the interrupted restore with the verification it started with", {
      restore: id,
      verify: mode,
      asked: o.verify,
    });
  const run: RestoreRun = {
    o: { ...o, verify: mode },
    p: stagingPaths(o.dataDir),
    state,
    resumed: false,
    step(phase, extra = {}, durable = true) {
      run.state = { ...run.state, ...extra, phase };
      writeState(o.dataDir, run.state, durable);
    },
    past: (phase) => ORDER.indexOf(run.state.phase) > ORDER.indexOf(phase),
    took,
  };
  run.resumed = prior !== undefined && run.state.startedAt === prior.startedAt && prior.phase !== "download";
  if (run.resumed) log.info("continuing an interrupted restore", { restore: id, phase: run.state.phase });
  return run;
}

/** Runs (or resumes) a restore. */
export async function restoreRedis(o: RestoreOptions): Promise<RestoreOutcome> {
  const t0 = Date.now();
  const took = new Took();
  const prior = readRestoreState(o.dataDir);
  refuseRunningServer(o.dataDir, prior);
  const source = await chooseSource(o, prior);
  log.info("restoring", { restore: source.id, requested: o.point ? pointId(o.point) : o.backup });
  const p = stagingPaths(o.dataDir);
  const unlock = lock(o.dataDir);
  try {
    const run = startRun(o, prior, source.id, took);
    if (run.state.phase === "rollback") await finishRollback(run);
    if (run.o.verify === "serving" && !run.past("place")) await checkServingStart(run, source.manifest);
    took.end("prepare");
    const staged = o.point ? await stagePoint(run, o.point) : await stageBackup(run, source);
    const tPlace = Date.now();
    placeStaged(run);
    const placeMs = Date.now() - tPlace;
    took.end("place");
    const served = await serveRestored(run, staged);
    if (served?.counts) {
      staged.databases = served.counts;
      staged.keys = Object.values(served.counts).reduce((n, d) => n + d.keys, 0);
    }
    fs.rmSync(p.staging, { recursive: true, force: true });
    syncDir(o.dataDir);
    took.end("cleanup");
    return {
      id: source.id,
      manifest: staged.manifest,
      keys: staged.keys ?? staged.manifest.dataset.keys,
      databases: staged.databases,
      asideDir: run.state.asideDir,
      checks: [...staged.checks, ...(served?.checks ?? [])],
      resumed: run.resumed,
      verification: run.o.verify,
      serving: served?.server,
      timings: {
        downloadMs: staged.downloadMs,
        verifyMs: staged.verifyMs + (served?.ms ?? 0),
        placeMs,
        totalMs: Date.now() - t0,
      },
      took: took.steps(),
    };
  } catch (err) {
    // Before `aside` the directory is untouched: drop the staging files, so it is exactly as it was.
    const now = readRestoreState(o.dataDir);
    if (!now || ORDER.indexOf(now.phase) < ORDER.indexOf("aside"))
      fs.rmSync(p.staging, { recursive: true, force: true });
    throw err;
  } finally {
    if (fs.existsSync(p.staging)) unlock();
  }
}

/** What the download (or a re-run's check of the staged file) proved, as checks for the outcome. */
function downloadChecks(result: RdbCheckResult, manifest: RedisBackupManifest, crcBy: string): Check[] {
  return [
    {
      name: "the RDB's SHA-256 and size equal the manifest's",
      ok: true,
      detail: `sha256 ${result.sha256.slice(0, 16)}…, ${result.bytes} bytes`,
    },
    {
      name: "keys per database and pattern in the RDB (scanned as it was read) equal the manifest's",
      ok: true,
      detail: result.summary.unread
        ? "not scanned (a format the scanner does not read): the load compares them"
        : `${manifest.dataset.keys} keys`,
    },
    { name: "the RDB's CRC-64", ok: true, detail: result.crcPresent ? crcBy : "the RDB carries none" },
  ];
}

/** The `download` and `verify` steps of a backup: the RDB staged and proven, the state at `aside`. */
async function stageBackup(run: RestoreRun, source: RestoreSource): Promise<Staged> {
  const { o, p, state } = run;
  const id = source.id;
  const manifest = source.manifest ?? (await readManifest(o.at.client, o.at.bucket, o.at.layout, id));
  let scanner: RdbScanner | undefined;
  let durable: Promise<void> | undefined;
  let checks: Check[] = [];
  const tDownload = Date.now();
  if (run.past("verify") && !["handover", "done"].includes(state.phase)) {
    const r = await recheckStaged(o, manifest, p.rdb, p.partial);
    scanner = r.scanner;
    checks = downloadChecks(r.result, manifest, "computed here, equal to the RDB's own");
    // A staged RDB downloaded again is a new file: place it again (what was placed is kept aside).
    if (r.replaced && run.past("place")) run.step("place");
  }
  let verifyMs = 0;
  const databases = databasesFor(manifest);
  if (databases > 16 && !run.resumed)
    log.warn(
      `backup ${id} holds keys in db${databases - 1}: the Redis that serves ${o.dataDir} needs databases ${databases} or more in its configuration, or it refuses to load it`,
    );
  if (state.phase === "download" || (!run.past("verify") && !fs.existsSync(p.rdb))) {
    run.step("download");
    fs.rmSync(p.rdb, { force: true });
    checkSpace(o.dataDir, manifest.objects["dump.rdb"].size);
    log.info("downloading", { backup: id, bytes: manifest.objects["dump.rdb"].size, verification: o.verify });
    if (o.verify === "concurrent") {
      // Loaded by a throw-away server while it downloads: verified when the download ends.
      const d = await downloadAndLoad(o.at, manifest, p.partial, p.view, o);
      checks = [
        ...downloadChecks(d.result, manifest, "checked by the throw-away redis-server's load"),
        ...d.checks,
      ];
      verifyMs = d.loadMs;
      if (checks.some((c) => !c.ok)) throw new RestoreVerificationError(id, checks);
      fs.renameSync(p.partial, p.rdb);
      failpoint("restore-downloaded");
      run.step("aside", { asideDir: run.state.asideDir ?? newAsideDir(o.dataDir, "pre-restore") });
    } else {
      // The layout or serving load checks the RDB's CRC-64; the download checks the SHA-256. Serving:
      // the file's last fsync runs on while it is placed and loaded (awaited before the handover).
      const d = await downloadRdb(o.at, manifest, p.partial, undefined, false, o.verify === "serving");
      scanner = d.scanner;
      durable = d.durable;
      // Awaited before the handover; this keeps a failure on a path that never gets there (a failed
      // placement or load) from being unhandled.
      durable?.catch(() => undefined);
      const by = o.verify === "serving" ? "the serving redis-server's load" : "the layout load";
      checks = downloadChecks(d.result, manifest, `checked by ${by}`);
      fs.renameSync(p.partial, p.rdb);
      failpoint("restore-downloaded");
      // Serving: nothing is loaded before the dataset is placed; the serving server's load proves it.
      if (o.verify === "serving")
        run.step("aside", { asideDir: run.state.asideDir ?? newAsideDir(o.dataDir, "pre-restore") });
      else run.step("verify");
    }
  } else if (run.state.phase === "verify") {
    const r = await checkLocalRdb(p.rdb, manifest);
    scanner = r.scanner;
    checks = downloadChecks(r.result, manifest, "computed here, equal to the RDB's own");
  }
  const downloadMs = Date.now() - tDownload;
  run.took.end("download");

  // verify (after the download: the layout as it will be placed, or a re-run's staged file)
  const tVerify = Date.now();
  if (run.state.phase === "verify") {
    log.info("loading the dataset in a throw-away redis-server", { backup: id, appendonly: o.appendonly });
    failpoint("restore-verify");
    const loaded = await loadAndCompare(p.rdb, p.view, manifest, scanner!, o);
    checks = [...checks, ...loaded.checks];
    if (checks.some((c) => !c.ok)) throw new RestoreVerificationError(id, checks);
    run.step("aside", { asideDir: run.state.asideDir ?? newAsideDir(o.dataDir, "pre-restore") });
    verifyMs = Date.now() - tVerify;
  }
  run.took.end("verify");
  return { manifest, checks, downloadMs, verifyMs, scanner, durable };
}

/** What a point restore logs of its plan: the base, the chain's segments and where it cuts. */
function pointFields(plan: PointPlan): Record<string, string | number> {
  return {
    base: plan.base.id,
    chain: plan.chain,
    segments: plan.segments.length,
    bytes: plan.bytes,
    until: new Date(plan.cut.at).toISOString(),
    offset: plan.cut.offset,
  };
}

/**
 * The `download` step of a point: the chain checked and its bytes staged, the base and the stream
 * replayed into a throw-away server, its saved RDB staged and proven; the state at `aside`. A resumed
 * run whose staged RDB is no longer the one proven replays again (the data directory is not involved).
 */
async function stagePoint(run: RestoreRun, target: PointTarget): Promise<Staged> {
  if (run.o.verify === "serving") return stagePointForServing(run, target);
  const { o, p } = run;
  const t0 = Date.now();
  if (run.state.phase === "done" || (run.past("verify") && run.state.staged)) {
    const sha = fs.existsSync(p.rdb) ? await sha256Of(p.rdb) : "";
    if (run.state.phase === "done" || sha === run.state.staged!.sha256) {
      const plan = await planPoint(o.at, target);
      run.took.end("plan");
      const st = run.state.staged;
      return {
        manifest: plan.base,
        checks: [],
        downloadMs: 0,
        verifyMs: 0,
        keys: st?.keys,
        databases: st?.databases,
      };
    }
    log.warn("the staged RDB is not the replayed dataset any more; replaying again", {
      restore: run.state.id,
    });
  }
  if (!run.past("verify")) run.step("download");
  const streamFile = path.join(p.staging, "stream.bin");
  const plan = await planPoint(o.at, target, streamFile);
  run.took.end("plan");
  log.info("replaying", pointFields(plan));
  checkSpace(o.dataDir, 2 * plan.base.objects["dump.rdb"].size + plan.bytes);
  const tReplay = Date.now();
  const r = await replayPoint(
    o.at,
    plan,
    { stream: streamFile, base: p.partial, view: p.view, out: p.rdb },
    o,
  );
  log.info("replayed", { ...r.times, planMs: tReplay - t0 });
  run.took.end("replay");
  if (r.checks.some((c) => !c.ok)) throw new RestoreVerificationError(run.state.id, r.checks);
  fs.rmSync(streamFile, { force: true });
  syncDir(p.staging);
  failpoint("restore-downloaded");
  // The replay's own scan of the saved RDB counted its keys.
  const databases = r.databases;
  const keys = Object.values(databases).reduce((n, d) => n + d.keys, 0);
  run.step(run.past("aside") ? run.state.phase : "aside", {
    asideDir: run.state.asideDir ?? newAsideDir(o.dataDir, "pre-restore"),
    staged: { sha256: r.sha256, size: r.size, keys, databases },
  });
  run.took.end("count");
  return {
    manifest: plan.base,
    checks: r.checks,
    downloadMs: Date.now() - t0 - r.loadMs,
    verifyMs: r.loadMs,
    keys,
    databases,
  };
}

/** A point staged for the serving server's load: the staged stream file (placed as AOF); else none. */
function streamOf(run: RestoreRun): string | undefined {
  return run.state.staged?.stream ? run.p.stream : undefined;
}

/**
 * The `download` step of a point with --verify serving: the chain checked and its bytes staged up to the
 * cut, the base downloaded and checked (SHA-256, CRC-64, key counts), the stream read back as whole
 * commands; nothing is loaded here: the serving server's own load of the AOF they make (base and
 * stream) is the only one. The state at `aside`. A resumed run whose staged files are no longer the ones
 * checked stages them again (and places them again if it had).
 */
async function stagePointForServing(run: RestoreRun, target: PointTarget): Promise<Staged> {
  const { o, p } = run;
  const t0 = Date.now();
  if (!o.appendonly)
    throw new UsageError(
      "a point restored with --verify serving is placed as AOF: it needs --appendonly yes",
    );
  const st = run.state.staged;
  if (run.state.phase === "done" || (run.past("verify") && st?.stream)) {
    const plan = await replannedIfStaged(run, target);
    if (plan) {
      run.took.end("plan");
      return { manifest: plan.base, checks: [], downloadMs: 0, verifyMs: 0 };
    }
    log.warn("the staged base or stream is not the one checked any more; staging them again", {
      restore: run.state.id,
    });
  }
  if (!run.past("verify")) run.step("download");
  const r = await stagePointFiles(
    o.at,
    target,
    { partial: p.partial, base: p.rdb, stream: p.stream },
    (base) => checkSpace(o.dataDir, base.objects["dump.rdb"].size),
  );
  const plan = r.plan;
  // The base downloads alongside the plan; `base` is only the wait for it after the plan ended.
  run.took.first("plan", r.times.plan);
  run.took.end("base");
  log.info("staged the base and the stream as the AOF the serving redis-server loads", {
    ...pointFields(plan),
    planMs: r.times.plan,
    baseMs: r.times.base,
  });
  syncDir(p.staging);
  failpoint("restore-downloaded");
  const phase = run.past("place") ? "place" : run.past("aside") ? run.state.phase : "aside";
  run.step(phase, {
    asideDir: run.state.asideDir ?? newAsideDir(o.dataDir, "pre-restore"),
    staged: { sha256: r.baseSha256, size: fs.statSync(p.rdb).size, stream: stagedStreamName(plan) },
  });
  run.took.end("sync");
  return { manifest: plan.base, checks: r.checks, downloadMs: Date.now() - t0, verifyMs: 0 };
}

/**
 * A resumed point restore's plan when the files it staged are still the ones checked: the base's
 * SHA-256 as recorded, and the stream file byte for byte the chain's bytes up to the same cut, read and
 * checked again from the bucket. Undefined when they are not (they are staged again). A finished
 * restore only plans (its files are placed).
 */
async function replannedIfStaged(run: RestoreRun, target: PointTarget): Promise<PointPlan | undefined> {
  const { o, p } = run;
  if (run.state.phase === "done") return planPoint(o.at, target);
  const st = run.state.staged!;
  if (!fs.existsSync(p.rdb) || !fs.existsSync(p.stream) || (await sha256Of(p.rdb)) !== st.sha256) return;
  const match = new StagedStreamMatch(p.stream);
  try {
    const plan = await planPoint(o.at, target, undefined, undefined, (piece) => match.write(piece));
    return match.finish() && stagedStreamName(plan) === st.stream ? plan : undefined;
  } finally {
    match.close();
  }
}

/** The `aside` and `place` steps: the previous dataset moved aside, the staged RDB placed. */
function placeStaged(run: RestoreRun): void {
  const { o, p } = run;
  if (run.state.phase === "aside") {
    const entries = datasetIn(o.dataDir, o.names);
    const asideDir = run.state.asideDir;
    if (entries.length > 0) {
      log.info("moving the current dataset aside", { entries, to: asideDir });
      moveAside(o.dataDir, entries, asideDir!);
    } else if (asideDir && fs.existsSync(asideDir) && fs.readdirSync(asideDir).length === 0) {
      fs.rmdirSync(asideDir);
    }
    const kept = asideDir && fs.existsSync(asideDir) ? asideDir : undefined;
    failpoint("restore-aside");
    run.step("place", { asideDir: kept });
  }
  if (run.state.phase !== "place") return;
  const stream = streamOf(run);
  const leftovers: string[] = [];
  for (const e of datasetIn(o.dataDir, o.names)) {
    if (placedByUs(o.dataDir, e, p.rdb, o.names, stream))
      fs.rmSync(path.join(o.dataDir, e), { recursive: true, force: true });
    else leftovers.push(e);
  }
  if (leftovers.length > 0) {
    // Something appeared in the directory since our run moved the dataset aside: keep it too.
    const dir = newAsideDir(o.dataDir, "restore-leftover");
    log.warn("keeping unexpected files aside", { entries: leftovers, to: dir });
    moveAside(o.dataDir, leftovers, dir);
  }
  const placed: string[] = [];
  if (o.appendonly) {
    const built = buildAofDir(p.place, p.rdb, o.names, stream);
    failpoint("restore-place");
    fs.renameSync(built, path.join(o.dataDir, o.names.appendDirname));
    placed.push(o.names.appendDirname);
  }
  // A point's base alone is not the point: it is placed only as the AOF's base, never as dump.rdb.
  if (!stream) {
    fs.linkSync(p.rdb, path.join(o.dataDir, o.names.dbFilename));
    placed.push(o.names.dbFilename);
  }
  matchOwner(o.dataDir, placed);
  syncDir(o.dataDir);
  checkPlacement(o, p.rdb, stream);
  // Serving: `place` on disk is as good as `serve` after a power loss (the re-run places again).
  if (run.o.verify === "serving") run.step("serve", {}, false);
  else run.step("done");
}

/** Before the data directory is touched: the serving server can load the backup and its port is free. */
async function checkServingStart(run: RestoreRun, manifest: RedisBackupManifest | undefined): Promise<void> {
  const { o } = run;
  if (manifest) checkCanLoad(o.redisServer, manifest, o.modules);
  const port = run.state.serving!.port;
  if (!(await portFree(port)))
    throw new UsageError(
      `port ${port} is in use: the restored redis-server is to serve on it (--serve-port)`,
    );
}

function servingStart(o: RestoreOptions) {
  return {
    dataDir: o.dataDir,
    appendonly: o.appendonly,
    names: o.names,
    redisServer: o.redisServer,
    modules: o.modules,
  };
}

/** The cause of a failed serving load in words: a damaged RDB when the server's log says so. */
function servingFailure(id: string, err: unknown): Error {
  if (err instanceof ServingLoadError) {
    const damaged = err.log.split("\n").find((l) => DAMAGED_RDB.test(l));
    if (damaged)
      return new DamagedBackupError(id, [
        `the serving redis-server refuses to load its RDB: ${damaged.replace(/^\d+:\w \d+ \w+ \d+ [\d:.]+ [*#.-] /, "").trim()}`,
      ]);
  }
  return err as Error;
}

/** Ends a serving server an interrupted run left (it only ever listened on its private socket). */
async function endEarlierServing(rec: ServingRecord | undefined): Promise<void> {
  const earlier = findServing(rec?.socket);
  if (earlier) await killServing(earlier);
  if (rec?.socket && path.basename(path.dirname(rec.socket)).startsWith("holdfast-serve-"))
    fs.rmSync(path.dirname(rec.socket), { recursive: true, force: true });
}

/**
 * The `serve` step: the serving redis-server loads the placed dataset on its private socket and what it
 * holds is compared with the manifest; a failed load or check rolls the restore back. The state is at
 * `handover` afterwards.
 * @throws RolledBackError when it failed: the previous dataset is back in place.
 */
async function loadAndCheckServing(
  run: RestoreRun,
  staged: Staged,
): Promise<{ client: Redis; checks: Check[] }> {
  const { o } = run;
  await endEarlierServing(run.state.serving);
  const rec = { ...run.state.serving!, socket: newSocket(), pid: undefined };
  // What a re-run needs of a running server (its socket, its pid) needs no sync: a power loss ends it.
  run.step("serve", { serving: rec }, false);
  let server: ServingServer | undefined;
  let client: Redis | undefined;
  let checks: Check[] = [];
  try {
    log.info("starting the redis-server that serves the restored directory; its load is the verification", {
      restore: run.state.id,
      redisServer: o.redisServer,
      config: rec.config,
      port: rec.port,
    });
    server = await ServingServer.start(servingStart(o), rec);
    run.step("serve", { serving: { ...rec, pid: server.pid } }, false);
    run.took.end("start");
    client = await server.loaded(o.loadTimeoutMs);
    run.took.end("load");
    failpoint("restore-serving");
    const [, rdbchecksum] = (await client.config("GET", "rdbchecksum")) as string[];
    checks = [
      {
        name: "the serving redis-server loaded the placed dataset with rdbchecksum yes (its load checks the CRC-64)",
        ok: rdbchecksum === "yes",
        detail: `rdbchecksum ${rdbchecksum}`,
      },
      ...(streamOf(run)
        ? await pointLoadChecks(client, o.dataDir, o.names)
        : await compareLoaded(client, staged.manifest, staged.scanner!, o.appendonly)),
    ];
    if (checks.some((c) => !c.ok)) throw new RestoreVerificationError(run.state.id, checks);
    run.took.end("checks");
    // The placed RDB is on disk before anyone may write to the server: the download's fsync, which ran
    // during the load; after an interruption (that fsync may never have finished), one now.
    if (staged.durable) {
      await staged.durable;
      run.took.end("sync");
    } else if (fs.existsSync(run.p.rdb)) await fsyncFile(run.p.rdb);
  } catch (err) {
    client?.disconnect();
    if (server) await killServing(server.pid);
    await endEarlierServing(run.state.serving);
    const why = servingFailure(run.state.id, err);
    rollBack(run, why.message);
    throw new RolledBackError(why.message, o.dataDir, checks);
  }
  run.step("handover");
  return { client, checks };
}

/** A re-run at `handover`: the checked server, or (if it stopped since) the same files loaded again. */
async function resumeServing(run: RestoreRun): Promise<Redis> {
  const rec = run.state.serving!;
  if (findServing(rec.socket)) return connectServing(rec.socket!);
  log.warn("the redis-server the interrupted restore checked has stopped; starting it again", {
    restore: run.state.id,
    pid: rec.pid,
  });
  await endEarlierServing(rec);
  const socket = newSocket();
  run.step("handover", { serving: { ...rec, socket, pid: undefined } }, false);
  const server = await ServingServer.start(servingStart(run.o), { ...rec, socket });
  run.step("handover", { serving: { ...rec, socket, pid: server.pid } }, false);
  return server.loaded(run.o.loadTimeoutMs);
}

/**
 * The `serve` and `handover` steps of --verify serving (nothing otherwise): the server loads and is
 * checked, then its port is opened and it is left serving.
 */
async function serveRestored(
  run: RestoreRun,
  staged: Staged,
): Promise<
  { server: { pid: number; port: number }; checks: Check[]; ms: number; counts?: DatabaseCounts } | undefined
> {
  if (!["serve", "handover"].includes(run.state.phase)) return undefined;
  const t0 = Date.now();
  let client: Redis | undefined;
  let checks: Check[] = [];
  try {
    if (run.state.phase === "serve") ({ client, checks } = await loadAndCheckServing(run, staged));
    failpoint("restore-handover");
    client ??= await resumeServing(run);
    // A point's keys are known once they are loaded: what the serving server holds.
    const counts = streamOf(run) ? await servedKeyCounts(client) : undefined;
    const rec = run.state.serving!;
    try {
      await openPort(client, rec.port);
    } catch (err) {
      // Checked and in place, but it cannot listen there: stopped (it wrote nothing), left to be started.
      await killServing(rec.pid!);
      run.step("done");
      fs.rmSync(run.p.staging, { recursive: true, force: true });
      throw new OperationError(
        `${restoreName(run.state.id)} is restored into ${run.o.dataDir} and its load checked, but the redis-server cannot listen on port ${rec.port}: ${(err as Error).message}`,
        `the dataset is in place (the previous one in ${run.state.asideDir ?? "no folder: there was none"}); the server was stopped. Start redis-server on ${run.o.dataDir}.`,
      );
    }
    // Not synced: the staging folder (the state file with it) is removed next, and that removal synced.
    run.step("done", {}, false);
    run.took.end("handover");
    log.info("serving", { restore: run.state.id, pid: rec.pid, port: rec.port });
    return { server: { pid: rec.pid!, port: rec.port }, checks, ms: Date.now() - t0, counts };
  } finally {
    client?.disconnect();
  }
}

/**
 * Rolls a serving restore back: the placed files out (links to the staged RDB: copies of the backup;
 * anything else the server left is kept aside), then the previous dataset back from holdfast-aside/,
 * then the staging folder removed. Each half is recorded, so a re-run after a kill finishes it.
 */
function rollBack(run: RestoreRun, failure: string): void {
  const { o, p } = run;
  if (run.state.phase !== "rollback") run.step("rollback", { failure });
  log.warn("the restore failed its verification: putting the previous dataset back", {
    restore: run.state.id,
    failure: run.state.failure,
  });
  if (!run.state.returning) {
    const others: string[] = [];
    for (const e of datasetIn(o.dataDir, o.names)) {
      if (placedByUs(o.dataDir, e, p.rdb, o.names, streamOf(run)))
        fs.rmSync(path.join(o.dataDir, e), { recursive: true, force: true });
      else others.push(e);
    }
    if (others.length > 0) moveAside(o.dataDir, others, newAsideDir(o.dataDir, "restore-leftover"));
    syncDir(o.dataDir);
    run.step("rollback", { returning: true });
  }
  const aside = run.state.asideDir;
  if (aside && fs.existsSync(aside)) {
    for (const e of fs.readdirSync(aside)) {
      if (fs.existsSync(path.join(o.dataDir, e)))
        moveAside(o.dataDir, [e], newAsideDir(o.dataDir, "restore-leftover"));
      fs.renameSync(path.join(aside, e), path.join(o.dataDir, e));
      failpoint("restore-rollback-entry");
    }
    syncDir(o.dataDir);
    fs.rmdirSync(aside);
    if (fs.readdirSync(path.dirname(aside)).length === 0) fs.rmdirSync(path.dirname(aside));
  }
  fs.rmSync(p.staging, { recursive: true, force: true });
  syncDir(o.dataDir);
}

/** A re-run of a restore killed while it rolled back: finishes the rollback and reports the failure. */
async function finishRollback(run: RestoreRun): Promise<never> {
  await endEarlierServing(run.state.serving);
  rollBack(run, run.state.failure ?? "");
  throw new RolledBackError(
    `${run.state.failure ?? "the serving load failed"} (the interrupted rollback is finished now)`,
    run.o.dataDir,
  );
}

/**
 * Before a resumed restore places the staged RDB (verified by the run that was stopped), checks all of
 * it again — SHA-256, CRC-64 and key counts against the manifest — because a byte may have changed on
 * disk since; when it is missing or no longer the backup, downloads it again, checked the same way.
 * @throws DamagedBackupError when the stored backup itself does not match its manifest.
 */
async function recheckStaged(
  o: RestoreOptions,
  manifest: RedisBackupManifest,
  rdb: string,
  partial: string,
): Promise<{ result: RdbCheckResult; scanner: RdbScanner; replaced: boolean }> {
  let problem = `${rdb} is missing`;
  if (fs.existsSync(rdb)) {
    try {
      return { ...(await checkLocalRdb(rdb, manifest)), replaced: false };
    } catch (err) {
      if (!(err instanceof DamagedBackupError)) throw err;
      problem = err.problems.join("; ");
    }
  }
  log.warn("the staged RDB is not the verified backup any more; downloading it again", {
    backup: manifest.id,
    problem,
  });
  fs.rmSync(partial, { force: true });
  const d = await downloadRdb(o.at, manifest, partial);
  fs.renameSync(partial, rdb);
  syncDir(path.dirname(rdb));
  return { ...d, replaced: true };
}

/**
 * Checks that the data directory holds what was verified: the same RDB inode (and for a point served
 * from its stream, the same stream inode), the same AOF manifest.
 */
function checkPlacement(o: RestoreOptions, rdb: string, stream?: string): void {
  const dbFile = path.join(o.dataDir, o.names.dbFilename);
  if (!stream && !sameFile(dbFile, rdb)) throw new Error(`${dbFile} is not the verified RDB`);
  if (!o.appendonly) return;
  const dir = path.join(o.dataDir, o.names.appendDirname);
  const f = aofFiles(o.names);
  if (!sameFile(path.join(dir, f.base), rdb)) throw new Error(`${dir}/${f.base} is not the verified RDB`);
  const s = pointAofFiles(o.names).stream;
  if (stream && !sameFile(path.join(dir, s), stream))
    throw new Error(`${dir}/${s} is not the checked stream`);
  if (fs.readFileSync(path.join(dir, f.manifest), "utf8") !== aofManifestText(o.names, stream !== undefined))
    throw new Error(`${dir}/${f.manifest} is not the AOF manifest that was verified`);
}
