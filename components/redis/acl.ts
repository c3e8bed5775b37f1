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
};

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
 * role. Passwords are stored as SHA-256 hashes by default, so the file never holds a secret in clear.
 */
export function renderUsersAcl(passwords: RedisPasswords, form: PasswordForm = "hash"): string {
  const lines = ["user default off resetpass -@all"];
  for (const [role, rules] of Object.entries(DATA_NODE_RULES)) {
    const password = passwords[role as keyof RedisPasswords];
    lines.push(`user ${role} on ${passwordRule(password, form)} ${rules}`);
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
