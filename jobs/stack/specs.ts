// The stack commands: an operator names a stack and Holdfast does the rest on its cluster.
//   holdfast stack restore redis|lancedb --stack S --backup ID|latest [--dry-run] [--yes]
//   holdfast stack restore redis --stack S --to-time RFC3339|--to-offset N [--dry-run] [--yes]
//   holdfast stack backup redis|lancedb --stack S --reason TEXT [--wait 3h]
//   holdfast stack list|status --stack S
// and `holdfast pod inspect redis` (old spelling `redis inspect`), which a restore runs as a Job inside
// the cluster. Their flags are here; the work is in commands.ts, loaded when one runs.
import { type Flags, type FlagSpecs, optNum } from "../cli/args";
import type { Command } from "../cli/command";
import { listSpec, statusSpec } from "../backup/specs";
import { SENTINEL_FLAG } from "../redis-pod/specs";
import { EXAMPLE_ID } from "../store/backup-id";
import { JSON_FLAG } from "../store/flags";

/** The flags every stack command takes. */
export const STACK_FLAGS: FlagSpecs = {
  stack: { type: "string", required: true, help: "the Pulumi stack (dev, prod, org/project/prod)" },
  outputs: {
    type: "string",
    help: "a file of `pulumi stack output --json --show-secrets`; default: read them with the Pulumi CLI",
  },
  "work-dir": { type: "string", help: "the Pulumi project directory (Pulumi.yaml); default the current one" },
  context: {
    type: "string",
    help: "kubeconfig context; default the stack's kubeContext output, else the current one",
  },
  "poll-interval": {
    type: "duration",
    min: 1,
    default: "250ms",
    help: "the longest pause between a wait's looks at the cluster (a wait looks after 50ms first, then less and less often up to this)",
  },
};

/**
 * `--wait DURATION`: wait up to this long for a one-off Job (`--wait` alone: 3h). `--timeout` is the
 * old spelling of the bound, kept hidden.
 */
export const WAIT_FLAGS: FlagSpecs = {
  wait: {
    type: "duration",
    bare: "3h",
    help: "wait up to this long for the run to finish (--wait alone: 3h); exit 1 if it fails",
  },
  timeout: { type: "duration", hidden: true, help: "old spelling: how long --wait waits" },
};

/**
 * How long `--wait` waits, or undefined without it: `--timeout` (the old spelling of the bound) wins
 * when both are given.
 */
export function waitBound(flags: Flags): number | undefined {
  const wait = optNum(flags, "wait");
  return wait === undefined ? undefined : (optNum(flags, "timeout") ?? wait);
}

type Store = "redis" | "lancedb";

const RESTORE_FLAGS: FlagSpecs = {
  ...STACK_FLAGS,
  backup: {
    type: "string",
    required: true,
    help: `the backup id (${EXAMPLE_ID}), or latest (the newest committed, undamaged one not taken by a restore)`,
  },
  "dry-run": { type: "boolean", default: false, help: "print the plan and change nothing" },
  yes: { type: "boolean", default: false, help: "do not ask for the name of a protected stack" },
  "no-safety-backup": {
    type: "boolean",
    default: false,
    help: "skip the backup of the current data before the restore (it is still kept in holdfast-aside/ on each volume)",
  },
  "job-timeout": { type: "duration", default: "6h", help: "how long each Job may take" },
  "ready-timeout": {
    type: "duration",
    default: "15m",
    help: "how long pods may take to stop or become ready",
  },
  "backup-timeout": {
    type: "duration",
    default: "3h",
    help: "how long the safety backup may take",
  },
  ...JSON_FLAG,
};

/** The module that runs these commands, loaded on first use (require: tsx keeps import() native). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = async (): Promise<typeof import("./commands")> => require("./commands");

/** Redis restores a backup or a point of the stream (`restore redis` in the restore Job). */
const REDIS_RESTORE_FLAGS: FlagSpecs = {
  ...RESTORE_FLAGS,
  backup: {
    type: "string",
    help: `the backup id (${EXAMPLE_ID}), or latest (the newest committed, undamaged one taken neither by a restore nor as the stream's base); one of --backup, --to-time, --to-offset`,
  },
  "to-time": {
    type: "string",
    value: "RFC3339",
    help: "restore the set as it was at this time (e.g. 2026-01-15T12:00:00.250Z): the restore Job replays the stream from the newest base before it (see holdfast timeline)",
  },
  "to-offset": {
    type: "integer",
    min: 0,
    help: "restore the set as it was at this replication offset of the stream",
  },
};

function restore(store: Store): Command {
  return {
    words: ["stack", "restore", store],
    summary:
      store === "redis"
        ? "restore a backup, or a point of the stream, into a stack's Redis set: safety backup, scale down, restore pod 0, resync the rest, verify"
        : "restore a snapshot into a stack's LanceDB volume: safety backup, scale down, restore, bring back",
    flags: store === "redis" ? REDIS_RESTORE_FLAGS : RESTORE_FLAGS,
    load: async () => (await load()).restoreRunner(store),
  };
}

function backup(store: Store): Command {
  return {
    words: ["stack", "backup", store],
    summary: `back up a stack's ${store === "redis" ? "Redis" : "LanceDB"} now: a one-off Job from its CronJob, with a reason`,
    flags: {
      ...STACK_FLAGS,
      reason: { type: "string", required: true, help: "why, recorded in the backup (e.g. pre-training)" },
      ...WAIT_FLAGS,
    },
    load: async () => (await load()).backupRunner(store),
  };
}

/** `stack list` / `stack status`: the store command of the same name on the stack's bucket and prefix. */
function storeCommand(inner: Command): Command {
  const { bucket: _b, prefix: _p, ...innerFlags } = inner.flags;
  const word = inner.words[0];
  return {
    words: ["stack", word],
    summary:
      word === "list"
        ? "list a stack's committed backups (its bucket and prefix from the stack's outputs)"
        : "exit 1 when a stack's newest backup is older than --max-age or its Redis stream lags more than --max-lag",
    flags: { ...STACK_FLAGS, ...innerFlags },
    load: async () => (await load()).onStackBucket(inner),
  };
}

const inspect: Command = {
  words: ["pod", "inspect", "redis"],
  aliases: [["redis", "inspect"]],
  summary: "report a Redis set's sentinels, roles, DBSIZE and pattern counts as one JSON line (restore Jobs)",
  flags: {
    ...SENTINEL_FLAG,
    "master-name": {
      type: "string",
      required: true,
      help: "the name the sentinels monitor the primary under",
    },
    nodes: {
      type: "string",
      required: true,
      value: "HOST:PORT,...",
      help: "every data pod as HOST:PORT, comma-separated, in ordinal order",
    },
    pattern: { type: "string", repeatable: true, help: "a key pattern to count on the primary; repeatable" },
    "expect-primary": { type: "string", value: "HOST:PORT", help: "the node that must lead the set" },
    wait: {
      type: "duration",
      default: "0s",
      help: "wait this long for a whole set (led by --expect-primary); exit 1 if it is not; 0s reports at once",
    },
  },
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  load: async () => (require("./inspect-command") as typeof import("./inspect-command")).runInspect,
};

/** The stack commands. */
export const stackCommands: Command[] = [
  restore("redis"),
  restore("lancedb"),
  backup("redis"),
  backup("lancedb"),
  storeCommand(listSpec),
  storeCommand(statusSpec),
];

/** The in-pod command the stack's restore Jobs run. */
export const stackPodCommands: Command[] = [inspect];
