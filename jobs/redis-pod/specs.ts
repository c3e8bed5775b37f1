// The commands the Redis pods run, under `holdfast pod`: `pod init redis` and `pod init sentinel` (init
// containers), `pod agent redis` (the data pods' sidecar), `pod handover redis` (its preStop hook) and
// `pod set-aside redis|sentinel` (restore Jobs). The old spellings (`redis init`, ...) stay as hidden
// aliases: pods of deployed stacks call them. The work is in commands.ts, loaded when one runs.
import type { FlagSpecs } from "../cli/args";
import type { Command } from "../cli/command";

/** Every sentinel of the set; repeatable, or comma-separated. */
export const SENTINEL_FLAG: FlagSpecs = {
  sentinel: {
    type: "string",
    repeatable: true,
    required: true,
    aliases: ["sentinels"],
    value: "HOST:PORT",
    help: "a sentinel of the set; repeatable, or comma-separated",
  },
};

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
  ...SENTINEL_FLAG,
  "run-dir": {
    type: "string",
    required: true,
    help: "writable folder the Redis process reads its config from",
  },
};

/** A sentinel keeps its config on its state volume, not in a run folder. */
const { "run-dir": _runDir, ...sentinelIdentity } = identity;

function portFlag(port: number, help: string): FlagSpecs {
  return { port: { type: "integer", min: 1, max: 65535, default: String(port), help } };
}

const setAsideFlags: FlagSpecs = {
  reason: {
    type: "string",
    default: "pre-restore",
    help: "names the folder: holdfast-aside/<time>-<reason>/",
  },
  json: { type: "boolean", default: false, help: "print JSON on stdout instead of text" },
};

/** The module that runs these commands, loaded on first use (require: tsx keeps import() native). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = async (): Promise<typeof import("./commands")> => require("./commands");

const initRedis: Command = {
  words: ["pod", "init", "redis"],
  aliases: [["redis", "init"]],
  summary: "repair the AOF and choose this data pod's role with the sentinels (init container)",
  flags: {
    ...identity,
    ...portFlag(6379, "port Redis listens on and announces"),
    "data-dir": { type: "string", required: true, help: "the Redis data directory (the pod's volume)" },
    config: { type: "string", required: true, help: "the ConfigMap's redis.conf" },
    "wait-timeout": {
      type: "duration",
      default: "0",
      help: "give up without a role after this long; 0 waits for ever",
    },
    "repaired-wait": {
      type: "duration",
      default: "2m",
      help: "after an AOF repair, how long to let a replica take over before resuming as primary",
    },
    "check-aof": { type: "string", default: "redis-check-aof", help: "the redis-check-aof binary" },
  },
  load: async () => (await load()).runInitRedis,
};

const initSentinel: Command = {
  words: ["pod", "init", "sentinel"],
  aliases: [["sentinel", "init"]],
  summary: "write this sentinel's config, monitoring the set's current primary (init container)",
  flags: {
    ...sentinelIdentity,
    ...portFlag(26379, "port the sentinel listens on and announces"),
    "state-dir": {
      type: "string",
      required: true,
      help: "the sentinel's volume, where its sentinel.conf lives",
    },
    config: { type: "string", required: true, help: "the ConfigMap's sentinel.conf" },
    auth: { type: "string", required: true, help: "the Secret's sentinel credentials and users" },
    "redis-nodes": {
      type: "string",
      required: true,
      value: "HOST:PORT,...",
      help: "every data pod as HOST:PORT, comma-separated",
    },
  },
  load: async () => (await load()).runInitSentinel,
};

const handover: Command = {
  words: ["pod", "handover", "redis"],
  aliases: [["redis", "handover"]],
  summary: "hand the primary role to a replica before this pod stops (preStop hook)",
  flags: {
    ...identity,
    "pod-name": { ...identity["pod-name"], required: false },
    ...portFlag(6379, "port of the local Redis"),
    timeout: { type: "duration", default: "60s", help: "give up the hand-over after this long" },
  },
  load: async () => (await load()).runHandover,
};

const agent: Command = {
  words: ["pod", "agent", "redis"],
  aliases: [["redis", "agent"]],
  summary:
    "record this data pod's role as it changes, kill scripts that keep Redis busy, and stay up for the hand-over (sidecar)",
  flags: {
    ...portFlag(6379, "port of the local Redis"),
    "data-dir": { type: "string", required: true, help: "the Redis data directory" },
    interval: { type: "duration", default: "5s", min: 1, help: "how often to read the role" },
  },
  load: async () => (await load()).runAgentRedis,
};

const setAsideRedis: Command = {
  words: ["pod", "set-aside", "redis"],
  aliases: [["redis", "set-aside"]],
  summary: "move a stopped data pod's dataset into holdfast-aside/ so it resynchronises (never deletes)",
  flags: {
    "data-dir": { type: "string", required: true, help: "the Redis data directory (the pod's volume)" },
    ...setAsideFlags,
  },
  load: async () => (await load()).runSetAsideRedis,
};

const setAsideSentinel: Command = {
  words: ["pod", "set-aside", "sentinel"],
  aliases: [["sentinel", "set-aside"]],
  summary: "move a stopped sentinel's learnt sentinel.conf into holdfast-aside/ (a clean view at start)",
  flags: {
    "state-dir": {
      type: "string",
      required: true,
      help: "the sentinel's volume, where its sentinel.conf lives",
    },
    ...setAsideFlags,
  },
  load: async () => (await load()).runSetAsideSentinel,
};

/** The Redis pod commands, in --help order. */
export const redisPodCommands: Command[] = [
  initRedis,
  initSentinel,
  agent,
  handover,
  setAsideRedis,
  setAsideSentinel,
];
