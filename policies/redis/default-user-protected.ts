// redis-default-user-protected: a client that connects without credentials is Redis's default user. It
// must be off, or need a password, so nobody reaches the data by just opening a connection.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { asBoolean, asString, at, tryKnown } from "../lib/props";
import {
  AclUser,
  aclRules,
  applyAclRules,
  initialDefaultUser,
  newUser,
  requiresPassword,
  usersOf,
} from "../lib/redis-acl";
import { ConfigView, viewOf } from "../lib/redis-conf";
import {
  ELASTICACHE,
  configDocuments,
  hasElastiCacheUserGroups,
  helmRedis,
  isElastiCacheRedis,
  redisContainers,
} from "../lib/redis-sources";

/** The default user as `view` leaves it; undefined when `view` does not decide it. */
function defaultUser(view: ConfigView, complete: boolean): AclUser | undefined {
  if (complete) return usersOf(view.users, view.requirepass).find((u) => u.name === "default");
  const line = view.users.find((l) => l.name === "default");
  if (line) return applyAclRules(newUser("default"), aclRules(line.rules));
  // `requirepass ""` in a file that only adds to a config clears the default user's password.
  return view.requirepass === "" ? initialDefaultUser() : undefined;
}

function verdict(user: AclUser | undefined): string | undefined {
  if (!user || requiresPassword(user)) return undefined;
  return "the default user is on and needs no password: any client that connects can use it";
}

/** True when a value is set (or unknown during preview: computed, so the program sets it). */
function isSet(read: () => unknown): boolean {
  const v = tryKnown(read);
  return !v.known || (v.value !== undefined && v.value !== null && v.value !== "");
}

/** The default user of every Redis the program creates is off or password-protected. */
export const redisDefaultUserProtected: ResourceValidationPolicy = {
  name: "redis-default-user-protected",
  description: "Redis's default user (what an unauthenticated connection gets) is off or needs a password.",
  severity: "high",
  remediationSteps: [
    "Turn the default user off and give every client a named ACL user: `user default off resetpass -@all`.",
    "Or at least set a password: `requirepass` (or `--requirepass`), Helm `auth.enabled: true`.",
    "On ElastiCache, set an auth token or RBAC user groups with transit encryption on; an ElastiCache user named `default` needs a password or must be off.",
  ].join("\n"),
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const doc of configDocuments(args.type, args.props)) {
      // A server config naming an aclfile or including files has its users elsewhere: judged there.
      const complete =
        doc.kind === "acl" || (doc.kind === "server" && !doc.view.aclfile && doc.view.includes.length === 0);
      // A sentinel config is judged when it declares users or a password; otherwise they are added at start.
      const declares = doc.view.users.length > 0 || doc.view.requirepass !== undefined;
      const user =
        doc.kind === "sentinel"
          ? declares
            ? defaultUser(doc.view, true)
            : undefined
          : defaultUser(doc.view, complete);
      const problem = verdict(user);
      if (problem)
        reportViolation(
          `${doc.where}: ${problem}${doc.view.users.some((l) => l.name === "default") ? "" : " (no `user default` line: Redis creates it on with nopass)"}`,
        );
    }

    for (const c of redisContainers(args.type, args.props)) {
      const inv = c.invocation;
      if (inv.mode !== "server" || !inv.visible) continue;
      const view = viewOf(inv.options);
      const problem = verdict(defaultUser(view, !inv.configFile && !view.aclfile));
      if (problem) reportViolation(`${c.where}: ${problem} (no --requirepass, --aclfile or config file)`);
    }

    const helm = helmRedis(args.type, args.props);
    if (helm && asBoolean(at(helm.values, "auth", "enabled")) === false)
      reportViolation(
        `chart ${helm.chart}: values.auth.enabled is false: clients connect without a password`,
      );

    if (args.type === ELASTICACHE.user && asString(at(args.props, "userName")) === "default") {
      const accessString = asString(at(args.props, "accessString")) ?? "";
      const user = applyAclRules(newUser("default"), aclRules(accessString.trim().split(/\s+/)));
      const noPassword =
        asBoolean(at(args.props, "noPasswordRequired")) === true ||
        asString(at(args.props, "authenticationMode", "type")) === "no-password-required";
      if (user.enabled && noPassword)
        reportViolation(
          `ElastiCache user "default" is on and needs no password (access string "${accessString}")`,
        );
    }

    if (isElastiCacheRedis(args.type, args.props)) {
      if (args.type === ELASTICACHE.cluster) {
        reportViolation(
          "an ElastiCache Redis cluster outside a replication group cannot require authentication: create a replication group with an auth token or user groups",
        );
      } else if (args.type === ELASTICACHE.replicationGroup) {
        const token =
          isSet(() => at(args.props, "authToken")) ||
          isSet(() => at(args.props, "authTokenWo")) ||
          isSet(() => at(args.props, "authTokenWoVersion"));
        if (!token && !hasElastiCacheUserGroups(args.type, args.props))
          reportViolation(
            "ElastiCache replication group without an auth token or user groups: clients need no password",
          );
        if (asBoolean(at(args.props, "transitEncryptionEnabled")) !== true)
          reportViolation(
            "ElastiCache replication group without transit encryption: AUTH needs it, and passwords would cross the network in clear",
          );
      } else if (!hasElastiCacheUserGroups(args.type, args.props)) {
        reportViolation(
          "ElastiCache serverless cache without a user group: clients connect as the default user without a password",
        );
      }
    }
  },
};
