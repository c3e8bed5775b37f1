// redis-no-flush-for-clients: no client of any Redis the program creates may erase it with FLUSHALL or
// FLUSHDB. Only the break-glass admin users may, or nobody when the commands are renamed away.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { configSchema, settings } from "../lib/config";
import { at, asString } from "../lib/props";
import {
  AclUser,
  FLUSH_COMMANDS,
  aclRules,
  applyAclRules,
  flushCommandsOf,
  newUser,
  usersOf,
} from "../lib/redis-acl";
import { ConfigView, disabledByRename, parseConfig, viewOf } from "../lib/redis-conf";
import {
  ELASTICACHE,
  chartConfigText,
  chartDisabledCommands,
  chartRoles,
  configDocuments,
  hasElastiCacheUserGroups,
  helmRedis,
  isElastiCacheRedis,
  redisContainers,
} from "../lib/redis-sources";

const DEFAULTS = {
  /** Users allowed to flush: the break-glass administrators. */
  adminUsers: ["admin"],
};

const upper = (c: string) => c.toUpperCase();

/** Messages for the users of `view` (plus the implicit default user when `withDefault`) that can flush. */
function flushingUsers(view: ConfigView, withDefault: boolean, admins: Set<string>): string[] {
  if (disabledByRename(view, FLUSH_COMMANDS)) return [];
  const users: AclUser[] = withDefault
    ? usersOf(view.users, view.requirepass)
    : view.users.map((l) => applyAclRules(newUser(l.name), aclRules(l.rules)));
  return users
    .filter((u) => !admins.has(u.name))
    .flatMap((u) => {
      const can = flushCommandsOf(u).filter((c) => view.renames.get(c.command) !== "");
      if (can.length === 0) return [];
      const how = [...new Set(can.map((c) => c.grantedBy))].join(", ");
      return [
        `user "${u.name}" can run ${can.map((c) => upper(c.command)).join(" and ")} (allowed by ${how})`,
      ];
    });
}

/** FLUSHALL and FLUSHDB are allowed only to the admin users, or renamed away for everyone. */
export const redisNoFlushForClients: ResourceValidationPolicy = {
  name: "redis-no-flush-for-clients",
  description:
    "No Redis client but a break-glass admin may run FLUSHALL or FLUSHDB: one command erases data that exists nowhere else.",
  severity: "critical",
  remediationSteps: [
    "Give application users ACL rules that exclude the flushes: `-@dangerous` or `-flushall -flushdb` after any `+@all`.",
    'Or rename both commands away for every user: `rename-command FLUSHALL ""` and `rename-command FLUSHDB ""` (Helm: `master.disableCommands` and `replica.disableCommands` with FLUSHALL and FLUSHDB).',
    "On ElastiCache, use RBAC user groups whose users' access strings exclude the flushes; only users listed in `adminUsers` may keep them.",
  ].join("\n"),
  configSchema: configSchema(DEFAULTS, {
    adminUsers: {
      type: "array",
      items: { type: "string" },
      description: "Redis users allowed to run FLUSHALL and FLUSHDB (break-glass administration).",
    },
  }),
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const { adminUsers } = settings(args, DEFAULTS);
    const admins = new Set(adminUsers);

    for (const doc of configDocuments(args.type, args.props)) {
      if (doc.kind === "sentinel") continue; // Sentinel has no FLUSHALL or FLUSHDB
      // An ACL file, or a server config that defines its users itself, also has the default user.
      const withDefault =
        doc.kind === "acl" || (doc.kind === "server" && !doc.view.aclfile && doc.view.includes.length === 0);
      for (const m of flushingUsers(doc.view, withDefault, admins)) reportViolation(`${doc.where}: ${m}`);
    }

    for (const c of redisContainers(args.type, args.props)) {
      const inv = c.invocation;
      // A config file (judged where it is defined) or a start script: the users are not on this command line.
      if (inv.mode !== "server" || !inv.visible) continue;
      const view = viewOf(inv.options);
      const withDefault = !inv.configFile && !view.aclfile;
      for (const m of flushingUsers(view, withDefault, admins)) reportViolation(`${c.where}: ${m}`);
    }

    const helm = helmRedis(args.type, args.props);
    if (helm) {
      for (const role of chartRoles(helm.values)) {
        const disabled = chartDisabledCommands(helm.values, role);
        const renamed = viewOf(parseConfig(chartConfigText(helm.values, role)));
        const missing = FLUSH_COMMANDS.map(upper).filter(
          (c) => !(disabled ?? []).includes(c) && renamed.renames.get(c.toLowerCase()) !== "",
        );
        if (missing.length === 0) continue;
        reportViolation(
          disabled === undefined
            ? `chart ${helm.chart}: values.${role}.disableCommands is not set, so its clients can run ${missing.join(" and ")} ` +
                `(the pack cannot see the chart's defaults: set it to [${FLUSH_COMMANDS.map(upper).join(", ")}])`
            : `chart ${helm.chart}: values.${role}.disableCommands leaves ${missing.join(" and ")} to its clients`,
        );
      }
    }

    if (args.type === ELASTICACHE.user) {
      const userName = asString(at(args.props, "userName")) ?? "";
      const accessString = asString(at(args.props, "accessString")) ?? "";
      if (!admins.has(userName)) {
        const user = applyAclRules(newUser(userName), aclRules(accessString.trim().split(/\s+/)));
        const can = flushCommandsOf(user);
        if (can.length > 0)
          reportViolation(
            `ElastiCache user "${userName}" can run ${can.map((c) => upper(c.command)).join(" and ")} ` +
              `(access string "${accessString}", allowed by ${[...new Set(can.map((c) => c.grantedBy))].join(", ")})`,
          );
      }
    }

    if (isElastiCacheRedis(args.type, args.props) && !hasElastiCacheUserGroups(args.type, args.props)) {
      reportViolation(
        "ElastiCache Redis without RBAC user groups: every client is the default user, which can run FLUSHALL and FLUSHDB",
      );
    }
  },
};
