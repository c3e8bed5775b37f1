// The flags every backup command shares (where the backups are, --json, which stores, retention), and
// the parsers of their values. Each has its HOLDFAST_<FLAG> environment twin.
import { durationMs, type FlagSpecs, type Flags, num } from "../cli/args";
import { UsageError } from "../cli/errors";
import type { RetentionPolicy } from "./retention";
import { DEFAULT_S3_TIMEOUT_MS } from "./s3-timeout";

/** How long an S3 request may stay silent. */
export const S3_TIMEOUT_FLAG: FlagSpecs = {
  "s3-timeout": {
    type: "duration",
    min: 1000,
    default: `${DEFAULT_S3_TIMEOUT_MS / 1000}s`,
    help:
      `an S3 request that sends and receives nothing for this long fails (3 attempts), so a frozen S3 ` +
      `ends the command`,
  },
};

/**
 * The S3 timeout the flags give (or HOLDFAST_S3_TIMEOUT, for callers without the flag), in ms.
 * @throws UsageError when it is not a duration of at least a second.
 */
export function s3Timeout(flags: Flags, env: NodeJS.ProcessEnv = process.env): number {
  if (typeof flags["s3-timeout"] === "number") return flags["s3-timeout"];
  const value = env.HOLDFAST_S3_TIMEOUT;
  if (!value) return DEFAULT_S3_TIMEOUT_MS;
  const ms = durationMs(value, "--s3-timeout");
  if (ms < 1000) throw new UsageError(`--s3-timeout must be at least 1s, got "${value}"`);
  return ms;
}

/**
 * The stack's key prefix in the bucket. One rule everywhere: required (no default), since a wrong guess
 * would read or write another stack's backups; a stack's outputs name it (backup.prefix).
 */
export const PREFIX_FLAG: FlagSpecs = {
  prefix: {
    type: "string",
    required: true,
    help: "the stack's key prefix in the bucket: the stack output backup.prefix",
  },
};

/** Where a stack's backups are. */
export const LOCATION_FLAGS: FlagSpecs = {
  bucket: { type: "string", required: true, help: "the backup bucket" },
  ...PREFIX_FLAG,
  ...S3_TIMEOUT_FLAG,
};

/** Machine-readable output. */
export const JSON_FLAG: FlagSpecs = {
  json: { type: "boolean", default: false, help: "print JSON on stdout instead of text" },
};

/**
 * Retention defaults: 30 days of daily backups, as the old scripts kept (BACKUP_RETENTION_DAYS). Prune
 * keeps the newest 7 whatever their age and the newest of each of the last 30 days; weekly and monthly
 * backups are off by default. Prune is the only retention: the bucket expires no backup by age.
 */
export const RETENTION_DEFAULTS: RetentionPolicy = {
  keepLast: 7,
  keepDaily: 30,
  keepWeekly: 0,
  keepMonthly: 0,
};

export const RETENTION_FLAGS: FlagSpecs = {
  "keep-last": {
    type: "integer",
    min: 0,
    default: String(RETENTION_DEFAULTS.keepLast),
    help: `keep the newest N backups whatever their age`,
  },
  "keep-daily": {
    type: "integer",
    min: 0,
    default: String(RETENTION_DEFAULTS.keepDaily),
    help: `keep the newest backup of each of the last N days`,
  },
  "keep-weekly": {
    type: "integer",
    min: 0,
    default: String(RETENTION_DEFAULTS.keepWeekly),
    help: `keep the newest backup of each of the last N ISO weeks`,
  },
  "keep-monthly": {
    type: "integer",
    min: 0,
    default: String(RETENTION_DEFAULTS.keepMonthly),
    help: `keep the newest backup of each of the last N months`,
  },
};

/** The retention policy the flags give. */
export function retentionPolicy(flags: Flags): RetentionPolicy {
  return {
    keepLast: num(flags, "keep-last"),
    keepDaily: num(flags, "keep-daily"),
    keepWeekly: num(flags, "keep-weekly"),
    keepMonthly: num(flags, "keep-monthly"),
  };
}
