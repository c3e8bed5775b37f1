// The source side of a LanceDB backup: the tables of a data directory and, for each, the newest
// committed version with the exact files it needs, and its tags (`_refs/tags/`) with the versions they
// name. A version is read from its manifest, which Lance
// never changes once committed, so the file list is consistent however the writer goes on; the files
// themselves are immutable too, but compaction followed by cleanup may delete them, which the caller
// sees as a vanished file and answers by capturing the table again.
import * as fs from "fs";
import * as path from "path";
import { latestManifest, type ManifestName, readManifest, type ManifestScheme } from "./manifest";
import { isTableName, isTagName } from "./record";

/** A file that was listed (or referenced by a manifest) and is gone now: cleanup removed it. */
export class VanishedFileError extends Error {
  constructor(
    readonly table: string,
    readonly filePath: string,
  ) {
    super(
      `${table}.lance/${filePath} disappeared while the backup ran (compaction or cleanup by the writer)`,
    );
    this.name = "VanishedFileError";
  }
}

/** A file a captured version needs, as found on disk. */
export interface SourceFile {
  path: string;
  size: number;
}

/** One table at one committed version, ready to copy. */
export interface CapturedVersion {
  table: string;
  dir: string;
  version: number;
  scheme: ManifestScheme;
  /** `_versions/<name>`. */
  manifestPath: string;
  /** The manifest's bytes as read (copied from memory, so what was parsed is what is stored). */
  manifest: Buffer;
  /** Every file but the manifest. */
  files: SourceFile[];
  /** Rows according to the manifest (physical rows minus deleted rows, summed over fragments). */
  manifestRows: number;
  /** Whether the table has a legacy `_latest.manifest`. */
  latestManifestCopy: boolean;
}

/** What a data directory holds: table names, and entries that are not tables (reported, not copied). */
export function listTables(dataDir: string): { tables: string[]; skipped: string[] } {
  const tables: string[] = [];
  const skipped: string[] = [];
  for (const entry of fs
    .readdirSync(dataDir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const name = entry.name.endsWith(".lance") ? entry.name.slice(0, -".lance".length) : undefined;
    if (entry.isDirectory() && name !== undefined && isTableName(name)) tables.push(name);
    else skipped.push(entry.name);
  }
  return { tables, skipped };
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Every file under `dir`, as paths relative to it. */
function listTree(dir: string, prefix = ""): string[] {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? listTree(dir, rel) : [rel];
  });
}

function sizeOf(dir: string, table: string, rel: string): number {
  try {
    const st = fs.statSync(path.join(dir, ...rel.split("/")));
    if (!st.isFile()) throw new Error(`${table}.lance/${rel} is not a regular file`);
    return st.size;
  } catch (err) {
    if (isMissing(err)) throw new VanishedFileError(table, rel);
    throw err;
  }
}

/**
 * One committed version of a table (named by its manifest in `_versions/`) and the files it needs.
 * @throws VanishedFileError when the manifest or a file it references is gone (capture again).
 * @throws ManifestError when the manifest cannot be read or needs files outside the table directory.
 */
export function captureVersion(dataDir: string, table: string, at: ManifestName): CapturedVersion {
  const dir = path.join(dataDir, `${table}.lance`);
  const manifestPath = `_versions/${at.name}`;
  let manifest: Buffer;
  try {
    manifest = fs.readFileSync(path.join(dir, "_versions", at.name));
  } catch (err) {
    if (isMissing(err)) throw new VanishedFileError(table, manifestPath);
    throw err;
  }
  const content = readManifest(manifest);
  if (content.version !== at.version)
    throw new Error(`${table}.lance/${manifestPath} holds version ${content.version}, not ${at.version}`);
  const wanted = new Set(content.files);
  for (const index of content.indices) {
    const indexDir = `_indices/${index.uuid}`;
    let files = index.files;
    if (files.length === 0) {
      try {
        files = listTree(path.join(dir, "_indices", index.uuid));
      } catch (err) {
        // An index with neither a file list nor a directory has nothing on disk (a system index).
        if (isMissing(err)) continue;
        throw err;
      }
    }
    for (const f of files) wanted.add(`${indexDir}/${f}`);
  }
  const files = [...wanted].map((p) => ({ path: p, size: sizeOf(dir, table, p) }));
  return {
    table,
    dir,
    version: at.version,
    scheme: at.scheme,
    manifestPath,
    manifest,
    files,
    manifestRows: content.rows,
    latestManifestCopy: fs.existsSync(path.join(dir, "_latest.manifest")),
  };
}

/**
 * The newest committed version of a table and the files it needs. Returns undefined for a table
 * directory without any committed version (a table being created).
 * @throws VanishedFileError when a file the version references is gone (capture again).
 * @throws ManifestError when the manifest cannot be read or needs files outside the table directory.
 */
export function captureLatest(dataDir: string, table: string): CapturedVersion | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(dataDir, `${table}.lance`, "_versions"));
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  const latest = latestManifest(names);
  return latest ? captureVersion(dataDir, table, latest) : undefined;
}

/** A tag of a table, as Lance keeps it: `_refs/tags/<name>.json`. */
export interface TableTag {
  name: string;
  version: number;
  /** `_refs/tags/<name>.json`. */
  path: string;
  /** The file's bytes as read (stored as they are, so a restore gives Lance back its own file). */
  content: Buffer;
  /** The branch the tagged version is on; null or absent for the main lineage. */
  branch?: string | null;
}

/** The tags of a table (none when it has no `_refs/tags/`). */
export function readTags(dataDir: string, table: string): TableTag[] {
  const dir = path.join(dataDir, `${table}.lance`, "_refs", "tags");
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  const tags: TableTag[] = [];
  for (const file of names.sort()) {
    const name = file.endsWith(".json") ? file.slice(0, -".json".length) : "";
    if (!isTagName(name)) continue;
    let content: Buffer;
    try {
      content = fs.readFileSync(path.join(dir, file));
    } catch (err) {
      if (isMissing(err)) continue; // deleted meanwhile: no longer a tag
      throw err;
    }
    const parsed = JSON.parse(content.toString("utf8")) as { version?: unknown; branch?: string | null };
    if (typeof parsed.version !== "number" || !Number.isSafeInteger(parsed.version) || parsed.version < 1)
      throw new Error(`${table}.lance/_refs/tags/${file} names no version`);
    tags.push({ name, version: parsed.version, path: `_refs/tags/${file}`, content, branch: parsed.branch });
  }
  return tags;
}
