// Keeping a copy of a Redis data directory's files before anything changes them: under
// `<dataDir>/holdfast-aside/<time>-<reason>/`. Files Redis never modifies after writing them (RDB
// snapshots and AOF base files) are hard-linked, so a copy costs no space; files Redis appends to or a
// repair truncates (AOF incr files, manifests) are copied.
import * as fs from "fs";
import * as path from "path";

/** Folder under a data directory that holds copies kept aside; never read by Redis. */
export const ASIDE_DIR = "holdfast-aside";

/** A timestamp that sorts and is safe in a file name: 20260115T120000Z. */
export function compactTime(d: Date = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

function immutable(file: string): boolean {
  return file.endsWith(".rdb");
}

function copyTree(from: string, to: string): number {
  let files = 0;
  const stat = fs.statSync(from);
  if (stat.isDirectory()) {
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(from)) files += copyTree(path.join(from, entry), path.join(to, entry));
    return files;
  }
  if (immutable(from)) {
    try {
      fs.linkSync(from, to);
      return 1;
    } catch {
      // Another filesystem or no link support: fall through to a copy.
    }
  }
  fs.copyFileSync(from, to);
  return 1;
}

/** The entries of a data directory that hold Redis's dataset (what a copy or a move must cover). */
export function datasetEntries(dataDir: string): string[] {
  if (!fs.existsSync(dataDir)) return [];
  return fs
    .readdirSync(dataDir)
    .filter(
      (e) => e === "dump.rdb" || e === "appendonlydir" || /^appendonly.*\.aof$/.test(e) || e.endsWith(".rdb"),
    );
}

/** Whether a data directory holds a dataset: an RDB or AOF file with content. */
export function holdsData(dataDir: string): boolean {
  const sizeOf = (p: string): number => {
    const s = fs.statSync(p);
    return s.isDirectory() ? fs.readdirSync(p).reduce((n, e) => n + sizeOf(path.join(p, e)), 0) : s.size;
  };
  return datasetEntries(dataDir).some((e) => sizeOf(path.join(dataDir, e)) > 0);
}

/**
 * Copies the dataset entries of `dataDir` aside and returns the folder they went to, or undefined when
 * there was nothing to keep.
 * @param reason a short word for the folder name (`aof-repair`, `rejoin`).
 * @param now the time to name the folder by.
 */
export function keepAside(dataDir: string, reason: string, now: Date = new Date()): string | undefined {
  const entries = datasetEntries(dataDir);
  if (entries.length === 0) return undefined;
  let target = path.join(dataDir, ASIDE_DIR, `${compactTime(now)}-${reason}`);
  for (let n = 2; fs.existsSync(target); n++)
    target = path.join(dataDir, ASIDE_DIR, `${compactTime(now)}-${reason}-${n}`);
  const partial = `${target}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  for (const e of entries) copyTree(path.join(dataDir, e), path.join(partial, e));
  // A copy interrupted half-way keeps its `.partial` name, so it is never mistaken for a whole one.
  fs.renameSync(partial, target);
  return target;
}
