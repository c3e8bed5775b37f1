// `holdfast restore redis` (flags in specs.ts): runs the restore (restore/restore.ts), maps each failure
// to its exit code (bad input 2, failure 1 with what the data directory holds and how to go on) and
// prints the outcome, or with --dry-run what it would do. Apart from `backup redis` (commands.ts), so a
// restore loads only what it uses: ioredis, for one, only once a redis-server it started is loading.
import * as fs from "fs";
import * as path from "path";
import { type Flags, list, num, optStr, str } from "../cli/args";
import type { RunCommand } from "../cli/command";
import { OperationError, UsageError } from "../cli/errors";
import { formatBytes } from "../cli/format";
import { openLocation } from "../store/location";
import { resolveBackup, type StoreLocation } from "../store/catalog";
import type { DatasetNames } from "./aof-layout";
import { datasetNames, directory } from "./command-flags";
import { DamagedBackupError, DownloadStalledError } from "./transfer/download";
import { ManifestError } from "./manifest";
import {
  datasetIn,
  readRestoreState,
  redisServerIn,
  restoreName,
  restoreRedis,
  RestoreVerificationError,
  RolledBackError,
  unfinishedRestore,
  type VerifyMode,
} from "./restore/restore";
import { formatTook } from "./restore/took";
import { scanRedisBackups } from "./store";
import { ScratchServerError } from "./scratch/server";
import { pointId, type PointTarget } from "../redis-stream/point-plan";
import {
  pointError,
  pointPlanLines,
  pointPlanSummary,
  type PointPlanSummary,
  restoreTargetOf,
} from "../redis-stream/point-flags";

/**
 * The CLI error of a failed restore: bad input (exit 2), or a failure that says what the data
 * directory holds now and how to go on (exit 1).
 */
function restoreFailure(err: unknown, dataDir: string): unknown {
  const untouched = `${dataDir} was not touched.`;
  const state = readRestoreState(dataDir);
  const left = state
    ? `The restore of ${restoreName(state.id)} stopped at step ${state.phase}; the previous dataset is ${state.asideDir ? `in ${state.asideDir}` : "where it was"}. ` +
      "Re-run the same command to finish it."
    : untouched;
  if (err instanceof ScratchServerError && /cannot run/.test(err.message)) return new UsageError(err.message);
  if (err instanceof RolledBackError)
    return new OperationError(
      err.message,
      `the previous dataset is back in place in ${dataDir} and nothing of the restore is left there. ` +
        "Restore another backup (holdfast list --store redis), or fix what the message names and re-run.",
    );
  // Before the dataset is moved aside nothing is left (`left` says the directory was not touched).
  if (err instanceof DamagedBackupError)
    return new OperationError(
      err.message,
      state ? left : `${untouched} Restore another backup (holdfast list --store redis).`,
    );
  if (err instanceof DownloadStalledError)
    return new OperationError(
      `the restore of backup ${err.id} stopped: ${err.reason}, while downloading its RDB`,
      state ? left : `${untouched} Re-run the same command once S3 answers again.`,
    );
  if (
    err instanceof RestoreVerificationError ||
    err instanceof ScratchServerError ||
    err instanceof ManifestError
  )
    return new OperationError(err.message, left);
  if (err instanceof UsageError || err instanceof OperationError) return err;
  const e = pointError(err);
  if (e !== err) return e;
  return new OperationError(`the restore failed: ${(err as Error).message}`, left);
}

/** How each --verify mode proves the dataset, in the restore's first line. */
const VERIFIED_BY: Record<VerifyMode, string> = {
  concurrent: "a throw-away redis-server loading it as it downloaded",
  layout: "a throw-away redis-server loading the files as placed",
  serving: "the serving redis-server's own load",
};

/** `holdfast restore redis`. */
export const runRestoreRedis: RunCommand = async (flags) => {
  // From the process's start until here: Node and the modules the restore loads.
  const startup = Math.round(process.uptime() * 1000);
  const { backup, point } = restoreTargetOf(flags);
  const dataDir = directory(str(flags, "data-dir"), "data-dir");
  const appendonly = str(flags, "appendonly");
  try {
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch {
    throw new UsageError(`--data-dir ${dataDir} is not writable by this user`);
  }
  const names = datasetNames(flags);
  const verify = str(flags, "verify") as VerifyMode;
  if (verify === "serving" && point && appendonly !== "yes")
    throw new UsageError(
      "--verify serving places a point as the AOF the serving redis-server loads (base and stream): it needs --appendonly yes",
    );
  const serveConfig = optStr(flags, "serve-config");
  if (serveConfig && !fs.statSync(serveConfig, { throwIfNoEntry: false })?.isFile())
    throw new UsageError(`--serve-config ${serveConfig} is not a file`);
  const tOpen = Date.now();
  const at = await openLocation(flags);
  if (flags["dry-run"]) return dryRunRestore(flags, at, { backup, point, dataDir, names });
  const open = Date.now() - tOpen;
  let outcome;
  try {
    outcome = await restoreRedis({
      at,
      backup,
      point,
      dataDir,
      appendonly: appendonly === "yes",
      names,
      redisServer: str(flags, "redis-server"),
      modules: list(flags, "load-module"),
      loadTimeoutMs: num(flags, "load-timeout"),
      verify,
      serve: {
        port: num(flags, "serve-port"),
        config: serveConfig ? path.resolve(serveConfig) : undefined,
      },
    });
  } catch (err) {
    throw restoreFailure(err, dataDir);
  }
  const m = outcome.manifest;
  const took = { startup, open, ...outcome.took };
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({
        id: outcome.id,
        dataDir,
        appendonly: appendonly === "yes",
        keys: outcome.keys,
        databases: outcome.databases,
        base: point ? m.id : undefined,
        asideDir: outcome.asideDir ?? null,
        resumed: outcome.resumed,
        verification: outcome.verification,
        serving: outcome.serving ?? null,
        checks: outcome.checks,
        timings: outcome.timings,
        took,
      }) + "\n",
    );
    return 0;
  }
  const lines = [
    `restored ${point ? `${outcome.id} (base ${m.id} and the stream)` : `backup ${outcome.id}`} into ${dataDir} (appendonly ${appendonly}, verified by ${VERIFIED_BY[outcome.verification]}${outcome.resumed ? ", finishing an interrupted restore" : ""})`,
    ...outcome.checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail ?? ""}`),
    outcome.asideDir
      ? `  the previous dataset is kept in ${outcome.asideDir}`
      : "  the directory held no dataset before",
    `  ${formatTook(startup + open + outcome.timings.totalMs, took)}`,
    ...(outcome.serving
      ? [
          `  serving: redis-server pid ${outcome.serving.pid} on port ${outcome.serving.port} (its own load was the verification; it keeps running)`,
        ]
      : []),
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
};

/** What a dry run would restore: a backup's id, size and keys, or a point's checked plan. */
interface DryRunSource {
  id: string;
  size: number | null;
  keys: number | null;
  /** For a point: the base, the chain and every segment up to the cut (all read and checked). */
  point?: PointPlanSummary;
}

async function dryRunSource(
  at: StoreLocation,
  o: { backup: string; point?: PointTarget },
  finishing: string | undefined,
): Promise<DryRunSource> {
  if (o.point && !finishing) {
    const point = await pointPlanSummary(at, o.point);
    return { id: pointId(o.point), size: null, keys: null, point };
  }
  const { catalog, manifests } = await scanRedisBackups(at);
  const id = finishing ?? resolveBackup(catalog, o.backup).id;
  const m = manifests.get(id);
  return { id, size: m?.objects["dump.rdb"].size ?? null, keys: m?.dataset.keys ?? null };
}

/**
 * What `restore redis --dry-run` prints: the backup the restore would take (or, for a point, the base
 * and every segment up to it, each checked; or the interrupted restore it would finish), its size and
 * keys, and what would be moved aside. Reads the bucket; downloads no dataset and writes nothing.
 */
async function dryRunRestore(
  flags: Flags,
  at: StoreLocation,
  o: { backup: string; point?: PointTarget; dataDir: string; names: DatasetNames },
): Promise<number> {
  const running = redisServerIn(o.dataDir);
  const prior = readRestoreState(o.dataDir);
  const requested = o.point ? pointId(o.point) : o.backup;
  const finishing = unfinishedRestore(prior, requested, o.dataDir) === "finish" ? prior!.id : undefined;
  const source = await dryRunSource(at, o, finishing);
  const moved = finishing ? [] : datasetIn(o.dataDir, o.names);
  const plan = {
    dryRun: true,
    id: source.id,
    dataDir: o.dataDir,
    finishesInterruptedRestore: Boolean(finishing),
    size: source.size,
    keys: source.keys,
    ...source.point,
    appendonly: str(flags, "appendonly") === "yes",
    movedAside: moved,
    runningRedisServer: running ?? null,
  };
  if (flags.json) {
    process.stdout.write(JSON.stringify(plan) + "\n");
    return 0;
  }
  const what = source.point
    ? pointPlanLines(source.point)
    : [
        `would restore backup ${source.id} into ${o.dataDir}` +
          (source.size !== null ? `: ${formatBytes(source.size)}, ${source.keys} keys` : "") +
          (str(flags, "verify") === "serving"
            ? `, verified by the load of the redis-server it would start to serve it (port ${num(flags, "serve-port")}), the previous dataset put back if that fails`
            : `, verified by a throw-away redis-server before anything is moved`),
      ];
  const lines = [
    ...(finishing
      ? [
          `would finish the interrupted restore of ${restoreName(finishing)} in ${o.dataDir} (it stopped at step ${prior!.phase})`,
        ]
      : what),
    moved.length > 0
      ? `  would move ${moved.join(", ")} into ${o.dataDir}/holdfast-aside/<time>-pre-restore/ (kept, never deleted)`
      : `  ${o.dataDir} holds no dataset to move aside`,
    `  would lay it out for appendonly ${plan.appendonly ? "yes" : "no"}`,
    ...(running
      ? [`  a redis-server (pid ${running}) runs in ${o.dataDir}: the restore would refuse until it stops`]
      : []),
    "nothing was changed (--dry-run)",
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}
