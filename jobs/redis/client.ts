// Short-lived connections to one Redis node or sentinel, for jobs that ask a question and go: no
// reconnects, no offline queue, a bounded connect and command time, and credentials from the
// environment (REDIS_USERNAME / REDIS_PASSWORD for data nodes, SENTINEL_USERNAME / SENTINEL_PASSWORD
// for sentinels).
import Redis from "ioredis";
import { hostPort } from "../cli/args";

/** Where a Redis node or sentinel listens. */
export interface NodeAddress {
  host: string;
  port: number;
}

/** A Redis ACL user. */
export interface Credentials {
  username?: string;
  password?: string;
}

/** `host:port`. */
export function formatAddress(a: NodeAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** True when both name the same node (host names compare case-insensitively). */
export function sameAddress(a: NodeAddress, b: NodeAddress): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port;
}

/** Parses a comma-separated `host:port` list. */
export function parseAddresses(list: string, what: string): NodeAddress[] {
  const items = list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return items.map((item) => hostPort(item, what));
}

/** Credentials from `<PREFIX>_USERNAME` / `<PREFIX>_PASSWORD`. */
export function credentialsFromEnv(
  prefix: "REDIS" | "SENTINEL",
  env: NodeJS.ProcessEnv = process.env,
): Credentials {
  return {
    username: env[`${prefix}_USERNAME`] || undefined,
    password: env[`${prefix}_PASSWORD`] || undefined,
  };
}

/**
 * Opens a connection and waits until it is usable.
 * @param timeoutMs bound on connecting and on every command.
 */
export async function connectNode(a: NodeAddress, creds: Credentials, timeoutMs = 3000): Promise<Redis> {
  const client = new Redis({
    host: a.host,
    port: a.port,
    username: creds.username,
    password: creds.password,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined); // failures surface through the awaited commands
  try {
    await client.connect();
    return client;
  } catch (err) {
    client.disconnect();
    throw err;
  }
}

/** Connects, runs `fn`, and always closes the connection. */
export async function withNode<T>(
  a: NodeAddress,
  creds: Credentials,
  fn: (client: Redis) => Promise<T>,
  timeoutMs = 3000,
): Promise<T> {
  const client = await connectNode(a, creds, timeoutMs);
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

// In its own module (no ioredis), for modules that only read INFO's text.
export { parseInfo } from "./info";

/** A replica as the primary's INFO replication lists it (`slaveN:ip=...,port=...,state=...,offset=...`). */
export interface ReplicaInfo {
  address: NodeAddress;
  state: string;
  offset: number;
  lagSeconds: number;
}

/** The replicas listed in a primary's INFO replication. */
export function replicasOf(info: Record<string, string>): ReplicaInfo[] {
  return Object.entries(info)
    .filter(([k]) => /^slave\d+$/.test(k))
    .map(([, v]) => {
      const f = Object.fromEntries(v.split(",").map((kv) => kv.split("=") as [string, string]));
      return {
        address: { host: f.ip, port: Number(f.port) },
        state: f.state,
        offset: Number(f.offset),
        lagSeconds: Number(f.lag),
      };
    });
}

/**
 * The replicas the sentinels could promote: online, and listening on a port. Holdfast's continuous
 * protection stream follows the primary as a replica announcing port 0; it holds the writes in the
 * bucket but can never serve them, so it must not count where a replica that can take over is meant.
 */
export function promotableReplicas(info: Record<string, string>): ReplicaInfo[] {
  return replicasOf(info).filter((r) => r.state === "online" && r.address.port > 0);
}

/** Turns the flat `[field, value, ...]` reply of SENTINEL MASTER into an object. */
export function fieldsOf(reply: unknown): Record<string, string> {
  const list = Array.isArray(reply) ? (reply as unknown[]) : [];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = String(list[i + 1]);
  return out;
}
