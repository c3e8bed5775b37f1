// Redis configuration as text (redis.conf, sentinel.conf, an ACL file) and as a redis-server command
// line: tokenized the way Redis splits config lines (sdssplitargs: "double" quotes with escapes, 'single'
// quotes), classified, and reduced to what the Redis policies judge: users, renamed commands, the
// default user's password, AOF and RDB settings.

/** One config line: its directive (lower case) and arguments (as written). */
export interface Directive {
  name: string;
  args: string[];
}

/** Splits one line into arguments like Redis's sdssplitargs; undefined for unbalanced quotes. */
export function splitArgs(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const escapes: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", a: "\x07" };
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    let token = "";
    if (line[i] === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const c = line[i];
        if (c === "\\" && line[i + 1] === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          token += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
        } else if (c === "\\" && i + 1 < line.length) {
          token += escapes[line[i + 1]] ?? line[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          token += c;
          i++;
        }
      }
      if (!closed || (i < line.length && !/\s/.test(line[i]))) return undefined;
    } else if (line[i] === "'") {
      i++;
      let closed = false;
      while (i < line.length) {
        if (line[i] === "\\" && line[i + 1] === "'") {
          token += "'";
          i += 2;
        } else if (line[i] === "'") {
          i++;
          closed = true;
          break;
        } else {
          token += line[i++];
        }
      }
      if (!closed || (i < line.length && !/\s/.test(line[i]))) return undefined;
    } else {
      while (i < line.length && !/\s/.test(line[i])) token += line[i++];
    }
    out.push(token);
  }
  return out;
}

/** Parses config text into directives, skipping blank lines, comments and unparseable lines. */
export function parseConfig(text: string): Directive[] {
  const out: Directive[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const words = splitArgs(line);
    if (!words || words.length === 0) continue;
    out.push({ name: words[0].toLowerCase(), args: words.slice(1) });
  }
  return out;
}

/**
 * Directives of redis.conf and sentinel.conf (Redis 6 and 7, and the old names they still accept).
 * Text whose lines are mostly not among these is not a Redis config (a password, a certificate).
 */
const KNOWN_DIRECTIVES = new Set(
  (
    "include loadmodule bind bind-source-addr protected-mode enable-protected-configs enable-debug-command " +
    "enable-module-command port tcp-backlog unixsocket unixsocketperm timeout tcp-keepalive socket-mark-id " +
    "tls-port tls-cert-file tls-key-file tls-ca-cert-file tls-ca-cert-dir tls-auth-clients tls-replication " +
    "tls-cluster tls-protocols daemonize supervised pidfile loglevel logfile syslog-enabled syslog-ident " +
    "databases always-show-logo set-proc-title save stop-writes-on-bgsave-error rdbcompression rdbchecksum " +
    "dbfilename rdb-del-sync-files dir replicaof slaveof masterauth masteruser replica-serve-stale-data " +
    "slave-serve-stale-data replica-read-only slave-read-only repl-diskless-sync repl-diskless-sync-delay " +
    "repl-diskless-sync-max-replicas repl-diskless-load repl-ping-replica-period repl-timeout " +
    "repl-disable-tcp-nodelay repl-backlog-size repl-backlog-ttl replica-priority slave-priority " +
    "replica-announced min-replicas-to-write min-slaves-to-write min-replicas-max-lag min-slaves-max-lag " +
    "replica-announce-ip replica-announce-port slave-announce-ip slave-announce-port tracking-table-max-keys " +
    "acllog-max-len aclfile requirepass acl-pubsub-default rename-command maxclients maxmemory " +
    "maxmemory-policy maxmemory-samples maxmemory-eviction-tenacity replica-ignore-maxmemory " +
    "active-expire-effort lazyfree-lazy-eviction lazyfree-lazy-expire lazyfree-lazy-server-del " +
    "replica-lazy-flush lazyfree-lazy-user-del lazyfree-lazy-user-flush io-threads io-threads-do-reads " +
    "oom-score-adj oom-score-adj-values disable-thp appendonly appendfilename appenddirname appendfsync " +
    "no-appendfsync-on-rewrite auto-aof-rewrite-percentage auto-aof-rewrite-min-size aof-load-truncated " +
    "aof-use-rdb-preamble aof-timestamp-enabled shutdown-timeout shutdown-on-sigint shutdown-on-sigterm " +
    "lua-time-limit busy-reply-threshold cluster-enabled cluster-config-file cluster-node-timeout " +
    "cluster-port cluster-announce-ip cluster-announce-port cluster-announce-bus-port cluster-announce-hostname " +
    "slowlog-log-slower-than slowlog-max-len latency-monitor-threshold latency-tracking " +
    "latency-tracking-info-percentiles notify-keyspace-events hash-max-listpack-entries " +
    "hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value list-max-listpack-size " +
    "list-max-ziplist-size list-compress-depth set-max-intset-entries set-max-listpack-entries " +
    "set-max-listpack-value zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries " +
    "zset-max-ziplist-value hll-sparse-max-bytes stream-node-max-bytes stream-node-max-entries " +
    "activerehashing client-output-buffer-limit client-query-buffer-limit proto-max-bulk-len hz " +
    "dynamic-hz aof-rewrite-incremental-fsync rdb-save-incremental-fsync lfu-log-factor lfu-decay-time " +
    "activedefrag jemalloc-bg-thread ignore-warnings user sentinel"
  ).split(" "),
);

/** What a piece of config text is. */
export type ConfigKind =
  /** An ACL file: only `user` lines. */
  | "acl"
  /** A sentinel's config (has `sentinel ...` lines): Sentinel serves no data and has no FLUSHALL. */
  | "sentinel"
  /** A data node's main config: it sets where the server runs and keeps data (port, bind, dir, aclfile, ...). */
  | "server"
  /** A file a server config includes (credentials, a few overrides). */
  | "fragment";

const SERVER_MARKERS = new Set([
  "port",
  "bind",
  "dir",
  "dbfilename",
  "daemonize",
  "aclfile",
  "logfile",
  "unixsocket",
  "databases",
  "protected-mode",
]);

/** Classifies parsed config text; undefined when it is not Redis config at all. */
export function classifyConfig(directives: Directive[]): ConfigKind | undefined {
  if (directives.length === 0) return undefined;
  const known = directives.filter((d) => KNOWN_DIRECTIVES.has(d.name));
  if (known.length * 2 < directives.length || known.length === 0) return undefined;
  if (known.some((d) => d.name === "sentinel")) return "sentinel";
  if (known.every((d) => d.name === "user")) return "acl";
  if (known.some((d) => SERVER_MARKERS.has(d.name))) return "server";
  return "fragment";
}

/** A `user` line: the user's name and its rules, in order. */
export interface UserLine {
  name: string;
  rules: string[];
}

/** What one config (a file, or a command line's options) says about access and persistence. */
export interface ConfigView {
  aclfile?: string;
  includes: string[];
  users: UserLine[];
  /** The last `requirepass`, "" when it clears the password. */
  requirepass?: string;
  /** Commands renamed, by lower-case name: "" disables the command for everyone. */
  renames: Map<string, string>;
  /** The last `appendonly` and `appendfsync`, lower case. */
  appendonly?: string;
  appendfsync?: string;
  /** RDB: `explicit` when a `save` line appears; `rules` counts the save points in force after the last `save ""`. */
  save: { explicit: boolean; rules: number };
}

/** Reduces directives to a ConfigView, applying them in order as Redis does. */
export function viewOf(directives: Directive[]): ConfigView {
  const view: ConfigView = {
    includes: [],
    users: [],
    renames: new Map(),
    save: { explicit: false, rules: 0 },
  };
  for (const d of directives) {
    switch (d.name) {
      case "aclfile":
        view.aclfile = d.args[0];
        break;
      case "include":
        view.includes.push(d.args[0] ?? "");
        break;
      case "user":
        if (d.args[0]) view.users.push({ name: d.args[0], rules: d.args.slice(1) });
        break;
      case "requirepass":
        view.requirepass = d.args[0] ?? "";
        break;
      case "rename-command":
        if (d.args[0]) view.renames.set(d.args[0].toLowerCase(), d.args[1] ?? "");
        break;
      case "appendonly":
        view.appendonly = (d.args[0] ?? "").toLowerCase();
        break;
      case "appendfsync":
        view.appendfsync = (d.args[0] ?? "").toLowerCase();
        break;
      case "save": {
        view.save.explicit = true;
        const points = d.args.filter((a) => a !== "");
        // `save ""` (or `--save` with nothing) removes every save point; pairs add to what is in force.
        view.save.rules = points.length === 0 ? 0 : view.save.rules + Math.floor(points.length / 2);
        break;
      }
    }
  }
  return view;
}

/** True when both commands of `commands` are renamed to "" (disabled for every user, admin included). */
export function disabledByRename(view: ConfigView, commands: readonly string[]): boolean {
  return commands.every((c) => view.renames.get(c) === "");
}

/** How a container starts Redis, as far as its command line shows. */
export interface RedisInvocation {
  /** A data node, or a sentinel (which serves no data). */
  mode: "server" | "sentinel";
  /** The config file named on the command line, when there is one. */
  configFile?: string;
  /** The command line's `--option value...` groups, as directives. */
  options: Directive[];
  /**
   * False when the command runs a script the pack cannot read (the chart's start script, an entrypoint
   * wrapper): the server's settings are then not visible on this container.
   */
  visible: boolean;
}

const SHELL_SEPARATORS = new Set([";", "&&", "||", "|", "&"]);
const SERVER_BINARIES = /(^|\/)(redis-server|valkey-server|redis-stack-server)$/;
const SENTINEL_BINARIES = /(^|\/)(redis-sentinel|valkey-sentinel)$/;
const SHELLS = /(^|\/)(sh|bash|ash|dash|zsh)$/;

/** Splits a shell script into words, roughly (quotes kept together, separators as their own words). */
export function shellWords(script: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(&&|\|\||[;|&])|([^\s;&|"']+)/g;
  let current: string | undefined;
  let last = 0;
  for (let m = re.exec(script); m; m = re.exec(script)) {
    const glued = m.index === last && current !== undefined && m[3] === undefined;
    const piece = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3] ?? m[4] ?? "");
    if (m[3] !== undefined) {
      if (current !== undefined) words.push(current);
      words.push(m[3]);
      current = undefined;
    } else if (glued) {
      current += piece;
    } else {
      if (current !== undefined) words.push(current);
      current = piece;
    }
    last = re.lastIndex;
  }
  if (current !== undefined) words.push(current);
  return words;
}

/** Parses `redis-server [config] [--opt value...]...` (the words after the binary). */
export function parseServerArgs(words: string[]): { configFile?: string; options: Directive[] } {
  let i = 0;
  let configFile: string | undefined;
  if (words.length > 0 && !words[0].startsWith("--")) {
    configFile = words[0];
    i = 1;
  }
  const options: Directive[] = [];
  for (; i < words.length; i++) {
    const w = words[i];
    if (w.startsWith("--")) options.push({ name: w.slice(2).toLowerCase(), args: [] });
    else if (options.length > 0) options[options.length - 1].args.push(w);
  }
  return { configFile, options };
}

/**
 * How a container runs Redis, from its command and args (and whether its image is a Redis image, for
 * containers that keep the image's default command). Undefined for containers that do not run Redis.
 */
export function redisInvocation(
  command: string[],
  args: string[],
  isRedisImage: () => boolean,
): RedisInvocation | undefined {
  let words = [...command, ...args];
  // `sh -c "<script>"`: read the script.
  const shell = words.findIndex((w, i) => SHELLS.test(w) && words[i + 1] === "-c");
  if (shell >= 0 && words[shell + 2] !== undefined) words = shellWords(words[shell + 2]);
  else if (command.length === 0 && args[0] === "-c" && args[1] !== undefined) words = shellWords(args[1]);

  const binary = words.findIndex((w) => SERVER_BINARIES.test(w) || SENTINEL_BINARIES.test(w));
  if (binary >= 0) {
    let end = words.findIndex((w, i) => i > binary && SHELL_SEPARATORS.has(w));
    if (end < 0) end = words.length;
    const { configFile, options } = parseServerArgs(words.slice(binary + 1, end));
    const sentinel = SENTINEL_BINARIES.test(words[binary]) || options.some((o) => o.name === "sentinel");
    return { mode: sentinel ? "sentinel" : "server", configFile, options, visible: true };
  }
  if (!isRedisImage()) return undefined;
  // The official image's entrypoint runs redis-server with the args when they start with "-".
  if (command.length === 0 && (args.length === 0 || args[0].startsWith("-"))) {
    const { options } = parseServerArgs(args);
    const sentinel = options.some((o) => o.name === "sentinel");
    return { mode: sentinel ? "sentinel" : "server", options, visible: true };
  }
  return { mode: "server", options: [], visible: false };
}

/** Images of Redis servers (and Valkey, its fork), not of exporters or sentinels. */
export function isRedisImage(image: string | undefined): boolean {
  if (!image) return false;
  const path = image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
  const last = path.split("/").pop() ?? "";
  return ["redis", "valkey", "redis-stack-server", "redis-stack"].includes(last);
}
