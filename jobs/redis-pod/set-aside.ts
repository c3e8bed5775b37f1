// Moving what a volume holds out of Redis's (or a sentinel's) way without deleting it: a replica's
// dataset before a restore makes it resynchronise from the restored primary, and a sentinel's rewritten
// sentinel.conf so it starts with no memory of the set it monitored. Entries are renamed (same
// filesystem: nothing is copied) into `holdfast-aside/<time>-<reason>/`, the keepAside convention. A run
// interrupted between two renames leaves whole entries on either side; running it again moves the rest
// into a folder of its own. A volume with nothing to move is left as it is, so running it twice is safe.
import * as fs from "fs";
import * as path from "path";
import { ASIDE_DIR, compactTime, datasetEntries } from "./aside";
import { ROLE_RECORD } from "./redis-init";

/** What a set-aside did. */
export interface SetAsideOutcome {
  /** The folder the entries went to; undefined when there was nothing to move. */
  asideDir?: string;
  /** The entries moved, as they were named in the volume. */
  moved: string[];
}

/** The sentinel's state file on its volume (PATHS.data of the sentinel pods). */
export const SENTINEL_STATE_FILE = "sentinel.conf";

/** The entries of a data directory that make up a Redis dataset and the role it last had. */
export function datasetAndRole(dataDir: string): string[] {
  const entries = datasetEntries(dataDir);
  if (fs.existsSync(path.join(dataDir, ROLE_RECORD))) entries.push(ROLE_RECORD);
  return entries.sort();
}

/** The entries of a sentinel's state volume that hold what it learnt of the set. */
export function sentinelStateEntries(stateDir: string): string[] {
  if (!fs.existsSync(stateDir)) return [];
  return fs
    .readdirSync(stateDir)
    .filter((e) => e === SENTINEL_STATE_FILE || e.startsWith(`${SENTINEL_STATE_FILE}.`))
    .sort();
}

/**
 * Renames `entries` of `dir` into a new `holdfast-aside/<time>-<reason>/` folder.
 * @param reason a short word for the folder name (`pre-restore`).
 */
export function moveAside(dir: string, entries: string[], reason: string, now = new Date()): SetAsideOutcome {
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(reason))
    throw new Error(`reason must be lower-case letters, digits and dashes, got "${reason}"`);
  const present = entries.filter((e) => fs.existsSync(path.join(dir, e)));
  if (present.length === 0) return { moved: [] };
  const base = path.join(dir, ASIDE_DIR, `${compactTime(now)}-${reason}`);
  let asideDir = base;
  for (let n = 2; fs.existsSync(asideDir); n++) asideDir = `${base}-${n}`;
  fs.mkdirSync(asideDir, { recursive: true });
  for (const e of present) fs.renameSync(path.join(dir, e), path.join(asideDir, e));
  syncDir(asideDir);
  syncDir(dir);
  return { asideDir, moved: present };
}

/** Moves a Redis data directory's dataset (and its role record) aside. */
export function setAsideDataset(dataDir: string, reason: string, now = new Date()): SetAsideOutcome {
  return moveAside(dataDir, datasetAndRole(dataDir), reason, now);
}

/** Moves a sentinel's rewritten config aside, so its init starts from the ConfigMap's. */
export function setAsideSentinelState(stateDir: string, reason: string, now = new Date()): SetAsideOutcome {
  return moveAside(stateDir, sentinelStateEntries(stateDir), reason, now);
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Not every filesystem lets a directory be opened for fsync; the renames are done either way.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
