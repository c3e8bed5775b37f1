// Where a stack's backups live in its bucket. The lifecycle rules, the IAM policies and the jobs all
// address the same key prefixes, so they are named once here: everything of a stack under
// `<prefix>/`, Redis backups as one folder each (RDB, manifest written last), LanceDB as shared
// immutable files plus one snapshot record per backup.

/** The key prefixes of one stack's backup store, each ending in `/`. */
export interface BackupStoreLayout {
  /** Everything of the stack: `<prefix>/`. */
  root: string;
  /** Redis backups: `<prefix>/redis/<backup-id>/dump.rdb` and `.../manifest.json`. */
  redis: string;
  /** Immutable Lance files shared by many snapshots: `<prefix>/lancedb/files/...`. */
  lanceFiles: string;
  /** LanceDB snapshot records: `<prefix>/lancedb/snapshots/<backup-id>.json`. */
  lanceSnapshots: string;
}

/** The manifest that commits a Redis backup, relative to `redis`: `<backup-id>/manifest.json`. */
export const REDIS_MANIFEST = "manifest.json";

/**
 * The key prefixes under a stack's backup prefix.
 * @param prefix the stack's prefix (config backupPrefix, by default the stack name); surrounding
 *   slashes are ignored.
 */
export function backupStoreLayout(prefix: string): BackupStoreLayout {
  const p = prefix.replace(/^\/+|\/+$/g, "");
  if (!p) throw new Error("backup prefix must not be empty");
  if (/[*?]/.test(p)) throw new Error(`backup prefix ${JSON.stringify(prefix)} must not contain * or ?`);
  return {
    root: `${p}/`,
    redis: `${p}/redis/`,
    lanceFiles: `${p}/lancedb/files/`,
    lanceSnapshots: `${p}/lancedb/snapshots/`,
  };
}
