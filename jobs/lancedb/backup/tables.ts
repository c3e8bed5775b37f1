// What @lancedb/lancedb itself says about a table: the rows of a given version on the source (for the
// record), and on a restored copy its current version, its row count, the rows a full scan reads
// (every data and deletion file opened and decoded) and its tags; and Lance's restore of an older
// version, for a restore that chooses one.
import type * as LanceDb from "@lancedb/lancedb";
import * as fs from "fs";
import * as path from "path";
import { lazy } from "./lazy";

let native: typeof LanceDb | undefined;

/** Lance's read buffer for scans unless the environment sets one: its default (about 2 GiB) let a full
 * scan of a 1 GiB table take 750 MB of memory, more than a job's limit allows for larger ones. */
const SCAN_IO_BUFFER_BYTES = 64 * 1024 * 1024;

/**
 * @lancedb/lancedb, loaded on first use: its native library takes about 0.1 s to load, which a backup
 * overlaps with its first S3 requests (see takeSnapshot) and other commands never pay.
 */
export function loadLanceDb(): typeof LanceDb {
  process.env.LANCE_DEFAULT_IO_BUFFER_SIZE ??= String(SCAN_IO_BUFFER_BYTES);
  return (native ??= lazy<typeof LanceDb>("@lancedb/lancedb"));
}

/** The @lancedb/lancedb version in use, for the record. */
export function lancedbVersion(): string {
  try {
    let dir = path.dirname(require.resolve("@lancedb/lancedb"));
    for (let up = 0; up < 4 && !fs.existsSync(path.join(dir, "package.json")); up++) dir = path.dirname(dir);
    return (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string })
      .version;
  } catch {
    return "unknown";
  }
}

/** A version that no longer exists on the source (cleanup removed it after it was listed). */
export class VersionGoneError extends Error {
  constructor(
    readonly table: string,
    readonly version: number,
    cause: unknown,
  ) {
    super(`${table} version ${version} cannot be opened any more: ${(cause as Error).message}`);
    this.name = "VersionGoneError";
  }
}

async function withTable<T>(
  dataDir: string,
  table: string,
  fn: (t: LanceDb.Table) => Promise<T>,
): Promise<T> {
  const db = await loadLanceDb().connect(dataDir);
  try {
    const t = await db.openTable(table);
    try {
      return await fn(t);
    } finally {
      t.close();
    }
  } finally {
    db.close();
  }
}

/**
 * The rows of `table` at `version`, opened with @lancedb/lancedb.
 * @throws VersionGoneError when the version cannot be checked out (cleaned up meanwhile).
 */
export async function rowsAtVersion(dataDir: string, table: string, version: number): Promise<number> {
  return withTable(dataDir, table, async (t) => {
    try {
      await t.checkout(version);
    } catch (err) {
      throw new VersionGoneError(table, version, err);
    }
    return t.countRows();
  });
}

/** What a restored table looks like when opened. */
export interface OpenedTable {
  version: number;
  rows: number;
  /** Rows a full scan of every column returned (undefined when not scanned). */
  scannedRows?: number;
}

/** Opens a table as an application would (latest version) and counts its rows, optionally by a full scan. */
export async function openTable(dataDir: string, table: string, scan: boolean): Promise<OpenedTable> {
  return withTable(dataDir, table, async (t) => {
    const opened: OpenedTable = { version: await t.version(), rows: await t.countRows() };
    if (scan) {
      let n = 0;
      for await (const batch of t.query()) n += batch.numRows;
      opened.scannedRows = n;
    }
    return opened;
  });
}

/** The table names @lancedb/lancedb sees in a directory. */
export async function tableNames(dataDir: string): Promise<string[]> {
  const db = await loadLanceDb().connect(dataDir);
  try {
    return await db.tableNames();
  } finally {
    db.close();
  }
}

/** The tags of a table as @lancedb/lancedb lists them: name → version. */
export async function tagsOf(dataDir: string, table: string): Promise<Record<string, number>> {
  return withTable(dataDir, table, async (t) => {
    const listed = await (await t.tags()).list();
    return Object.fromEntries(Object.entries(listed).map(([name, tag]) => [name, Number(tag.version)]));
  });
}

/**
 * Makes `version` the current version of a table, as Lance's own restore does: a new version (the
 * newest + 1) holding that version's content; the history and the tags stay.
 */
export async function makeCurrent(dataDir: string, table: string, version: number): Promise<void> {
  await withTable(dataDir, table, async (t) => {
    await t.checkout(version);
    await t.restore();
  });
}
