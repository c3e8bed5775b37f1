// Finding the node to take a backup from, through the sentinels: the primary a majority of the answering
// sentinels name, the replicas they know, and each candidate's own view of itself (INFO as the backup
// user). A healthy replica is preferred — role slave, link to the primary up, no sync in progress, the
// least behind — so the primary never forks for a backup; the primary is the fallback.
import type Redis from "ioredis";
import {
  connectNode,
  type Credentials,
  fieldsOf,
  formatAddress,
  type NodeAddress,
  parseInfo,
  sameAddress,
} from "../../redis/client";

/** Bad input found while asking the sentinels: unknown master name, refused credentials, no sentinel. */
export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiscoveryError";
  }
}

/** What the sentinels say about the set. */
export interface Topology {
  primary: NodeAddress;
  /** Replicas the sentinels know and consider up, as they announce themselves. */
  replicas: NodeAddress[];
  /** Replicas the sentinels know but report down or disconnected. */
  down: Rejection[];
  /** Sentinels that answered, out of those asked. */
  sentinelsAnswered: number;
  sentinelsAsked: number;
}

/** A node a backup may stream from, with what it said about itself. */
export interface SourceCandidate {
  address: NodeAddress;
  role: "replica" | "primary";
  /** How far behind the primary, in bytes of the replication stream (0 for the primary). */
  lagBytes: number;
  /** The node's INFO (INFO_SECTIONS), flat. */
  info: Record<string, string>;
  /** The same by section. */
  infoSections: InfoSections;
}

/** Which nodes a backup may use. */
export type SourcePreference = "replica" | "primary";

function isAuthError(err: unknown): boolean {
  return /WRONGPASS|NOAUTH|NOPERM|invalid username-password/i.test(String((err as Error)?.message));
}

async function ask<T>(
  address: NodeAddress,
  credentials: Credentials,
  fn: (c: Redis) => Promise<T>,
  timeoutMs: number,
): Promise<T> {
  // AUTH is sent as a command rather than left to the client's handshake, so a refusal surfaces as
  // WRONGPASS instead of a closed connection.
  const c = await connectNode(address, {}, timeoutMs);
  try {
    if (credentials.password)
      await (credentials.username
        ? c.call("AUTH", credentials.username, credentials.password)
        : c.call("AUTH", credentials.password));
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

/**
 * Asks every sentinel for the primary and replicas of `masterName`.
 * @throws DiscoveryError when no sentinel answers, the credentials are refused, or no sentinel knows the name.
 */
export async function discoverTopology(
  sentinels: NodeAddress[],
  masterName: string,
  credentials: Credentials,
  timeoutMs = 5000,
): Promise<Topology> {
  const answers = await Promise.all(
    sentinels.map(async (s) => {
      try {
        return await ask(
          s,
          credentials,
          async (c) => {
            const addr = (await c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName)) as
              [string, string] | null;
            if (!addr) return { sentinel: s, known: false as const };
            const replicas = ((await c.call("SENTINEL", "REPLICAS", masterName)) as unknown[]).map(fieldsOf);
            return {
              sentinel: s,
              known: true as const,
              primary: { host: addr[0], port: Number(addr[1]) },
              replicas,
            };
          },
          timeoutMs,
        );
      } catch (err) {
        return { sentinel: s, error: err as Error };
      }
    }),
  );
  const list = sentinels.map(formatAddress).join(",");
  const refused = answers.find((a) => "error" in a && isAuthError(a.error));
  if (refused && "error" in refused)
    throw new DiscoveryError(
      `sentinel ${formatAddress(refused.sentinel)} refused the sentinel credentials (${refused.error.message.split("\n")[0]}); check SENTINEL_USERNAME / SENTINEL_PASSWORD`,
    );
  const answered = answers.filter((a) => !("error" in a));
  if (answered.length === 0)
    throw new DiscoveryError(
      `cannot reach any sentinel at ${list} (${(answers[0] as { error: Error }).error.message})`,
    );
  const knowing = answered.filter((a) => "known" in a && a.known) as {
    primary: NodeAddress;
    replicas: Record<string, string>[];
  }[];
  if (knowing.length === 0)
    throw new DiscoveryError(`the sentinels at ${list} do not know a master named "${masterName}"`);
  // The primary most answering sentinels name (they may briefly disagree during a failover).
  const votes = new Map<string, { address: NodeAddress; n: number; replicas: Record<string, string>[] }>();
  for (const k of knowing) {
    const id = formatAddress(k.primary);
    const v = votes.get(id) ?? { address: k.primary, n: 0, replicas: [] };
    v.n++;
    v.replicas.push(...k.replicas);
    votes.set(id, v);
  }
  const winner = [...votes.values()].sort((a, b) => b.n - a.n)[0];
  const replicas: NodeAddress[] = [];
  const down: Rejection[] = [];
  for (const r of winner.replicas) {
    const address = { host: r.ip, port: Number(r.port) };
    // Entries with port 0 are `redis-cli --rdb`-style transfers (ours included) the sentinels saw in
    // INFO; down or disconnected replicas cannot serve a snapshot.
    if (!address.host || !(address.port > 0)) continue;
    // One healthy report among the sentinels is enough: INFO of the node decides after.
    if (replicas.some((x) => sameAddress(x, address))) continue;
    if (/s_down|o_down|disconnected/.test(r.flags ?? ""))
      down.push({ address, reason: `the sentinels report it ${r.flags}` });
    else if (r["master-link-status"] && r["master-link-status"] !== "ok")
      down.push({
        address,
        reason: `the sentinels report its link to the primary ${r["master-link-status"]}`,
      });
    else replicas.push(address);
  }
  return {
    primary: winner.address,
    replicas,
    down: down.filter(
      (d, i) =>
        !replicas.some((x) => sameAddress(x, d.address)) &&
        down.findIndex((x) => sameAddress(x.address, d.address)) === i,
    ),
    sentinelsAnswered: answered.length,
    sentinelsAsked: sentinels.length,
  };
}

/** The INFO sections a backup records. */
export const INFO_SECTIONS = ["server", "replication", "persistence", "memory", "keyspace"];

/** INFO split by section (`# Persistence` -> persistence), field -> value. */
export type InfoSections = Record<string, Record<string, string>>;

/** Parses the text of INFO into its sections. */
export function parseInfoSections(text: string): InfoSections {
  const sections: InfoSections = {};
  let current: Record<string, string> | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("# ")) {
      current = sections[line.slice(2).trim().toLowerCase()] = {};
      continue;
    }
    const i = line.indexOf(":");
    if (current && i > 0) current[line.slice(0, i)] = line.slice(i + 1);
  }
  return sections;
}

/** INFO of a node (the sections a backup records), as the backup user. */
export async function nodeInfo(
  address: NodeAddress,
  credentials: Credentials,
  timeoutMs = 5000,
): Promise<{ flat: Record<string, string>; sections: InfoSections }> {
  return ask(
    address,
    credentials,
    async (c) => {
      const text = String(await c.call("INFO", ...INFO_SECTIONS));
      return { flat: parseInfo(text), sections: parseInfoSections(text) };
    },
    timeoutMs,
  );
}

/** Why a candidate was passed over, for the log. */
export interface Rejection {
  address: NodeAddress;
  reason: string;
}

/**
 * The nodes to try, best first: healthy replicas by lag, then (for `replica`, when allowed) the primary.
 * @throws DiscoveryError when a node refuses the backup user's credentials.
 */
export async function rankSources(
  topology: Topology,
  preference: SourcePreference,
  credentials: Credentials,
  timeoutMs = 5000,
): Promise<{ candidates: SourceCandidate[]; rejected: Rejection[] }> {
  const rejected: Rejection[] = [...topology.down];
  const infoOf = async (a: NodeAddress) => {
    try {
      return await nodeInfo(a, credentials, timeoutMs);
    } catch (err) {
      if (isAuthError(err))
        throw new DiscoveryError(
          `${formatAddress(a)} refused the backup user's credentials (${(err as Error).message.split("\n")[0]}); check REDIS_USERNAME / REDIS_PASSWORD`,
        );
      rejected.push({ address: a, reason: `unreachable: ${(err as Error).message}` });
      return undefined;
    }
  };
  const primaryAnswer = await infoOf(topology.primary);
  const primaryInfo = primaryAnswer?.flat;
  const primaryOffset = Number(primaryInfo?.master_repl_offset ?? NaN);
  const primary: SourceCandidate[] =
    primaryAnswer && primaryInfo?.role === "master"
      ? [
          {
            address: topology.primary,
            role: "primary",
            lagBytes: 0,
            info: primaryAnswer.flat,
            infoSections: primaryAnswer.sections,
          },
        ]
      : [];
  if (primaryInfo && primaryInfo.role !== "master")
    rejected.push({ address: topology.primary, reason: `named primary but its role is ${primaryInfo.role}` });
  if (preference === "primary") return { candidates: primary, rejected };

  const replicas: SourceCandidate[] = [];
  for (const address of topology.replicas) {
    const answer = await infoOf(address);
    if (!answer) continue;
    const info = answer.flat;
    const problem =
      info.role !== "slave"
        ? `its role is ${info.role}`
        : info.master_link_status !== "up"
          ? `its link to the primary is ${info.master_link_status}`
          : info.master_sync_in_progress === "1"
            ? "it is resynchronising"
            : undefined;
    if (problem) {
      rejected.push({ address, reason: problem });
      continue;
    }
    const offset = Number(info.slave_repl_offset ?? info.master_repl_offset);
    const lagBytes =
      Number.isFinite(primaryOffset) && Number.isFinite(offset) ? Math.max(0, primaryOffset - offset) : 0;
    replicas.push({ address, role: "replica", lagBytes, info, infoSections: answer.sections });
  }
  replicas.sort((a, b) => a.lagBytes - b.lagBytes);
  return { candidates: [...replicas, ...primary], rejected };
}
