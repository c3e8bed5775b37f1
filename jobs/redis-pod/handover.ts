// Graceful hand-over of the primary role before a data pod stops (rolling update, drain, scale-down):
// pause writes, wait until a replica holds every write the primary acknowledged, have the sentinels
// promote it, follow the new primary, and only then let writes through (they are refused as a replica).
// No acknowledged write is lost and no write lands on a primary that is about to go away.
import type Redis from "ioredis";
import {
  Credentials,
  NodeAddress,
  connectNode,
  formatAddress,
  parseInfo,
  promotableReplicas,
  sameAddress,
  withNode,
} from "../redis/client";

/** Settings of a hand-over. */
export interface HandoverOptions {
  /** Where to reach the local Redis (127.0.0.1 and its port in the pod). */
  local: NodeAddress;
  /** The address the sentinels know this node by. */
  announce: NodeAddress;
  sentinels: NodeAddress[];
  masterName: string;
  /** A data-node user allowed CLIENT PAUSE, REPLICAOF and INFO. */
  redisCredentials: Credentials;
  /** A sentinel user allowed SENTINEL FAILOVER. */
  sentinelCredentials: Credentials;
  /** The whole hand-over gives up after this long. */
  timeoutMs: number;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

/** How a hand-over ended. */
export type HandoverOutcome =
  | { outcome: "not-primary" }
  | { outcome: "no-replica" }
  | { outcome: "handed-over"; to: NodeAddress; pausedMs: number }
  | { outcome: "failed"; reason: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function primaryNamedBySentinels(o: HandoverOptions): Promise<NodeAddress | undefined> {
  for (const s of o.sentinels) {
    try {
      const reply = await withNode(s, o.sentinelCredentials, (c) =>
        c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", o.masterName),
      );
      if (Array.isArray(reply) && reply.length === 2)
        return { host: String(reply[0]), port: Number(reply[1]) };
    } catch {
      // Try the next sentinel.
    }
  }
  return undefined;
}

async function waitForReplicaCatchUp(local: Redis, deadline: number): Promise<boolean> {
  for (;;) {
    const info = parseInfo(await local.info("replication"));
    const target = Number(info.master_repl_offset);
    const online = promotableReplicas(info);
    if (online.some((r) => r.offset >= target)) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

async function requestFailover(o: HandoverOptions, deadline: number): Promise<void> {
  let last = "";
  while (Date.now() < deadline) {
    for (const s of o.sentinels) {
      try {
        await withNode(s, o.sentinelCredentials, (c) => c.call("SENTINEL", "FAILOVER", o.masterName));
        return;
      } catch (err) {
        last = `${formatAddress(s)}: ${(err as Error).message}`;
        if (/INPROG/.test(last)) return; // a failover is already under way
      }
    }
    await sleep(500);
  }
  throw new Error(`no sentinel accepted SENTINEL FAILOVER (${last})`);
}

/** Hands the primary role over to a replica, when this node is the primary. */
export async function handOver(o: HandoverOptions): Promise<HandoverOutcome> {
  const deadline = Date.now() + o.timeoutMs;
  const local = await connectNode(o.local, o.redisCredentials);
  let paused = 0;
  try {
    const info = parseInfo(await local.info("replication"));
    if (info.role !== "master") return { outcome: "not-primary" };
    if (promotableReplicas(info).length === 0) return { outcome: "no-replica" };

    // From here no client write is applied, so the offset the replicas must reach stops moving.
    await local.call("CLIENT", "PAUSE", String(o.timeoutMs), "WRITE");
    paused = Date.now();
    o.log("writes paused; waiting for a replica to catch up");
    if (!(await waitForReplicaCatchUp(local, deadline)))
      throw new Error("no replica caught up with the primary in time");

    await requestFailover(o, deadline);
    o.log("failover requested from the sentinels");
    let to: NodeAddress | undefined;
    while (Date.now() < deadline) {
      to = await primaryNamedBySentinels(o);
      if (to && !sameAddress(to, o.announce)) break;
      to = undefined;
      await sleep(100);
    }
    if (!to) throw new Error("the sentinels did not switch to a new primary in time");

    // Follow the new primary at once (the sentinels would only do so seconds later), so the writes
    // waiting on the pause are refused as READONLY instead of landing here.
    await local.call("REPLICAOF", to.host, String(to.port));
    await local.call("CLIENT", "UNPAUSE");
    const pausedMs = Date.now() - paused;
    o.log(`handed over to ${formatAddress(to)}`, { pausedMs });
    return { outcome: "handed-over", to, pausedMs };
  } catch (err) {
    if (paused) await local.call("CLIENT", "UNPAUSE").catch(() => undefined);
    return { outcome: "failed", reason: (err as Error).message };
  } finally {
    local.disconnect();
  }
}
