// Backup ids: the UTC time a backup started, to the second (`20260115T120000Z`), so they sort by time
// as plain strings; a second backup in the same second takes the next free second.
import { UsageError } from "../cli/errors";

const ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The id of a backup started at `at`. */
export function backupIdAt(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** Whether `value` is a well-formed backup id. */
export function isBackupId(value: string): boolean {
  const m = ID.exec(value);
  return m !== null && !Number.isNaN(Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`));
}

/** The time a backup id stands for. */
export function backupTime(id: string): Date {
  const m = ID.exec(id);
  if (!m) throw new UsageError(`"${id}" is not a backup id (expected the form 20260115T120000Z, or latest)`);
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

/**
 * A new backup id for a backup starting now: the current second, or the first later second `taken`
 * does not already hold.
 */
export function newBackupId(taken: (id: string) => boolean, now: Date = new Date()): string {
  let at = Math.floor(now.getTime() / 1000) * 1000;
  while (taken(backupIdAt(new Date(at)))) at += 1000;
  return backupIdAt(new Date(at));
}

/**
 * Resolves what an operator asked for (`latest` or an id) against the committed backups.
 * @param committed ids of backups whose commit marker exists.
 * @throws UsageError when the id is malformed or unknown, or there is no backup at all.
 */
export function resolveBackupId(requested: string, committed: string[], where: string): string {
  if (requested === "latest") {
    const newest = [...committed].sort().pop();
    if (!newest) throw new UsageError(`there is no backup in ${where}`);
    return newest;
  }
  backupTime(requested);
  if (!committed.includes(requested)) throw new UsageError(`no backup ${requested} in ${where}`);
  return requested;
}
