// Start-up of a sentinel pod: find the set's current primary (from peer sentinels, else from the data
// nodes, else from what this sentinel knew before it restarted, else the bootstrap pod of the
// ConfigMap) and write the sentinel.conf the sentinel runs: the ConfigMap's file with its monitor line
// pointed at that primary, a stable identity and announce address, the credentials from the Secret,
// and the state it had learnt (epochs, known replicas and peers).
import { createHash } from "crypto";
import { Credentials, NodeAddress, fieldsOf, formatAddress, parseInfo, withNode } from "../redis/client";

/** What a peer sentinel reports about the master. */
export interface PeerView {
  sentinel: NodeAddress;
  primary?: NodeAddress;
  /** The primary is up and reports itself as primary, in this peer's eyes. */
  healthy: boolean;
}

/** What a data node reports about itself. */
export interface NodeRole {
  node: NodeAddress;
  role: "master" | "slave" | "unknown";
  connectedReplicas: number;
  offset: number;
}

/** The choice of primary and where it came from. */
export interface PrimaryChoice {
  primary: NodeAddress;
  source: "peers" | "data-nodes" | "own-state" | "bootstrap";
  reason: string;
}

/**
 * Chooses the primary a starting sentinel monitors: what healthy peers agree on; else the data node that
 * serves as primary (most replicas, then highest offset); else the primary this sentinel monitored
 * before it restarted; else the ConfigMap's bootstrap pod.
 */
export function choosePrimary(
  peers: PeerView[],
  nodes: NodeRole[],
  bootstrap: NodeAddress,
  remembered?: NodeAddress,
): PrimaryChoice {
  const counts = new Map<string, { address: NodeAddress; n: number }>();
  for (const p of peers) {
    if (!p.primary || !p.healthy) continue;
    const key = formatAddress(p.primary).toLowerCase();
    const entry = counts.get(key) ?? { address: p.primary, n: 0 };
    entry.n++;
    counts.set(key, entry);
  }
  const best = [...counts.values()].sort((a, b) => b.n - a.n)[0];
  if (best) {
    return { primary: best.address, source: "peers", reason: `${best.n} peer sentinel(s) monitor it` };
  }
  const primaries = nodes
    .filter((n) => n.role === "master")
    .sort((a, b) => b.connectedReplicas - a.connectedReplicas || b.offset - a.offset);
  if (primaries.length > 0) {
    const p = primaries[0];
    return {
      primary: p.node,
      source: "data-nodes",
      reason:
        `it reports role master with ${p.connectedReplicas} replica(s)` +
        (primaries.length > 1 ? " (of several)" : ""),
    };
  }
  if (remembered) {
    return {
      primary: remembered,
      source: "own-state",
      reason: "no peer or data node answers: the primary it last knew",
    };
  }
  return {
    primary: bootstrap,
    source: "bootstrap",
    reason: "no peer or data node knows a primary: first start",
  };
}

/** Asks the peer sentinels what they monitor. */
export async function queryPeers(
  peers: NodeAddress[],
  masterName: string,
  creds: Credentials,
  timeoutMs = 2000,
): Promise<PeerView[]> {
  return Promise.all(
    peers.map(async (sentinel): Promise<PeerView> => {
      try {
        return await withNode(
          sentinel,
          creds,
          async (c) => {
            const f = fieldsOf(await c.call("SENTINEL", "MASTER", masterName));
            const flags = (f.flags ?? "").split(",");
            const healthy =
              !flags.some((x) => ["s_down", "o_down", "disconnected"].includes(x)) &&
              f["role-reported"] === "master";
            return { sentinel, primary: { host: f.ip, port: Number(f.port) }, healthy };
          },
          timeoutMs,
        );
      } catch {
        return { sentinel, healthy: false };
      }
    }),
  );
}

/** Asks the data nodes their role. */
export async function queryNodeRoles(
  nodes: NodeAddress[],
  creds: Credentials,
  timeoutMs = 2000,
): Promise<NodeRole[]> {
  return Promise.all(
    nodes.map(async (node): Promise<NodeRole> => {
      try {
        return await withNode(
          node,
          creds,
          async (c) => {
            const info = parseInfo(await c.info("replication"));
            return {
              node,
              role: info.role === "master" ? "master" : "slave",
              connectedReplicas: Number(info.connected_slaves ?? 0),
              offset: Number(info.master_repl_offset ?? 0),
            };
          },
          timeoutMs,
        );
      } catch {
        return { node, role: "unknown", connectedReplicas: 0, offset: 0 };
      }
    }),
  );
}

/** A sentinel id derived from the master name and the pod's stable address, so a restart keeps it. */
export function sentinelId(masterName: string, announce: NodeAddress): string {
  return createHash("sha1")
    .update(`${masterName}@${formatAddress(announce).toLowerCase()}`)
    .digest("hex");
}

/** What a sentinel had learnt before it restarted, read from the config file it rewrote. */
export interface SentinelState {
  /** The primary it last monitored. */
  primary?: NodeAddress;
  /** Its epochs and the replicas and peers it knew, as config lines. */
  lines: string[];
}

/** Reads the state a sentinel wrote into its config file (empty when there is no previous file). */
export function readSentinelState(previousConf: string | undefined, masterName: string): SentinelState {
  if (!previousConf) return { lines: [] };
  const learnt = new RegExp(
    `^sentinel (?:(?:config-epoch|leader-epoch|known-replica|known-sentinel) ${masterName} .+|current-epoch \\d+)$`,
  );
  const m = new RegExp(`^sentinel monitor ${masterName} (\\S+) (\\d+) \\d+$`, "m").exec(previousConf);
  return {
    primary: m ? { host: m[1], port: Number(m[2]) } : undefined,
    lines: previousConf.split("\n").filter((l) => learnt.test(l)),
  };
}

/**
 * The sentinel.conf a sentinel runs: `baseConf` (the ConfigMap's) with the monitor line's address
 * replaced by `primary`, then the identity and announce lines, `authConf` (the Secret's), and the state
 * lines it had learnt before it restarted.
 */
export function composeSentinelConf(
  baseConf: string,
  authConf: string,
  masterName: string,
  primary: NodeAddress,
  announce: NodeAddress,
  stateLines: string[] = [],
): string {
  const monitor = new RegExp(`^sentinel monitor ${masterName} \\S+ \\d+ (\\d+)$`, "m");
  if (!monitor.test(baseConf)) throw new Error(`sentinel.conf has no "sentinel monitor ${masterName}" line`);
  const conf = baseConf.replace(
    monitor,
    (_line, quorum) => `sentinel monitor ${masterName} ${primary.host} ${primary.port} ${quorum}`,
  );
  return [
    conf.trimEnd(),
    "",
    "# Written at start by holdfast sentinel init: identity and announce address of this pod.",
    `sentinel myid ${sentinelId(masterName, announce)}`,
    `sentinel announce-ip ${announce.host}`,
    `sentinel announce-port ${announce.port}`,
    "",
    authConf.trimEnd(),
    ...(stateLines.length > 0 ? ["", "# Learnt before the last restart.", ...stateLines] : []),
    "",
  ].join("\n");
}

/** The monitor line's address in a sentinel.conf (the bootstrap primary). */
export function monitoredAddress(conf: string, masterName: string): NodeAddress {
  const m = new RegExp(`^sentinel monitor ${masterName} (\\S+) (\\d+) \\d+$`, "m").exec(conf);
  if (!m) throw new Error(`sentinel.conf has no "sentinel monitor ${masterName}" line`);
  return { host: m[1], port: Number(m[2]) };
}
