// redis-persistence-enabled: every Redis keeps its data on disk both ways, an AOF
// fsynced every second (or always) and RDB snapshots, so a restart or a crash loses at most a second.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { configSchema, settings } from "../lib/config";
import { asBoolean, asNumber, at } from "../lib/props";
import { ConfigView, parseConfig, viewOf } from "../lib/redis-conf";
import {
  chartConfigText,
  chartRoles,
  configDocuments,
  helmRedis,
  isElastiCacheRedis,
  redisContainers,
} from "../lib/redis-sources";

const DEFAULTS = {
  /** Require the append-only file. */
  requireAof: true,
  /** Require RDB snapshots (save rules). */
  requireRdb: true,
  /** Snapshots an ElastiCache Redis keeps, at least. */
  minimumSnapshotRetention: 1,
};

/** Accepted appendfsync policies: `no` leaves flushing to the kernel (up to 30 s of writes). */
const SAFE_FSYNC = ["everysec", "always"];

/**
 * What `view` gets wrong. `complete`: the view is a whole server config (or command line) without
 * includes, so settings it does not mention take Redis's defaults (AOF off, RDB on).
 */
function problems(view: ConfigView, complete: boolean, s: typeof DEFAULTS): string[] {
  const out: string[] = [];
  if (s.requireAof) {
    if (view.appendonly === "no") out.push("appendonly is no: the AOF is off");
    else if (view.appendonly === undefined && complete)
      out.push("appendonly is not set: Redis's default is no AOF");
    if (view.appendfsync !== undefined && !SAFE_FSYNC.includes(view.appendfsync))
      out.push(`appendfsync is ${view.appendfsync}: use everysec or always`);
  }
  if (s.requireRdb && view.save.explicit && view.save.rules === 0)
    out.push('save "" turns RDB snapshots off');
  return out;
}

/** Every Redis persists with AOF (everysec or always) and RDB save rules. */
export const redisPersistenceEnabled: ResourceValidationPolicy = {
  name: "redis-persistence-enabled",
  description:
    "Redis persists its data: an append-only file fsynced every second or always, and RDB snapshot rules (ElastiCache: snapshots retained).",
  severity: "high",
  remediationSteps: [
    'In redis.conf: `appendonly yes`, `appendfsync everysec`, and save rules (`save 900 1`, `save 300 10`, `save 60 1000`); never `save ""`.',
    'On a command line: `--appendonly yes` (and no `--save ""`).',
    'Helm: keep persistence.enabled, and put `appendonly yes` and save rules in commonConfiguration (Bitnami\'s default turns RDB off with `save ""`).',
    "ElastiCache: snapshotRetentionLimit of at least 1 day.",
  ].join("\n"),
  configSchema: configSchema(DEFAULTS, {
    requireAof: { type: "boolean", description: "Require the append-only file (appendonly yes)." },
    requireRdb: { type: "boolean", description: 'Require RDB snapshot rules (no save "").' },
    minimumSnapshotRetention: {
      type: "integer",
      minimum: 1,
      description: "Days of automatic snapshots an ElastiCache Redis keeps, at least.",
    },
  }),
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const s = settings(args, DEFAULTS);

    for (const doc of configDocuments(args.type, args.props)) {
      if (doc.kind === "sentinel" || doc.kind === "acl") continue;
      const complete = doc.kind === "server" && doc.view.includes.length === 0;
      for (const p of problems(doc.view, complete, s)) reportViolation(`${doc.where}: ${p}`);
    }

    for (const c of redisContainers(args.type, args.props)) {
      const inv = c.invocation;
      if (inv.mode !== "server" || !inv.visible) continue;
      for (const p of problems(viewOf(inv.options), !inv.configFile, s)) reportViolation(`${c.where}: ${p}`);
    }

    const helm = helmRedis(args.type, args.props);
    if (helm) {
      for (const role of chartRoles(helm.values)) {
        if (asBoolean(at(helm.values, role, "persistence", "enabled")) === false)
          reportViolation(
            `chart ${helm.chart}: values.${role}.persistence.enabled is false: data lives in an emptyDir`,
          );
        const view = viewOf(parseConfig(chartConfigText(helm.values, role)));
        const found = problems(view, true, s);
        if (s.requireRdb && !view.save.explicit)
          found.push("no save rules in the chart's configuration values (Bitnami's default has save \"\")");
        for (const p of found) reportViolation(`chart ${helm.chart} (${role}): ${p}`);
      }
    }

    if (isElastiCacheRedis(args.type, args.props)) {
      const days = asNumber(at(args.props, "snapshotRetentionLimit")) ?? 0;
      if (days < s.minimumSnapshotRetention)
        reportViolation(
          `snapshotRetentionLimit is ${days}: keep at least ${s.minimumSnapshotRetention} day(s) of automatic snapshots`,
        );
    }
  },
};
