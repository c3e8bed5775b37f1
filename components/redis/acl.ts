// The Redis ACL users of a Holdfast set and the files that carry them: the data nodes' users.acl and
// the sentinels' users. No default user: every client authenticates as a named user whose rights fit
// its job, and only `admin` can flush, reconfigure or shut down a node.
import { createHash } from "crypto";

/** Passwords of the generated users, by role. */
export interface RedisPasswords {
  /**
   * The application: every data command and read-only scripts; never FLUSHALL, FLUSHDB, destructive
   * admin commands, scripts that write, or the FUNCTION and SCRIPT administration.
   */
  app: string;
  /** Replicas authenticating to the primary. */
  replication: string;
  /** Sentinels monitoring and reconfiguring data nodes, and talking to each other. */
  sentinel: string;
  /** Backup jobs: a full snapshot over the replication protocol, and INFO. */
  backup: string;
  /** Break-glass administration. */
  admin: string;
  /** Readiness and liveness probes: PING, ROLE and INFO. */
  probe: string;
  /** Clients asking the sentinels where the primary is. */
  discovery: string;
  /** The metrics exporters: INFO and the read-only diagnostics, on data nodes and sentinels. */
  exporter: string;
  /**
   * Continuous protection (`holdfast stream redis`): a replica that stays one, and nothing else. On the
   * data nodes only when the set is told a stream joins it (SentinelRedisArgs.streamUser).
   */
  stream: string;
}

/** The roles, in the order users are written. */
export const REDIS_USER_ROLES: (keyof RedisPasswords)[] = [
  "app",
  "replication",
  "sentinel",
  "backup",
  "admin",
  "probe",
  "discovery",
  "exporter",
  "stream",
];

/** The rights of each data-node user, in Redis ACL rule syntax (without the password). */
export const DATA_NODE_RULES: Record<Exclude<keyof RedisPasswords, "discovery">, string> = {
  // Everything but the dangerous category; a few harmless commands of it are added back, and the
  // flushes are named again so the intent survives a change of Redis's categories. Scripts are
  // read-only: a script that has written cannot be killed, and one running past the sentinels'
  // down-after time gets its primary failed over and its acknowledged writes discarded; a read-only
  // one is killed by the pod's sidecar first (busy-watch.ts). Functions (part of the dataset a backup
  // holds) are loaded, replaced and deleted by admin only, and only admin flushes the script cache.
  app:
    "~* &* +@all -@dangerous -@scripting +eval_ro +evalsha_ro +fcall_ro +script|load +script|exists +function|list " +
    "+info +role +keys +sort +sort_ro -flushall -flushdb -swapdb",
  replication: "-@all +psync +replconf +ping",
  // The rights the Redis documentation lists for Sentinel.
  sentinel:
    "allchannels -@all +multi +exec +slaveof +replicaof +ping +subscribe +publish +config|rewrite +role +info +client|setname +client|kill +script|kill",
  // A full snapshot only (`PSYNC ?`): no REPLCONF ACK and no partial resynchronisation, so a client
  // with this password cannot stay a replica the primary counts toward min-replicas-to-write. Redis
  // still counts one for min-replicas-max-lag seconds after each full resynchronisation it asks for.
  backup: "-@all +psync|? +replconf|capa +replconf|rdb-only +ping +info +role",
  admin: "~* &* +@all",
  probe: "-@all +ping +info +role",
  // What redis_exporter reads, without CONFIG GET (it would reveal masterauth).
  exporter:
    "-@all +ping +info +role +client|setname +latency|latest +latency|histogram +slowlog|get +slowlog|len",
  // What a replica needs: the replication handshake, acknowledgements and the primary's pings. The same
  // rights as `replication`, under its own name and password, so the stream can be told apart (CLIENT
  // LIST, ACL LOG) and shut out without touching the set's own replicas.
  stream: "-@all +psync +replconf +ping",
};

/** The data-node users every set has; `stream` is added when a stream joins the set. */
export type DataNodeUser = keyof typeof DATA_NODE_RULES;

/** The data-node users of a set, in the order they are written. */
export function dataNodeUsers(withStream: boolean): DataNodeUser[] {
  return (Object.keys(DATA_NODE_RULES) as DataNodeUser[]).filter((u) => withStream || u !== "stream");
}

/**
 * A digest of the data nodes' users and their rights (never their passwords). The data pods carry it as
 * an annotation: Redis reads its ACL file only at start, so a change of users rolls the pods (each
 * primary hands over first) instead of leaving them on the old file.
 */
export function usersDigest(users: DataNodeUser[]): string {
  const text = users.map((u) => `${u} ${DATA_NODE_RULES[u]}`).join("\n");
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** The rights of the users a sentinel accepts. */
export const SENTINEL_RULES = {
  // Peers and operators.
  sentinel: "allchannels +@all",
  // Clients discovering the primary: the read-only SENTINEL queries.
  discovery:
    "-@all +ping +hello +role +client|setname +sentinel|get-master-addr-by-name +sentinel|master +sentinel|masters +sentinel|replicas +sentinel|sentinels",
  // redis_exporter pointed at a sentinel: INFO and the SENTINEL listings (it still says SLAVES).
  exporter:
    "-@all +ping +info +client|setname +sentinel|masters +sentinel|master +sentinel|sentinels +sentinel|slaves +sentinel|replicas",
};

/** How a password appears in a rendered file: as the secret itself, or as its SHA-256 (`#hex`). */
export type PasswordForm = "hash" | "plain";

function passwordRule(password: string, form: PasswordForm): string {
  return form === "hash" ? `#${createHash("sha256").update(password).digest("hex")}` : `>${password}`;
}

/**
 * Renders the data nodes' ACL file (`aclfile` in redis.conf): the default user off, then one user per
 * role (`users`: every set's, plus `stream` when a stream joins). Passwords are stored as SHA-256 hashes by default, so the file never holds a secret in clear.
 */
export function renderUsersAcl(
  passwords: RedisPasswords,
  form: PasswordForm = "hash",
  users: DataNodeUser[] = dataNodeUsers(false),
): string {
  const lines = ["user default off resetpass -@all"];
  for (const role of users) {
    lines.push(`user ${role} on ${passwordRule(passwords[role], form)} ${DATA_NODE_RULES[role]}`);
  }
  return lines.join("\n") + "\n";
}

/** Renders the lines a data node includes to authenticate to its primary as the replication user. */
export function renderReplicationAuth(passwords: RedisPasswords): string {
  return `masteruser replication\nmasterauth ${passwords.replication}\n`;
}

/**
 * Renders the secret part of sentinel.conf: the credentials a sentinel uses for the data nodes and its
 * peers, and the users it accepts. It is appended after the per-master settings at start-up.
 */
export function renderSentinelAuth(
  masterName: string,
  passwords: RedisPasswords,
  form: PasswordForm = "hash",
): string {
  return [
    `sentinel auth-user ${masterName} sentinel`,
    `sentinel auth-pass ${masterName} ${passwords.sentinel}`,
    `sentinel sentinel-user sentinel`,
    `sentinel sentinel-pass ${passwords.sentinel}`,
    "user default off resetpass -@all",
    `user sentinel on ${passwordRule(passwords.sentinel, form)} ${SENTINEL_RULES.sentinel}`,
    `user discovery on ${passwordRule(passwords.discovery, form)} ${SENTINEL_RULES.discovery}`,
    `user exporter on ${passwordRule(passwords.exporter, form)} ${SENTINEL_RULES.exporter}`,
    "",
  ].join("\n");
}
