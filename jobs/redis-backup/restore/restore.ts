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
// Until `aside` the data directory is untouched: a damaged backup or a failed load leaves it as it was.
// After it, a re-run finishes the restore: it checks the staged RDB in full again first (SHA-256, CRC-64,
// counts; downloaded again if a byte changed), and never takes its own half-placed files for the user's.
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "../../cli/errors";
import { log } from "../../cli/log";
import { ASIDE_DIR, compactTime, datasetEntries } from "../../redis-pod/aside";
import { resolveBackup, skippedForLatest, type StoreLocation } from "../../store/catalog";
import { aofFiles, aofManifestText, buildAofDir, type DatasetNames, syncDir } from "../aof-layout";
import { checkLocalRdb, DamagedBackupError, downloadRdb } from "../transfer/download";
import { failpoint } from "../failpoint";
import { type Check, databasesFor, downloadAndLoad, loadAndCompare } from "../scratch/load-check";
import { readManifest, type RedisBackupManifest } from "../manifest";
import type { RdbScanner } from "../rdb/scanner";
import { scanRedisBackups } from "../store";

/** The staging folder inside a data directory; only the restore writes and removes it. */
export const STAGING_DIR = "holdfast-restore";

/** The steps of a restore, in order. */
export type RestorePhase = "download" | "verify" | "aside" | "place" | "done";
const ORDER: RestorePhase[] = ["download", "verify", "aside", "place", "done"];

/** What the state file records. */
export interface RestoreState {
  version: 1;
  id: string;
  phase: RestorePhase;
  startedAt: string;
  /** Where the data directory's previous dataset went (set before anything is moved). */
  asideDir?: string;
  pid: number;
}

/** What a restore needs. */
export interface RestoreOptions {
  at: StoreLocation;
  /** A backup id or `latest`. */
  backup: string;
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
   * configured. Both compare DBSIZE per database and pattern counts with the manifest.
   */
  verify: "concurrent" | "layout";
}

/** A finished restore. */
export interface RestoreOutcome {
  id: string;
  manifest: RedisBackupManifest;
  /** Where the previous dataset is kept, if the directory held one. */
  asideDir?: string;
  checks: Check[];
  /** The run continued an interrupted restore. */
  resumed: boolean;
  timings: { downloadMs: number; verifyMs: number; placeMs: number; totalMs: number };
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

function stagingPaths(dataDir: string) {
  const staging = path.join(dataDir, STAGING_DIR);
  return {
    staging,
    state: path.join(staging, "state.json"),
    lock: path.join(staging, "lock"),
    rdb: path.join(staging, "backup.rdb"),
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

function writeState(dataDir: string, state: RestoreState): void {
  const { state: file } = stagingPaths(dataDir);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, JSON.stringify(state, null, 2) + "\n");
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
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

/** Whether `entry` of the data directory is what an earlier run of this restore placed. */
function placedByUs(dataDir: string, entry: string, rdb: string, names: DatasetNames): boolean {
  const p = path.join(dataDir, entry);
  if (entry === names.dbFilename) return sameFile(p, rdb);
  if (entry === names.appendDirname) {
    const f = aofFiles(names);
    const files = fs.readdirSync(p).sort();
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

/** Runs (or resumes) a restore. */
export async function restoreRedis(o: RestoreOptions): Promise<RestoreOutcome> {
  const t0 = Date.now();
  const running = redisServerIn(o.dataDir);
  if (running)
    throw new UsageError(
      `a redis-server (pid ${running}) is running in ${o.dataDir}: stop it before restoring (in Kubernetes, scale the StatefulSet to zero)`,
    );
  const p = stagingPaths(o.dataDir);
  const prior = readRestoreState(o.dataDir);
  // From `aside` on, the data directory holds part of this restore: only finishing it is safe.
  const touched = prior !== undefined && ORDER.indexOf(prior.phase) >= ORDER.indexOf("aside");
  let id: string;
  let checked: RedisBackupManifest | undefined;
  if (touched && (o.backup === "latest" || o.backup === prior.id)) {
    id = prior.id;
  } else if (touched && prior.phase !== "done") {
    throw new UsageError(
      `an interrupted restore of backup ${prior.id} is in ${o.dataDir} (the previous data is in ${prior.asideDir ?? "no folder: there was none"}); ` +
        `finish it first by re-running with --backup ${prior.id}`,
    );
  } else {
    const { catalog, manifests } = await scanRedisBackups(o.at);
    const chosen = resolveBackup(catalog, o.backup);
    id = chosen.id;
    checked = manifests.get(id);
    const skipped = o.backup === "latest" ? skippedForLatest(catalog, chosen) : [];
    if (skipped.length > 0)
      log.warn("latest skips damaged backups newer than the one restored", {
        backup: id,
        damaged: skipped.map((d) => `${d.id}: ${d.problem}`),
      });
  }
  log.info("restoring", { backup: id, requested: o.backup });
  const manifest = checked ?? (await readManifest(o.at.client, o.at.bucket, o.at.layout, id));
  const unlock = lock(o.dataDir);
  try {
    let state: RestoreState =
      prior && prior.id === id && (prior.phase !== "done" || o.backup === "latest" || o.backup === id)
        ? { ...prior, pid: process.pid }
        : { version: 1, id, phase: "download", startedAt: new Date().toISOString(), pid: process.pid };
    const resumed = prior !== undefined && state.startedAt === prior.startedAt && prior.phase !== "download";
    if (resumed) log.info("continuing an interrupted restore", { backup: id, phase: state.phase });
    const step = (phase: RestorePhase, extra: Partial<RestoreState> = {}) => {
      state = { ...state, ...extra, phase };
      writeState(o.dataDir, state);
    };

    // download
    let scanner: RdbScanner | undefined;
    const tDownload = Date.now();
    const past = (phase: RestorePhase) => ORDER.indexOf(state.phase) > ORDER.indexOf(phase);
    if (past("verify") && state.phase !== "done") await recheckStaged(o, manifest, p.rdb, p.partial);
    let checks: Check[] = [];
    let verifyMs = 0;
    const databases = databasesFor(manifest);
    if (databases > 16 && !resumed)
      log.warn(
        `backup ${id} holds keys in db${databases - 1}: the Redis that serves ${o.dataDir} needs databases ${databases} or more in its configuration, or it refuses to load it`,
      );
    if (state.phase === "download" || (!past("verify") && !fs.existsSync(p.rdb))) {
      step("download");
      fs.rmSync(p.rdb, { force: true });
      checkSpace(o.dataDir, manifest.objects["dump.rdb"].size);
      log.info("downloading", {
        backup: id,
        bytes: manifest.objects["dump.rdb"].size,
        verification: o.verify,
      });
      if (o.verify === "concurrent") {
        // Loaded by a throw-away server while it downloads: verified when the download ends.
        const d = await downloadAndLoad(o.at, manifest, p.partial, p.view, o);
        checks = d.checks;
        verifyMs = d.loadMs;
        if (checks.some((c) => !c.ok)) throw new RestoreVerificationError(id, checks);
        fs.renameSync(p.partial, p.rdb);
        failpoint("restore-downloaded");
        step("aside", { asideDir: state.asideDir ?? newAsideDir(o.dataDir, "pre-restore") });
      } else {
        // The layout load checks the RDB's CRC-64; the download checks the SHA-256.
        ({ scanner } = await downloadRdb(o.at, manifest, p.partial, undefined, false));
        fs.renameSync(p.partial, p.rdb);
        failpoint("restore-downloaded");
        step("verify");
      }
    } else if (state.phase === "verify") {
      ({ scanner } = await checkLocalRdb(p.rdb, manifest));
    }
    const downloadMs = Date.now() - tDownload;

    // verify (after the download: the layout as it will be placed, or a re-run's staged file)
    const tVerify = Date.now();
    if (state.phase === "verify") {
      log.info("loading the dataset in a throw-away redis-server", { backup: id, appendonly: o.appendonly });
      failpoint("restore-verify");
      ({ checks } = await loadAndCompare(p.rdb, p.view, manifest, scanner!, o));
      if (checks.some((c) => !c.ok)) throw new RestoreVerificationError(id, checks);
      step("aside", { asideDir: state.asideDir ?? newAsideDir(o.dataDir, "pre-restore") });
      verifyMs = Date.now() - tVerify;
    }

    // aside
    const tPlace = Date.now();
    if (state.phase === "aside") {
      const entries = datasetIn(o.dataDir, o.names);
      if (entries.length > 0) {
        log.info("moving the current dataset aside", { entries, to: state.asideDir });
        moveAside(o.dataDir, entries, state.asideDir!);
      } else if (
        state.asideDir &&
        fs.existsSync(state.asideDir) &&
        fs.readdirSync(state.asideDir).length === 0
      ) {
        fs.rmdirSync(state.asideDir);
      }
      const kept = state.asideDir && fs.existsSync(state.asideDir) ? state.asideDir : undefined;
      failpoint("restore-aside");
      step("place", { asideDir: kept });
    }

    // place
    if (state.phase === "place") {
      const leftovers: string[] = [];
      for (const e of datasetIn(o.dataDir, o.names)) {
        if (placedByUs(o.dataDir, e, p.rdb, o.names))
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
        const built = buildAofDir(p.place, p.rdb, o.names);
        failpoint("restore-place");
        fs.renameSync(built, path.join(o.dataDir, o.names.appendDirname));
        placed.push(o.names.appendDirname);
      }
      fs.linkSync(p.rdb, path.join(o.dataDir, o.names.dbFilename));
      placed.push(o.names.dbFilename);
      matchOwner(o.dataDir, placed);
      syncDir(o.dataDir);
      checkPlacement(o, p.rdb);
      step("done");
    }
    const placeMs = Date.now() - tPlace;

    fs.rmSync(p.staging, { recursive: true, force: true });
    syncDir(o.dataDir);
    return {
      id,
      manifest,
      asideDir: state.asideDir,
      checks,
      resumed,
      timings: { downloadMs, verifyMs, placeMs, totalMs: Date.now() - t0 },
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
): Promise<void> {
  let problem = `${rdb} is missing`;
  if (fs.existsSync(rdb)) {
    try {
      await checkLocalRdb(rdb, manifest);
      return;
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
  await downloadRdb(o.at, manifest, partial);
  fs.renameSync(partial, rdb);
  syncDir(path.dirname(rdb));
}

/** Checks that the data directory holds what was verified: the same RDB inode, the same AOF manifest. */
function checkPlacement(o: RestoreOptions, rdb: string): void {
  const dbFile = path.join(o.dataDir, o.names.dbFilename);
  if (!sameFile(dbFile, rdb)) throw new Error(`${dbFile} is not the verified RDB`);
  if (!o.appendonly) return;
  const dir = path.join(o.dataDir, o.names.appendDirname);
  const f = aofFiles(o.names);
  if (!sameFile(path.join(dir, f.base), rdb)) throw new Error(`${dir}/${f.base} is not the verified RDB`);
  if (fs.readFileSync(path.join(dir, f.manifest), "utf8") !== aofManifestText(o.names))
    throw new Error(`${dir}/${f.manifest} is not the AOF manifest that was verified`);
}
