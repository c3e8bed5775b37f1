// A Redis ACL rule evaluator for the commands that erase data: it applies a user's rules left to right as
// Redis 7 does (`+@all`, `-@dangerous`, `+flushall`, `allcommands`, `nocommands`, `reset`, selectors...)
// and says whether the user may run FLUSHALL or FLUSHDB, and which rule let it. It also tracks what
// decides whether a client must authenticate as the user (on/off, passwords, nopass).

/** The commands that erase whole databases. */
export const FLUSH_COMMANDS = ["flushall", "flushdb"] as const;
export type FlushCommand = (typeof FLUSH_COMMANDS)[number];

/** The ACL categories Redis 7 puts FLUSHALL and FLUSHDB in (`COMMAND INFO flushall`). */
export const COMMAND_CATEGORIES: Record<FlushCommand, readonly string[]> = {
  flushall: ["keyspace", "write", "slow", "dangerous"],
  flushdb: ["keyspace", "write", "slow", "dangerous"],
};

/** A user's state, reduced to what the policies judge. */
export interface AclUser {
  name: string;
  /** `on`: clients may authenticate as the user. */
  enabled: boolean;
  /** `nopass`: any password authenticates. */
  nopass: boolean;
  /** Passwords (`>` clear or `#` hashed) the user has. */
  passwords: number;
  /** For each flush command: the rule that allowed it, or undefined when it is not allowed. */
  allowed: Record<FlushCommand, string | undefined>;
}

/** A user as `ACL SETUSER name` (or an ACL file line) starts it: off, no password, no commands. */
export function newUser(name: string): AclUser {
  return {
    name,
    enabled: false,
    nopass: false,
    passwords: 0,
    allowed: { flushall: undefined, flushdb: undefined },
  };
}

/**
 * The default user as Redis creates it when no `user default` line configures it: on, nopass, every
 * command. A `user default ...` line (in redis.conf or an ACL file) starts from a reset user instead,
 * like every other user line: Redis 7 resets the user first and refuses a second line for it.
 */
export function initialDefaultUser(): AclUser {
  return applyAclRules(newUser("default"), ["on", "nopass", "+@all"]);
}

/**
 * Joins the words of an ACL line back into rules: a selector `(~key +get)` spans several words.
 */
export function aclRules(words: string[]): string[] {
  const rules: string[] = [];
  let selector: string[] | undefined;
  for (const w of words) {
    if (selector) {
      selector.push(w);
      if (w.endsWith(")")) {
        rules.push(selector.join(" "));
        selector = undefined;
      }
    } else if (w.startsWith("(") && !w.endsWith(")")) {
      selector = [w];
    } else {
      rules.push(w);
    }
  }
  if (selector) rules.push(selector.join(" "));
  return rules;
}

function setAll(user: AclUser, rule: string, allow: boolean, test: (cmd: FlushCommand) => boolean): void {
  for (const cmd of FLUSH_COMMANDS) if (test(cmd)) user.allowed[cmd] = allow ? rule : undefined;
}

/** Applies `rules` to a copy of `user`, left to right. Rules that do not concern these commands are ignored. */
export function applyAclRules(user: AclUser, rules: string[]): AclUser {
  const u: AclUser = { ...user, allowed: { ...user.allowed } };
  for (const rule of rules) {
    const r = rule.toLowerCase();
    if (r === "on") u.enabled = true;
    else if (r === "off") u.enabled = false;
    else if (r === "nopass") {
      u.nopass = true;
      u.passwords = 0;
    } else if (r === "resetpass") {
      u.nopass = false;
      u.passwords = 0;
    } else if (r.startsWith(">") || r.startsWith("#")) {
      u.passwords += 1;
      u.nopass = false;
    } else if (r.startsWith("<") || r.startsWith("!")) {
      u.passwords = Math.max(0, u.passwords - 1);
    } else if (r === "reset") {
      Object.assign(u, newUser(u.name));
      u.allowed = { flushall: undefined, flushdb: undefined };
    } else if (r === "allcommands" || r === "+@all") setAll(u, rule, true, () => true);
    else if (r === "nocommands" || r === "-@all") setAll(u, rule, false, () => true);
    else if (r.startsWith("+@")) setAll(u, rule, true, (c) => COMMAND_CATEGORIES[c].includes(r.slice(2)));
    else if (r.startsWith("-@")) setAll(u, rule, false, (c) => COMMAND_CATEGORIES[c].includes(r.slice(2)));
    else if (r.startsWith("+")) {
      // `+flushall|async` allows the command with that first argument: it still flushes.
      const cmd = r.slice(1).split("|")[0];
      setAll(u, rule, true, (c) => c === cmd);
    } else if (r.startsWith("-")) {
      // `-flushall|x` cannot take away the whole command: only a bare `-flushall` denies it.
      if (!r.includes("|")) setAll(u, rule, false, (c) => c === r.slice(1));
    } else if (r.startsWith("(") && r.endsWith(")")) {
      // A selector: its own command rules, starting from none; what it allows, the user may run.
      const inner = applyAclRules(newUser(u.name), r.slice(1, -1).trim().split(/\s+/));
      for (const cmd of FLUSH_COMMANDS) {
        if (inner.allowed[cmd] && !u.allowed[cmd]) u.allowed[cmd] = `selector ${rule}`;
      }
    } else if (r === "clearselectors") {
      // Selectors only ever add commands here; what they added is recorded in `allowed`, and Redis
      // would drop it: re-deriving it would need the full history, so keep the stricter verdict.
    }
    // Key and channel patterns (~, %, &, allkeys, resetkeys, allchannels, resetchannels) do not matter:
    // FLUSHALL and FLUSHDB take no keys.
  }
  return u;
}

/** The flush commands a user can run (enabled and allowed), with the rule that allows each. */
export function flushCommandsOf(user: AclUser): { command: FlushCommand; grantedBy: string }[] {
  if (!user.enabled) return [];
  return FLUSH_COMMANDS.flatMap((command) => {
    const grantedBy = user.allowed[command];
    return grantedBy ? [{ command, grantedBy }] : [];
  });
}

/**
 * True when no client can use the user without a password: it is off, or on without `nopass` (with a
 * password, or with none, when nobody can authenticate as it at all).
 */
export function requiresPassword(user: AclUser): boolean {
  return !user.enabled || !user.nopass;
}

/**
 * The users a set of `user` lines defines, with the default user as Redis leaves it when no line
 * names it (on, no password unless `requirepass` gives one, every command).
 * @param lines the `user` lines, in order.
 * @param requirepass the `requirepass` in force, when the lines come from a redis.conf.
 */
export function usersOf(lines: { name: string; rules: string[] }[], requirepass?: string): AclUser[] {
  const users = new Map<string, AclUser>();
  let base = initialDefaultUser();
  if (requirepass) base = applyAclRules(base, [`>${requirepass}`]);
  users.set("default", base);
  for (const line of lines) users.set(line.name, applyAclRules(newUser(line.name), aclRules(line.rules)));
  return [...users.values()];
}
