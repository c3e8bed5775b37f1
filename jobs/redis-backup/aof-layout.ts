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

/**
 * The files of a point's AOF: the base, the replication stream cut at the point as the first incremental
 * file, and a second, empty one that the server appends to (so the stream's file is never written to).
 */
export function pointAofFiles(names: DatasetNames): { stream: string; next: string } {
  return {
    stream: `${names.appendFilename}.1.incr.aof`,
    next: `${names.appendFilename}.2.incr.aof`,
  };
}

/**
 * The AOF manifest Redis 7 reads: one line per file with its sequence and type (b base, i incr); with
 * `stream`, the point's two incremental files in order.
 */
export function aofManifestText(names: DatasetNames, stream = false): string {
  const f = aofFiles(names);
  const incr = stream
    ? `file ${pointAofFiles(names).stream} seq 1 type i\nfile ${pointAofFiles(names).next} seq 2 type i\n`
    : `file ${f.incr} seq 1 type i\n`;
  return `file ${f.base} seq 1 type b\n${incr}`;
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
 * never modifies a base file, it replaces it on rewrite), the incremental file empty. With `streamFile`
 * (a point), its bytes are the first incremental file (a hard link too) and the second is the empty one
 * Redis appends to. Written and synced before it is returned.
 * @returns the path of the built folder.
 */
export function buildAofDir(into: string, rdbFile: string, names: DatasetNames, streamFile?: string): string {
  const dir = path.join(into, names.appendDirname);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const f = aofFiles(names);
  fs.linkSync(rdbFile, path.join(dir, f.base));
  const p = pointAofFiles(names);
  if (streamFile) fs.linkSync(streamFile, path.join(dir, p.stream));
  const empty = streamFile ? p.next : f.incr;
  fs.writeFileSync(path.join(dir, empty), "");
  fs.writeFileSync(path.join(dir, f.manifest), aofManifestText(names, streamFile !== undefined));
  for (const file of [empty, f.manifest]) fsyncPath(path.join(dir, file));
  fsyncPath(dir);
  return dir;
}

/** Syncs a directory's entries (after renames into it). */
export function syncDir(dir: string): void {
  fsyncPath(dir);
}
