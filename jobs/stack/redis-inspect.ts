// `holdfast pod inspect redis`, run as a Job inside the stack's cluster (an operator's machine cannot reach
// the pods): what the sentinels say, each data node's role and keys, and on the primary DBSIZE per
// database and the key count of each pattern (an operator's `redis-cli --scan --pattern ... | wc -l`).
// With an expected primary it waits until the set is whole again: every sentinel that answers (a majority)
// names that node, it serves as primary with every replica online and counted for min-replicas-to-write,
// every other node replicates it with its link up and its sync done (asked of the replicas themselves),
// and no sentinel lists a replica it cannot reach. How many replicas each sentinel lists is reported, not
// waited for: a sentinel learns a primary's replicas from the primary's INFO, which it reads every 10 s,
// so a set that came back whole a moment ago is listed fully by its sentinels up to 10 s later. The
// report is one JSON line on stdout, which the restore reads from the Job's log.
import { scanCount } from "../redis-backup/scratch/load-check";
import { INSPECT_KIND, type InspectReport, type NodeReport, type SentinelReport } from "./inspect-report";
import {
  connectNode,
  type Credentials,
  fieldsOf,
  formatAddress,
  type NodeAddress,
  parseInfo,
  promotableReplicas,
  sameAddress,
  withNode,
} from "../redis/client";

export {
  INSPECT_KIND,
  type InspectReport,
  type NodeReport,
  type SentinelReport,
  reportFromLog,
} from "./inspect-report";

/** What an inspection needs. */
export interface InspectOptions {
  sentinels: NodeAddress[];
  masterName: string;
  /** Every data node, in ordinal order. */
  nodes: NodeAddress[];
  patterns: string[];
  redisCredentials: Credentials;
  sentinelCredentials: Credentials;
  /** Wait until this node leads a whole set. */
  expectPrimary?: NodeAddress;
  /** How long to wait for a whole set; 0 reports at once. */
  waitMs: number;
  /** Milliseconds between looks while waiting; default 250. */
  pollMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

function parseHostPort(value: string): NodeAddress | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value);
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

/**
 * The data nodes a sentinel lists as up and as stale (down or disconnected). An entry without a listening
 * port (port 0) is the continuous-protection stream, which joins as a replica that serves nothing: the
 * sentinel can never reach it, and it is no node of the set.
 */
export function countReplicas(replicas: Record<string, string>[]): {
  replicas: number;
  staleReplicas: number;
} {
  const nodes = replicas.filter((r) => r.port !== "0");
  const down = nodes.filter((r) => /s_down|o_down|disconnected/.test(r.flags ?? "")).length;
  return { replicas: nodes.length - down, staleReplicas: down };
}

async function askSentinel(
  sentinel: NodeAddress,
  masterName: string,
  creds: Credentials,
): Promise<SentinelReport> {
  const address = formatAddress(sentinel);
  try {
    return await withNode(sentinel, creds, async (c) => {
      let master: Record<string, string>;
      try {
        master = fieldsOf(await c.call("SENTINEL", "MASTER", masterName));
      } catch (err) {
        return { address, reachable: true, error: (err as Error).message };
      }
      const replicas = ((await c.call("SENTINEL", "REPLICAS", masterName)) as unknown[]).map(fieldsOf);
      return {
        address,
        reachable: true,
        primary: formatAddress({ host: master.ip, port: Number(master.port) }),
        ...countReplicas(replicas),
      };
    });
  } catch (err) {
    return { address, reachable: false, error: (err as Error).message };
  }
}

async function askNode(node: NodeAddress, creds: Credentials): Promise<NodeReport> {
  const address = formatAddress(node);
  try {
    return await withNode(node, creds, async (c) => {
      const info = parseInfo(String(await c.info("replication")));
      const keyspace = parseInfo(String(await c.info("keyspace")));
      const keys = Object.values(keyspace).reduce((n, v) => n + Number(/keys=(\d+)/.exec(v)?.[1] ?? 0), 0);
      if (info.role === "master")
        return {
          address,
          reachable: true,
          role: "primary" as const,
          onlineReplicas: promotableReplicas(info).length,
          ...(info.min_slaves_good_slaves !== undefined
            ? { goodReplicas: Number(info.min_slaves_good_slaves) }
            : {}),
          offset: Number(info.master_repl_offset ?? 0),
          keys,
        };
      return {
        address,
        reachable: true,
        role: "replica" as const,
        following: formatAddress({ host: info.master_host, port: Number(info.master_port) }),
        inSync: info.master_link_status === "up" && info.master_sync_in_progress !== "1",
        offset: Number(info.slave_repl_offset ?? 0),
        keys,
      };
    });
  } catch (err) {
    return { address, reachable: false, error: (err as Error).message };
  }
}

/**
 * Judges a set from what its sentinels and nodes said (pure): the primary a majority names, and the
 * problems that keep it from being whole.
 */
export function assess(
  sentinels: SentinelReport[],
  nodes: NodeReport[],
  expectPrimary?: string,
): { primary?: string; primaryIndex?: number; problems: string[]; notes: string[] } {
  const problems: string[] = [];
  const need = Math.floor(sentinels.length / 2) + 1;
  const votes = new Map<string, number>();
  for (const s of sentinels)
    if (s.primary) votes.set(s.primary.toLowerCase(), (votes.get(s.primary.toLowerCase()) ?? 0) + 1);
  const [top, n] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0] ?? [undefined, 0];
  const unreachable = sentinels.filter((s) => !s.reachable).map((s) => s.address);
  if (unreachable.length > 0) problems.push(`sentinels not answering: ${unreachable.join(", ")}`);
  let primary: string | undefined;
  if (!top || n < need) problems.push(`no primary named by ${need} of ${sentinels.length} sentinels`);
  else primary = sentinels.find((s) => s.primary?.toLowerCase() === top)!.primary;
  if (expectPrimary && primary && primary.toLowerCase() !== expectPrimary.toLowerCase())
    problems.push(`the sentinels name ${primary} primary, not ${expectPrimary}`);
  const sameAs = (a?: string, b?: string) => {
    const x = a && parseHostPort(a);
    const y = b && parseHostPort(b);
    return Boolean(x && y && sameAddress(x, y));
  };
  const primaryIndex = primary ? nodes.findIndex((x) => sameAs(x.address, primary)) : -1;
  const leader = primaryIndex >= 0 ? nodes[primaryIndex] : undefined;
  if (primary && !leader) problems.push(`the primary ${primary} is none of the set's nodes`);
  if (leader && leader.role !== "primary")
    problems.push(`${leader.address} ${leader.reachable ? `serves as ${leader.role}` : "does not answer"}`);
  for (const s of sentinels.filter((x) => x.reachable && primary))
    if (!s.primary)
      problems.push(`sentinel ${s.address} does not monitor the set: ${s.error ?? "no answer"}`);
    else if (s.primary.toLowerCase() !== primary!.toLowerCase())
      problems.push(`sentinel ${s.address} names ${s.primary} primary`);
  for (const node of nodes) {
    if (node === leader) continue;
    if (!node.reachable) problems.push(`${node.address} does not answer`);
    else if (node.role !== "replica") problems.push(`${node.address} serves as primary too`);
    else if (primary && !sameAs(node.following, primary))
      problems.push(`${node.address} replicates ${node.following}, not ${primary}`);
    else if (!node.inSync) problems.push(`${node.address} is not in sync yet`);
  }
  const replicas = nodes.length - 1;
  if (leader?.role === "primary") {
    if ((leader.onlineReplicas ?? 0) < replicas)
      problems.push(`${leader.address} has ${leader.onlineReplicas ?? 0} of ${replicas} replicas online`);
    else if (leader.goodReplicas !== undefined && leader.goodReplicas < replicas)
      problems.push(
        `${leader.address} counts ${leader.goodReplicas} of ${replicas} replicas for min-replicas-to-write`,
      );
  }
  const notes: string[] = [];
  for (const s of sentinels.filter((x) => x.reachable && x.primary)) {
    if ((s.staleReplicas ?? 0) > 0)
      problems.push(`sentinel ${s.address} lists ${s.staleReplicas} stale replicas`);
    if ((s.replicas ?? 0) < replicas)
      notes.push(
        `sentinel ${s.address} lists ${s.replicas ?? 0} of ${replicas} replicas yet (it reads the primary's INFO every 10 s)`,
      );
  }
  return { primary, primaryIndex: primaryIndex >= 0 ? primaryIndex : undefined, problems, notes };
}

async function keyspaceOf(node: NodeAddress, creds: Credentials): Promise<Record<string, number>> {
  return withNode(node, creds, async (c) => {
    const out: Record<string, number> = {};
    for (const m of String(await c.info("keyspace")).matchAll(/^db(\d+):keys=(\d+)/gm))
      out[m[1]] = Number(m[2]);
    return out;
  });
}

/** Keys per pattern on `node`, over every database that has keys. */
async function countPatterns(
  node: NodeAddress,
  creds: Credentials,
  dbs: string[],
  patterns: string[],
): Promise<Record<string, number>> {
  const c = await connectNode(node, creds, 60_000);
  try {
    const out: Record<string, number> = {};
    for (const p of patterns) {
      out[p] = 0;
      for (const db of dbs) out[p] += await scanCount(c, db, p);
    }
    return out;
  } finally {
    c.disconnect();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Inspects the set, waiting for a whole set when asked to. */
export async function inspectRedis(o: InspectOptions): Promise<InspectReport> {
  const deadline = Date.now() + o.waitMs;
  const expect = o.expectPrimary ? formatAddress(o.expectPrimary) : undefined;
  let last = "";
  for (;;) {
    const [sentinels, nodes] = await Promise.all([
      Promise.all(o.sentinels.map((s) => askSentinel(s, o.masterName, o.sentinelCredentials))),
      Promise.all(o.nodes.map((n) => askNode(n, o.redisCredentials))),
    ]);
    const { primary, primaryIndex, problems, notes } = assess(sentinels, nodes, expect);
    const healthy = problems.length === 0;
    if (healthy || Date.now() >= deadline) {
      const report: InspectReport = {
        kind: INSPECT_KIND,
        at: new Date().toISOString(),
        primary,
        primaryIndex,
        sentinels,
        nodes,
        healthy,
        problems,
        ...(notes.length > 0 ? { notes } : {}),
      };
      const leader = primaryIndex !== undefined ? o.nodes[primaryIndex] : undefined;
      if (leader && nodes[primaryIndex!].role === "primary") {
        try {
          report.keyspace = await keyspaceOf(leader, o.redisCredentials);
          report.patterns = await countPatterns(
            leader,
            o.redisCredentials,
            Object.keys(report.keyspace),
            o.patterns,
          );
        } catch (err) {
          report.problems.push(`cannot count the primary's keys: ${(err as Error).message}`);
          report.healthy = false;
        }
      }
      return report;
    }
    const now = problems.join("; ");
    if (now !== last) o.log?.("waiting for the set", { problems });
    last = now;
    await sleep(o.pollMs ?? 250);
  }
}
