// What the Redis pods' commands do (their flags are in specs.ts): `pod init redis` and `pod init
// sentinel` (init containers), `pod agent redis` (the data pods' sidecar), `pod handover redis` (its
// preStop hook) and `pod set-aside redis|sentinel`.
import * as fs from "fs";
import * as path from "path";
import { type Flags, list, num, str } from "../cli/args";
import type { RunCommand } from "../cli/command";
import { OperationError, UsageError } from "../cli/errors";
import { log } from "../cli/log";
import { credentialsFromEnv, formatAddress, parseAddresses, sameAddress } from "../redis/client";
import { AofRepairError } from "./aof-repair";
import { runAgent } from "./agent";
import { watchBusyScripts } from "./busy-watch";
import { handOver } from "./handover";
import { RoleUndecidedError, redisInit } from "./redis-init";
import { setAsideDataset, setAsideSentinelState, type SetAsideOutcome } from "./set-aside";
import {
  choosePrimary,
  composeSentinelConf,
  monitoredAddress,
  queryNodeRoles,
  queryPeers,
  readSentinelState,
} from "./sentinel-init";

function sentinelsOf(flags: Flags) {
  return parseAddresses(list(flags, "sentinel").join(","), "--sentinel");
}

function existingFile(file: string, flag: string): string {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile())
    throw new UsageError(`--${flag} ${file} is not a file`);
  return file;
}

/** `holdfast pod init redis`. */
export const runInitRedis: RunCommand = async (flags) => {
  const announce = { host: str(flags, "announce-host"), port: num(flags, "port") };
  try {
    await redisInit({
      podName: str(flags, "pod-name"),
      announce,
      dataDir: str(flags, "data-dir"),
      configFile: existingFile(str(flags, "config"), "config"),
      runDir: str(flags, "run-dir"),
      sentinels: sentinelsOf(flags),
      masterName: str(flags, "master-name"),
      sentinelCredentials: credentialsFromEnv("SENTINEL"),
      waitTimeoutMs: num(flags, "wait-timeout"),
      repairedWaitMs: num(flags, "repaired-wait"),
      checkAof: str(flags, "check-aof"),
      log: log.info,
    });
  } catch (err) {
    if (err instanceof AofRepairError)
      throw new OperationError(err.message, "Redis was not started; the pod's volume is as described above.");
    if (err instanceof RoleUndecidedError)
      throw new OperationError(
        err.message,
        "Redis was not started and this pod's data is untouched; start it again once the sentinels are reachable.",
      );
    throw err;
  }
};

/** `holdfast pod init sentinel`. */
export const runInitSentinel: RunCommand = async (flags) => {
  const masterName = str(flags, "master-name");
  const announce = { host: str(flags, "announce-host"), port: num(flags, "port") };
  const base = fs.readFileSync(existingFile(str(flags, "config"), "config"), "utf8");
  const auth = fs.readFileSync(existingFile(str(flags, "auth"), "auth"), "utf8");
  const stateDir = str(flags, "state-dir");
  const confFile = path.join(stateDir, "sentinel.conf");
  const previous = fs.existsSync(confFile) ? fs.readFileSync(confFile, "utf8") : undefined;
  const state = readSentinelState(previous, masterName);
  const peers = sentinelsOf(flags).filter((a) => !sameAddress(a, announce));
  const nodes = parseAddresses(str(flags, "redis-nodes"), "--redis-nodes");
  const bootstrap = monitoredAddress(base, masterName);
  const [peerViews, roles] = await Promise.all([
    queryPeers(peers, masterName, credentialsFromEnv("SENTINEL")),
    queryNodeRoles(nodes, credentialsFromEnv("REDIS")),
  ]);
  const choice = choosePrimary(peerViews, roles, bootstrap, state.primary);
  fs.mkdirSync(stateDir, { recursive: true });
  const conf = composeSentinelConf(base, auth, masterName, choice.primary, announce, state.lines);
  fs.writeFileSync(`${confFile}.tmp`, conf, { mode: 0o600 });
  fs.renameSync(`${confFile}.tmp`, confFile);
  log.info(`monitoring ${formatAddress(choice.primary)} as ${masterName}`, {
    source: choice.source,
    reason: choice.reason,
    learntLines: state.lines.length,
  });
};

/** `holdfast pod handover redis`. */
export const runHandover: RunCommand = async (flags) => {
  const p = num(flags, "port");
  const runDir = str(flags, "run-dir");
  try {
    const result = await handOver({
      local: { host: "127.0.0.1", port: p },
      announce: { host: str(flags, "announce-host"), port: p },
      sentinels: sentinelsOf(flags),
      masterName: str(flags, "master-name"),
      redisCredentials: credentialsFromEnv("REDIS"),
      sentinelCredentials: credentialsFromEnv("SENTINEL"),
      timeoutMs: num(flags, "timeout"),
      log: log.info,
    });
    if (result.outcome === "failed")
      log.warn(`hand-over failed: ${result.reason}; the sentinels will fail over when this pod stops`);
    else log.info(`hand-over: ${result.outcome}`);
    return result.outcome === "failed" ? 1 : 0;
  } finally {
    // Lets the redis container's preStop finish, whatever happened.
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, "handover.done"), new Date().toISOString() + "\n");
  }
};

/** `holdfast pod agent redis`. */
export const runAgentRedis: RunCommand = async (flags) => {
  const controller = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => controller.abort());
  log.info("agent started");
  const local = { host: "127.0.0.1", port: num(flags, "port") };
  const credentials = credentialsFromEnv("REDIS");
  await Promise.all([
    runAgent(
      {
        local,
        credentials,
        dataDir: str(flags, "data-dir"),
        intervalMs: num(flags, "interval"),
        log: log.info,
      },
      controller.signal,
    ),
    watchBusyScripts({ local, credentials, log: log.info, warn: log.warn }, controller.signal),
  ]);
};

function reportSetAside(what: string, dir: string, outcome: SetAsideOutcome, json: boolean): void {
  if (outcome.asideDir)
    log.info(`moved ${what} aside`, { dir, to: outcome.asideDir, entries: outcome.moved });
  else log.info(`no ${what} to move aside`, { dir });
  if (json) process.stdout.write(JSON.stringify({ dir, ...outcome }) + "\n");
  else
    process.stdout.write(
      outcome.asideDir
        ? `moved ${outcome.moved.join(", ")} into ${outcome.asideDir}\n`
        : `${dir} holds no ${what}; nothing moved\n`,
    );
}

function setAsideDir(flags: Flags, flag: string): string {
  const dir = str(flags, flag);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(`--${flag} ${dir} is not a directory`);
  return dir;
}

function setAsideReason(flags: Flags): string {
  const reason = str(flags, "reason");
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(reason))
    throw new UsageError(`--reason must be lower-case letters, digits and dashes, got "${reason}"`);
  return reason;
}

/** `holdfast pod set-aside redis`. */
export const runSetAsideRedis: RunCommand = async (flags) => {
  const dir = setAsideDir(flags, "data-dir");
  reportSetAside("dataset", dir, setAsideDataset(dir, setAsideReason(flags)), Boolean(flags.json));
};

/** `holdfast pod set-aside sentinel`. */
export const runSetAsideSentinel: RunCommand = async (flags) => {
  const dir = setAsideDir(flags, "state-dir");
  reportSetAside(
    "sentinel state",
    dir,
    setAsideSentinelState(dir, setAsideReason(flags)),
    Boolean(flags.json),
  );
};
