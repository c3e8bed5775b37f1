// The snapshot record of a LanceDB backup (`<prefix>/lancedb/snapshots/<backup-id>.json`): every table
// captured, at which version, with how many rows, its tags and the older versions they name, and every
// file it needs with size and sha256 and the key it is stored under in `<prefix>/lancedb/files/`. The record is written last; a snapshot without
// one does not exist. A record read back is checked before anything is written from it, because a
// tampered record could otherwise steer a restore outside its directory.
import * as path from "path";
import { manifestName, parseManifestName, type ManifestScheme } from "./manifest";

/** The value of `format` in records this code writes and reads. */
export const RECORD_FORMAT = "holdfast.lancedb.snapshot/1";

/** One file of a table version. */
export interface SnapshotFile {
  /** Path inside the table directory (`data/...`, `_versions/...`). */
  path: string;
  /** Key under `<prefix>/lancedb/files/`. */
  key: string;
  size: number;
  sha256: string;
}

/** One table as captured. */
export interface SnapshotTable {
  /** Table name: the directory `<name>.lance`. */
  name: string;
  version: number;
  scheme: ManifestScheme;
  /** Rows at `version`, counted by opening that version with @lancedb/lancedb. */
  rows: number;
  /** The manifest file of `version`, one of `files`. */
  manifest: string;
  /** Whether the source kept a legacy `_latest.manifest` copy (restored as a copy of `manifest`). */
  latestManifestCopy: boolean;
  /**
   * Older versions kept because a tag names them, each with its manifest (one of `files`) and its rows;
   * a restore can make one of them the table's current version. Absent in records without tags.
   */
  versions?: { version: number; manifest: string; rows: number }[];
  /** The table's tags: name → version (its file `_refs/tags/<name>.json` is one of `files`). */
  tags?: Record<string, number>;
  /** Every file the table's versions and tags need (the union, each path once). */
  files: SnapshotFile[];
}

/** A snapshot record. */
export interface SnapshotRecord {
  format: typeof RECORD_FORMAT;
  store: "lancedb";
  id: string;
  reason: string;
  startedAt: string;
  completedAt: string;
  source: { dataDir: string; host: string; lancedb: string };
  tables: SnapshotTable[];
  totals: { tables: number; files: number; bytes: number; rows: number };
  /** What this backup sent; the rest was already in the store. */
  uploaded: { files: number; bytes: number };
}

/** A record that must not be used. */
export class InvalidRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidRecordError";
  }
}

const TABLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Whether `name` can be a table directory name `<name>.lance` directly inside a data directory. */
export function isTableName(name: string): boolean {
  return TABLE_NAME.test(name) && name.length <= 200 && !name.includes("..");
}

/** Whether `name` can be a tag file name `<name>.json` (Lance's tag names: letters, digits, `.-_`). */
export function isTagName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/.test(name) && !name.includes("..");
}

/**
 * Whether `p` is a safe relative path: forward slashes, no empty, `.` or `..` segment, not absolute,
 * no backslash or NUL, and it stays inside its base when joined.
 */
export function isSafeRelativePath(p: string): boolean {
  if (typeof p !== "string" || p === "" || p.length > 1024) return false;
  if (p.startsWith("/") || p.includes("\\") || p.includes("\0") || /^[A-Za-z]:/.test(p)) return false;
  const parts = p.split("/");
  if (parts.some((s) => s === "" || s === "." || s === "..")) return false;
  return path.posix.normalize(p) === p;
}

/**
 * The key of a file in the store: `<table>.lance/<path>`; manifests and tag files, which Lance may write
 * again under the same name (a dropped and recreated table, a restored one, a tag moved), carry their
 * hash.
 */
export function fileKey(table: string, filePath: string, sha256?: string): string {
  if (filePath.startsWith("_versions/") || filePath.startsWith("_refs/")) {
    if (!sha256) throw new Error(`${filePath} needs its sha256 for its key`);
    return `${table}.lance/${filePath}.sha256-${sha256}`;
  }
  return `${table}.lance/${filePath}`;
}

function fail(message: string): never {
  throw new InvalidRecordError(message);
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/**
 * Checks a record read from the store before it is used: its shape, every table name, every path and
 * key (relative, no `..`, inside the table), hashes and sizes, the manifest entry.
 * @param id the id the record is stored under.
 * @throws InvalidRecordError naming the first problem.
 */
export function checkRecord(value: unknown, id: string): SnapshotRecord {
  const r = value as SnapshotRecord;
  if (typeof r !== "object" || r === null || Array.isArray(r)) fail("the record is not a JSON object");
  if (r.format !== RECORD_FORMAT) fail(`unknown record format ${JSON.stringify(r.format)}`);
  if (r.id !== id) fail(`the record names backup ${JSON.stringify(r.id)}, not ${id}`);
  if (!Array.isArray(r.tables)) fail("the record has no table list");
  const names = new Set<string>();
  let files = 0;
  let bytes = 0;
  let rows = 0;
  for (const t of r.tables) {
    if (typeof t !== "object" || t === null) fail("a table entry is not an object");
    if (typeof t.name !== "string" || !isTableName(t.name))
      fail(`table name ${JSON.stringify(t.name)} is not allowed`);
    if (names.has(t.name)) fail(`table ${t.name} appears twice`);
    names.add(t.name);
    if (!isCount(t.version) || t.version < 1) fail(`table ${t.name}: version ${JSON.stringify(t.version)}`);
    if (t.scheme !== "v1" && t.scheme !== "v2")
      fail(`table ${t.name}: manifest scheme ${JSON.stringify(t.scheme)}`);
    if (!isCount(t.rows)) fail(`table ${t.name}: row count ${JSON.stringify(t.rows)}`);
    if (!Array.isArray(t.files)) fail(`table ${t.name} has no file list`);
    const expectedManifest = `_versions/${manifestName(t.version, t.scheme)}`;
    if (t.manifest !== expectedManifest)
      fail(`table ${t.name}: manifest ${JSON.stringify(t.manifest)} is not the one of version ${t.version}`);
    const manifests = new Set([t.manifest]);
    const versions = new Set([t.version]);
    if (t.versions !== undefined && !Array.isArray(t.versions))
      fail(`table ${t.name}: versions is not a list`);
    for (const v of t.versions ?? []) {
      if (
        typeof v !== "object" ||
        v === null ||
        !isCount(v.version) ||
        v.version < 1 ||
        v.version >= t.version
      )
        fail(`table ${t.name}: kept version ${JSON.stringify(v?.version)} is not older than ${t.version}`);
      if (versions.has(v.version)) fail(`table ${t.name}: version ${v.version} appears twice`);
      if (v.manifest !== `_versions/${manifestName(v.version, t.scheme)}`)
        fail(
          `table ${t.name}: manifest ${JSON.stringify(v.manifest)} is not the one of version ${v.version}`,
        );
      if (!isCount(v.rows)) fail(`table ${t.name}: version ${v.version} row count ${JSON.stringify(v.rows)}`);
      versions.add(v.version);
      manifests.add(v.manifest);
    }
    const tagFiles = new Set<string>();
    if (t.tags !== undefined && (typeof t.tags !== "object" || t.tags === null || Array.isArray(t.tags)))
      fail(`table ${t.name}: tags is not an object`);
    for (const [tag, v] of Object.entries(t.tags ?? {})) {
      if (!isTagName(tag)) fail(`table ${t.name}: tag name ${JSON.stringify(tag)} is not allowed`);
      if (!versions.has(v))
        fail(`table ${t.name}: tag ${tag} names version ${v}, which the record does not hold`);
      tagFiles.add(`_refs/tags/${tag}.json`);
    }
    const paths = new Set<string>();
    for (const f of t.files) {
      if (typeof f !== "object" || f === null) fail(`table ${t.name}: a file entry is not an object`);
      if (!isSafeRelativePath(f.path))
        fail(
          `table ${t.name}: file path ${JSON.stringify(f.path)} is absolute or leaves the table directory`,
        );
      if (paths.has(f.path)) fail(`table ${t.name}: ${f.path} appears twice`);
      paths.add(f.path);
      if (f.path.startsWith("_versions/") && !manifests.has(f.path))
        fail(`table ${t.name}: a manifest ${f.path} of no version it holds`);
      if (f.path.startsWith("_refs/") && !tagFiles.has(f.path))
        fail(`table ${t.name}: ${f.path} is not the file of one of its tags`);
      if (typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256))
        fail(`table ${t.name}: ${f.path} has no valid sha256`);
      if (!isCount(f.size)) fail(`table ${t.name}: ${f.path} has no valid size`);
      if (typeof f.key !== "string" || !isSafeRelativePath(f.key) || !f.key.startsWith(`${t.name}.lance/`))
        fail(`table ${t.name}: key ${JSON.stringify(f.key)} is not inside the table's files`);
      files++;
      bytes += f.size;
    }
    for (const m of [...manifests, ...tagFiles])
      if (!paths.has(m)) fail(`table ${t.name}: ${m} is not among its files`);
    if (!parseManifestName(t.manifest.slice("_versions/".length))) fail(`table ${t.name}: bad manifest name`);
    rows += t.rows;
  }
  if (!r.totals || r.totals.files !== files || r.totals.bytes !== bytes || r.totals.rows !== rows)
    fail("the record's totals do not add up to its files and rows");
  return r;
}

/** The path of a file of a table under a data directory, refusing anything that would leave it. */
export function localPath(dataDir: string, table: string, filePath: string): string {
  if (!isTableName(table) || !isSafeRelativePath(filePath))
    throw new InvalidRecordError(`${table}/${filePath} would leave the data directory`);
  const root = path.resolve(dataDir);
  const target = path.resolve(root, `${table}.lance`, ...filePath.split("/"));
  const rel = path.relative(root, target);
  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel))
    throw new InvalidRecordError(`${table}/${filePath} would leave the data directory`);
  return target;
}
