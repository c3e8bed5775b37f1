// `holdfast pod init redis`, the data pod's init container: repair the AOF, decide the pod's role with the
// sentinels, keep a copy of a former primary's data before it resynchronises as a replica, and write
// the redis.conf and role lines the redis container starts from.
import * as fs from "fs";
import * as path from "path";
import { Credentials, NodeAddress, formatAddress } from "../redis/client";
import { AofRepairOutcome, repairAof } from "./aof-repair";
import { holdsData, keepAside } from "./aside";
import { type Backoff, nextPause, ROLE_BACKOFF } from "./backoff";
import { RoleDecision, SentinelView, decideRole, querySentinels } from "./role";

/** Everything the init needs. */
export interface RedisInitOptions {
  /** Pod name, whose trailing number is the StatefulSet ordinal. */
  podName: string;
  /** The address the sentinels and replicas know this pod by. */
  announce: NodeAddress;
  dataDir: string;
  /** The ConfigMap's redis.conf. */
  configFile: string;
  /** Writable folder the redis container reads redis.conf and role.conf from. */
  runDir: string;
  sentinels: NodeAddress[];
  masterName: string;
  sentinelCredentials: Credentials;
  /** Give up after this long without a decision; 0 waits for ever (what a pod does). */
  waitTimeoutMs: number;
  /**
   * After an AOF repair, how long a pod the sentinels name primary waits for them to promote a replica
   * instead, before it resumes as primary with the repaired data.
   */
  repairedWaitMs: number;
  /** Pauses between asking the sentinels again (default ROLE_BACKOFF: 100 ms doubling to 2 s). */
  backoff?: Backoff;
  checkAof?: string;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

/** What the init did. */
export interface RedisInitResult {
  decision: Exclude<RoleDecision, { role: "wait" }>;
  repair: AofRepairOutcome;
  /** Where a former primary's data was kept before it rejoined as a replica. */
  keptAt?: string;
}

/** The init gave up waiting for a decision it may safely take. */
export class RoleUndecidedError extends Error {
  constructor(
    public readonly reason: string,
    /** How many times the sentinels were asked, and over how long. */
    public readonly looks = 0,
    public readonly waitedMs = 0,
  ) {
    super(
      `no role decided after asking the sentinels ${looks} times in ${(waitedMs / 1000).toFixed(1)} s: ${reason}`,
    );
    this.name = "RoleUndecidedError";
  }
}

/** File in the data directory recording the role the node last had. */
export const ROLE_RECORD = "holdfast-role.json";

/** The role a data directory's node last had, as recorded at start and by the agent. */
export function readRoleRecord(dataDir: string): { role: string; at: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, ROLE_RECORD), "utf8"));
  } catch {
    return undefined;
  }
}

/** Records the node's current role in its data directory. */
export function writeRoleRecord(dataDir: string, role: "primary" | "replica", now: Date = new Date()): void {
  const file = path.join(dataDir, ROLE_RECORD);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ role, at: now.toISOString() }) + "\n");
  fs.renameSync(`${file}.tmp`, file);
}

/** The StatefulSet ordinal in a pod name (`redis-2` -> 2). */
export function ordinalOf(podName: string): number {
  const m = /-(\d+)$/.exec(podName);
  if (!m) throw new Error(`pod name "${podName}" does not end in an ordinal`);
  return Number(m[1]);
}

/** The role lines included by redis.conf. */
export function renderRoleConf(decision: RedisInitResult["decision"], announce: NodeAddress): string {
  const lines = [
    `# Written by holdfast redis init: ${decision.reason}`,
    `replica-announce-ip ${announce.host}`,
    `replica-announce-port ${announce.port}`,
  ];
  if (decision.role === "replica") lines.push(`replicaof ${decision.primary.host} ${decision.primary.port}`);
  return lines.join("\n") + "\n";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sentinels that answer plus the most of them that name one primary. */
function answersProgress(views: SentinelView[]): number {
  const named = new Map<string, number>();
  for (const v of views)
    if (v.primary) named.set(formatAddress(v.primary), (named.get(formatAddress(v.primary)) ?? 0) + 1);
  return views.filter((v) => v.reachable).length + Math.max(0, ...named.values());
}

/** Runs the init. Throws AofRepairError or RoleUndecidedError when the pod must not start. */
export async function redisInit(o: RedisInitOptions): Promise<RedisInitResult> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const repair = repairAof(o.dataDir, o.checkAof);
  if (repair.state === "repaired") {
    o.log("repaired the AOF; the original files are kept", {
      keptAt: repair.keptAt,
      detail: repair.detail,
      removed: repair.onlyIncompleteWriteRemoved ? "an incomplete last write" : "commands after damage",
    });
  }
  // Even a tail cut short by a machine crash can have cost acknowledged writes (appendfsync everysec):
  // after any repair, a replica that holds them is the better primary.
  const repaired = repair.state === "repaired";
  const hasData = holdsData(o.dataDir);
  const ordinal = ordinalOf(o.podName);
  const started = Date.now();
  let decision: RoleDecision;
  let lastReason = "";
  // How far the sentinels' answers got (reachable ones, the most that name one primary): when it goes
  // further than ever before, the decision is likely near and the pauses start short again. Only
  // progress resets them (a bounded number of times), never a sentinel that comes and goes.
  let best = 0;
  let pause: number | undefined;
  let looks = 0;
  for (;;) {
    const views = await querySentinels(o.sentinels, o.masterName, o.sentinelCredentials);
    looks++;
    const dataSuspect = repaired && Date.now() - started < o.repairedWaitMs;
    decision = decideRole({ self: o.announce, ordinal, hasData, sentinels: views, dataSuspect });
    if (decision.role !== "wait") break;
    if (decision.reason !== lastReason) o.log(`waiting: ${decision.reason}`);
    lastReason = decision.reason;
    const waited = Date.now() - started;
    if (o.waitTimeoutMs > 0 && waited >= o.waitTimeoutMs)
      throw new RoleUndecidedError(decision.reason, looks, waited);
    const progress = answersProgress(views);
    if (progress > best) pause = undefined;
    best = Math.max(best, progress);
    pause = nextPause(
      o.backoff ?? ROLE_BACKOFF,
      pause,
      o.waitTimeoutMs > 0 ? o.waitTimeoutMs - waited : undefined,
    );
    await sleep(pause);
  }

  let keptAt: string | undefined;
  const last = readRoleRecord(o.dataDir);
  if (decision.role === "replica" && last?.role === "primary") {
    // A former primary may hold writes its replicas never received; the full resync would drop them.
    keptAt = keepAside(o.dataDir, "rejoin");
    if (keptAt)
      o.log("this pod was primary; its data is kept before it resynchronises as a replica", { keptAt });
  }
  writeRoleRecord(o.dataDir, decision.role);

  fs.mkdirSync(o.runDir, { recursive: true });
  fs.copyFileSync(o.configFile, path.join(o.runDir, "redis.conf"));
  fs.writeFileSync(path.join(o.runDir, "role.conf"), renderRoleConf(decision, o.announce));
  o.log(
    `role ${decision.role}${decision.role === "replica" ? ` of ${formatAddress(decision.primary)}` : ""}`,
    {
      reason: decision.reason,
    },
  );
  return { decision, repair, keptAt };
}
