// How a restored dataset is laid out for Redis 7: with `appendonly yes` Redis loads only the multi-part
// AOF in `appendonlydir/` and ignores dump.rdb (finding no AOF it starts empty and writes an empty one:
// the trap of the hand-run advice "place the file in the data directory"). So the RDB becomes the AOF's base
// file — an RDB is exactly what Redis itself writes as a base with aof-use-rdb-preamble — next to an
// empty incremental file and the manifest naming both, in the format Redis 7.0 writes.
import * as fs from "fs";
import * as path from "path";

/** The names Redis uses (redis.conf appendfilename, appenddirname, dbfilename). */
export interface DatasetNames {
  appendFilename: string;
  appendDirname: string;
  dbFilename: string;
}

export const DEFAULT_NAMES: DatasetNames = {
  appendFilename: "appendonly.aof",
  appendDirname: "appendonlydir",
  dbFilename: "dump.rdb",
};

/** The files of a one-base AOF: base, incremental and manifest names. */
export function aofFiles(names: DatasetNames): { base: string; incr: string; manifest: string } {
  return {
    base: `${names.appendFilename}.1.base.rdb`,
    incr: `${names.appendFilename}.1.incr.aof`,
    manifest: `${names.appendFilename}.manifest`,
  };
}

/** The AOF manifest Redis 7 reads: one line per file with its sequence and type (b base, i incr). */
export function aofManifestText(names: DatasetNames): string {
  const f = aofFiles(names);
  return `file ${f.base} seq 1 type b\nfile ${f.incr} seq 1 type i\n`;
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Builds `<into>/<appenddirname>/` for the RDB at `rdbFile`: the base is a hard link to it (no copy; Redis
 * never modifies a base file, it replaces it on rewrite), the incremental file empty. Written and synced
 * before it is returned.
 * @returns the path of the built folder.
 */
export function buildAofDir(into: string, rdbFile: string, names: DatasetNames): string {
  const dir = path.join(into, names.appendDirname);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const f = aofFiles(names);
  fs.linkSync(rdbFile, path.join(dir, f.base));
  fs.writeFileSync(path.join(dir, f.incr), "");
  fs.writeFileSync(path.join(dir, f.manifest), aofManifestText(names));
  for (const file of [f.incr, f.manifest]) fsyncPath(path.join(dir, file));
  fsyncPath(dir);
  return dir;
}

/** Syncs a directory's entries (after renames into it). */
export function syncDir(dir: string): void {
  fsyncPath(dir);
}
