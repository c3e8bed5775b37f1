// The commands the Redis pods run: `redis init` and `sentinel init` (init containers), `redis agent`
// (the data pods' sidecar) and `redis handover` (its preStop hook).
import * as fs from "fs";
import * as path from "path";
import { durationMs, str } from "../cli/args";
import type { Command } from "../cli/command";
import type { FlagSpecs } from "../cli/args";
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

const identity: FlagSpecs = {
  "pod-name": {
    type: "string",
    required: true,
    env: "POD_NAME",
    help: "this pod's name; its trailing number is the ordinal",
  },
  "announce-host": {
    type: "string",
    required: true,
    help: "the stable host name other nodes know this pod by",
  },
  "master-name": { type: "string", required: true, help: "name the sentinels monitor the primary under" },
  sentinels: { type: "string", required: true, help: "every sentinel as HOST:PORT, comma-separated" },
  "run-dir": {
    type: "string",
    required: true,
    help: "writable folder the Redis process reads its config from",
  },
};

/** A sentinel keeps its config on its state volume, not in a run folder. */
const { "run-dir": _runDir, ...sentinelIdentity } = identity;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UsageError(`--port must be a port number, got "${value}"`);
  return n;
}

function timeout(value: string, what: string): number {
  return value === "0" ? 0 : durationMs(value, what);
}

function existingFile(file: string, flag: string): string {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile())
    throw new UsageError(`--${flag} ${file} is not a file`);
  return file;
}

const redisInitCommand: Command = {
  words: ["redis", "init"],
  summary: "repair the AOF and choose this data pod's role with the sentinels (init container)",
  flags: {
    ...identity,
    port: { type: "string", default: "6379", help: "port Redis listens on and announces" },
    "data-dir": { type: "string", required: true, help: "the Redis data directory (the pod's volume)" },
    config: { type: "string", required: true, help: "the ConfigMap's redis.conf" },
    "wait-timeout": {
      type: "string",
      default: "0",
      help: "give up without a role after this long; 0 waits for ever",
    },
    "repaired-wait": {
      type: "string",
      default: "2m",
      help: "after an AOF repair, how long to let a replica take over before resuming as primary",
    },
    "check-aof": { type: "string", default: "redis-check-aof", help: "the redis-check-aof binary" },
  },
  async run(flags) {
    const announce = { host: str(flags, "announce-host"), port: port(str(flags, "port")) };
    try {
      await redisInit({
        podName: str(flags, "pod-name"),
        announce,
        dataDir: str(flags, "data-dir"),
        configFile: existingFile(str(flags, "config"), "config"),
        runDir: str(flags, "run-dir"),
        sentinels: parseAddresses(str(flags, "sentinels"), "--sentinels"),
        masterName: str(flags, "master-name"),
        sentinelCredentials: credentialsFromEnv("SENTINEL"),
        waitTimeoutMs: timeout(str(flags, "wait-timeout"), "--wait-timeout"),
        repairedWaitMs: timeout(str(flags, "repaired-wait"), "--repaired-wait"),
        checkAof: str(flags, "check-aof"),
        log: log.info,
      });
    } catch (err) {
      if (err instanceof AofRepairError)
        throw new OperationError(
          err.message,
          "Redis was not started; the pod's volume is as described above.",
        );
      if (err instanceof RoleUndecidedError)
        throw new OperationError(
          err.message,
          "Redis was not started and this pod's data is untouched; start it again once the sentinels are reachable.",
        );
      throw err;
    }
  },
};

const sentinelInitCommand: Command = {
  words: ["sentinel", "init"],
  summary: "write this sentinel's config, monitoring the set's current primary (init container)",
  flags: {
    ...sentinelIdentity,
    port: { type: "string", default: "26379", help: "port the sentinel listens on and announces" },
    "state-dir": {
      type: "string",
      required: true,
      help: "the sentinel's volume, where its sentinel.conf lives",
    },
    config: { type: "string", required: true, help: "the ConfigMap's sentinel.conf" },
    auth: { type: "string", required: true, help: "the Secret's sentinel credentials and users" },
    "redis-nodes": { type: "string", required: true, help: "every data pod as HOST:PORT, comma-separated" },
  },
  async run(flags) {
    const masterName = str(flags, "master-name");
    const announce = { host: str(flags, "announce-host"), port: port(str(flags, "port")) };
    const base = fs.readFileSync(existingFile(str(flags, "config"), "config"), "utf8");
    const auth = fs.readFileSync(existingFile(str(flags, "auth"), "auth"), "utf8");
    const stateDir = str(flags, "state-dir");
    const confFile = path.join(stateDir, "sentinel.conf");
    const previous = fs.existsSync(confFile) ? fs.readFileSync(confFile, "utf8") : undefined;
    const state = readSentinelState(previous, masterName);
    const peers = parseAddresses(str(flags, "sentinels"), "--sentinels").filter(
      (a) => !sameAddress(a, announce),
    );
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
  },
};

const handoverCommand: Command = {
  words: ["redis", "handover"],
  summary: "hand the primary role to a replica before this pod stops (preStop hook)",
  flags: {
    ...identity,
    "pod-name": { ...identity["pod-name"], required: false },
    port: { type: "string", default: "6379", help: "port of the local Redis" },
    timeout: { type: "string", default: "60s", help: "give up the hand-over after this long" },
  },
  async run(flags) {
    const p = port(str(flags, "port"));
    const runDir = str(flags, "run-dir");
    try {
      const result = await handOver({
        local: { host: "127.0.0.1", port: p },
        announce: { host: str(flags, "announce-host"), port: p },
        sentinels: parseAddresses(str(flags, "sentinels"), "--sentinels"),
        masterName: str(flags, "master-name"),
        redisCredentials: credentialsFromEnv("REDIS"),
        sentinelCredentials: credentialsFromEnv("SENTINEL"),
        timeoutMs: durationMs(str(flags, "timeout"), "--timeout"),
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
  },
};

const agentCommand: Command = {
  words: ["redis", "agent"],
  summary:
    "record this data pod's role as it changes, kill scripts that keep Redis busy, and stay up for the hand-over (sidecar)",
  flags: {
    port: { type: "string", default: "6379", help: "port of the local Redis" },
    "data-dir": { type: "string", required: true, help: "the Redis data directory" },
    interval: { type: "string", default: "5s", help: "how often to read the role" },
  },
  async run(flags) {
    const controller = new AbortController();
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => controller.abort());
    log.info("agent started");
    const local = { host: "127.0.0.1", port: port(str(flags, "port")) };
    const credentials = credentialsFromEnv("REDIS");
    await Promise.all([
      runAgent(
        {
          local,
          credentials,
          dataDir: str(flags, "data-dir"),
          intervalMs: durationMs(str(flags, "interval"), "--interval"),
          log: log.info,
        },
        controller.signal,
      ),
      watchBusyScripts({ local, credentials, log: log.info, warn: log.warn }, controller.signal),
    ]);
  },
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

function setAsideDir(flags: Record<string, unknown>, flag: string): string {
  const dir = String(flags[flag]);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(`--${flag} ${dir} is not a directory`);
  return dir;
}

function setAsideReason(flags: Record<string, unknown>): string {
  const reason = String(flags.reason);
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(reason))
    throw new UsageError(`--reason must be lower-case letters, digits and dashes, got "${reason}"`);
  return reason;
}

const setAsideFlags: FlagSpecs = {
  reason: {
    type: "string",
    default: "pre-restore",
    help: "names the folder: holdfast-aside/<time>-<reason>/",
  },
  json: { type: "boolean", default: false, help: "print JSON on stdout instead of text" },
};

const redisSetAsideCommand: Command = {
  words: ["redis", "set-aside"],
  summary: "move a stopped data pod's dataset into holdfast-aside/ so it resynchronises (never deletes)",
  flags: {
    "data-dir": { type: "string", required: true, help: "the Redis data directory (the pod's volume)" },
    ...setAsideFlags,
  },
  async run(flags) {
    const dir = setAsideDir(flags, "data-dir");
    reportSetAside("dataset", dir, setAsideDataset(dir, setAsideReason(flags)), Boolean(flags.json));
  },
};

const sentinelSetAsideCommand: Command = {
  words: ["sentinel", "set-aside"],
  summary: "move a stopped sentinel's learnt sentinel.conf into holdfast-aside/ (a clean view at start)",
  flags: {
    "state-dir": {
      type: "string",
      required: true,
      help: "the sentinel's volume, where its sentinel.conf lives",
    },
    ...setAsideFlags,
  },
  async run(flags) {
    const dir = setAsideDir(flags, "state-dir");
    reportSetAside(
      "sentinel state",
      dir,
      setAsideSentinelState(dir, setAsideReason(flags)),
      Boolean(flags.json),
    );
  },
};

/** The Redis pod commands, in --help order. */
export const redisPodCommands: Command[] = [
  redisInitCommand,
  sentinelInitCommand,
  agentCommand,
  handoverCommand,
  redisSetAsideCommand,
  sentinelSetAsideCommand,
];
