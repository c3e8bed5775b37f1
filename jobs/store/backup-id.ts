// Backup ids: the UTC time a backup started, to the millisecond, and a random suffix
// (`20260115T120000.123Z-7f3a9c`), so they sort by time as plain strings and two backups started at the
// same moment (a manual backup beside the CronJob) never share one — without a listing, which cannot see
// a backup still uploading. Ids of the second-only form (`20260115T120000Z`), which buckets written by
// earlier versions hold, stay valid.
import { randomBytes } from "crypto";
import { UsageError } from "../cli/errors";

const ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{3})Z-[0-9a-f]{6}|Z)$/;

/** An example id, for messages. */
export const EXAMPLE_ID = "20260115T120000.123Z-7f3a9c";

/** A value as a message may show it: quoted, with control characters escaped (no terminal tricks). */
export function quoted(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The error for something that is not a backup id. */
export function notABackupId(value: string): UsageError {
  return new UsageError(`${quoted(value)} is not a backup id (expected the form ${EXAMPLE_ID}, or latest)`);
}

/** The second-precision id of time `at` (`20260115T120000Z`), the form earlier versions wrote. */
export function backupIdAt(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * A new backup id for a backup starting at `now`: its time to the millisecond and 24 random bits.
 * @param suffix six hex digits (tests); default random.
 */
export function newBackupId(now: Date = new Date(), suffix: string = randomBytes(3).toString("hex")): string {
  if (!/^[0-9a-f]{6}$/.test(suffix)) throw new Error(`backup id suffix ${suffix} is not six hex digits`);
  return `${now.toISOString().replace(/[-:]/g, "")}-${suffix}`;
}

function parse(id: string): Date | undefined {
  const m = ID.exec(id);
  if (!m) return undefined;
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7] ?? "000"}Z`);
  return Number.isNaN(at.getTime()) || at.toISOString().slice(0, 19).replace(/[-:]/g, "") !== id.slice(0, 15)
    ? undefined
    : at;
}

/** Whether `value` is a well-formed backup id (either form). */
export function isBackupId(value: string): boolean {
  return parse(value) !== undefined;
}

/** The time a backup id stands for. @throws UsageError when it is not a backup id. */
export function backupTime(id: string): Date {
  const at = parse(id);
  if (!at) throw notABackupId(id);
  return at;
}

/** Orders ids oldest first: by time, then as strings (ids of one millisecond differ in their suffix). */
export function compareBackupIds(a: string, b: string): number {
  return backupTime(a).getTime() - backupTime(b).getTime() || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Checks what an operator asked for: `latest`, or a well-formed id.
 * @throws UsageError naming the value (escaped) otherwise.
 */
export function checkRequestedBackup(requested: string): string {
  const r = requested.trim();
  if (r !== "latest" && !isBackupId(r)) throw notABackupId(requested);
  return r;
}
