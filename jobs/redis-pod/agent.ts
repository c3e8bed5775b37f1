// `holdfast pod agent redis`, the sidecar of a data pod: it records the node's role in the data directory as
// it changes (so a former primary's data is kept aside when it later rejoins as a replica) and stays
// up so that its preStop hook can run the hand-over; beside it the command runs the busy-script watch
// (busy-watch.ts). It exits on SIGTERM.
import { Credentials, NodeAddress, parseInfo, withNode } from "../redis/client";
import { readRoleRecord, writeRoleRecord } from "./redis-init";

/** Settings of the agent. */
export interface AgentOptions {
  local: NodeAddress;
  credentials: Credentials;
  dataDir: string;
  intervalMs: number;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Reads the node's role once and records it when it differs from the record. */
export async function recordRole(o: AgentOptions): Promise<"primary" | "replica" | undefined> {
  const role = await withNode(
    o.local,
    o.credentials,
    async (c) => parseInfo(await c.info("replication")).role,
  ).catch(() => undefined);
  if (role !== "master" && role !== "slave") return undefined;
  const now = role === "master" ? "primary" : "replica";
  if (readRoleRecord(o.dataDir)?.role !== now) {
    writeRoleRecord(o.dataDir, now);
    o.log(`role is now ${now}`);
  }
  return now;
}

/** Runs until `signal` aborts. */
export async function runAgent(o: AgentOptions, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await recordRole(o);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, o.intervalMs);
      signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}
