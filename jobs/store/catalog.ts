// The catalogue: what a backup is, decided once for every command (list, status, verify, drill, prune,
// restore, the stack commands). Each store (redis, lancedb) reads its bucket prefix into a Catalog
// (StoreModule.catalog); everything else decides from that Catalog with the functions below, so no two
// commands can disagree about which backups exist, which are damaged, and which one is `latest`.
//
// A backup is
// - committed: its commit marker (Redis manifest, LanceDB snapshot record) was written last, is readable,
//   of a format this version knows, names the backup it is stored under, and every object it lists lies
//   inside its own backup and is in the bucket with the recorded size;
// - damaged: it has a commit marker, but one of those checks fails. It is listed with the reason, never
//   restored, never counted as kept or as latest, and never deleted by prune (an operator inspects it);
// - absent: no commit marker (a backup still running, or one that failed). It does not exist.
import type { S3Client } from "@aws-sdk/client-s3";
import type { BackupStoreLayout } from "../../core/store-layout";
import { OperationError, UsageError } from "../cli/errors";
import { backupTime, checkRequestedBackup, compareBackupIds } from "./backup-id";
import { applyRetention, type KeepReason, type RetentionPolicy } from "./retention";

/** The stores Holdfast backs up. */
export type StoreKind = "redis" | "lancedb";

/** One committed backup. */
export interface BackupSummary {
  store: StoreKind;
  /** The backup id (its start time, see backup-id.ts). */
  id: string;
  /** When the backup was committed (its manifest or snapshot record written), ISO 8601. */
  completedAt: string;
  /** Bytes the backup stored (for LanceDB: bytes of the files it references). */
  sizeBytes: number;
  /** Keys (Redis, all databases) or rows (LanceDB, all tables). */
  items: number;
  /** Why it was taken: scheduled, pre-training, pre-restore, manual... */
  reason: string;
  /**
   * Which database of the store it holds, as the backup's metrics label it: the Redis master name (or
   * the data directory it was read from), the LanceDB data directory.
   */
  database?: string;
}

/** A backup whose commit marker exists but cannot be trusted. */
export interface DamagedBackup {
  store: StoreKind;
  id: string;
  /** What is wrong, one line: `the manifest is not valid JSON`, `dump.rdb is missing`... */
  problem: string;
}

/** What one store's prefix holds. */
export interface Catalog {
  store: StoreKind;
  /** Where the backups are, for messages: `s3://bucket/prefix/redis/`. */
  where: string;
  /** Committed backups, newest first. */
  committed: BackupSummary[];
  /** Damaged backups, newest first. */
  damaged: DamagedBackup[];
}

/** Where a store's backups are. */
export interface StoreLocation {
  client: S3Client;
  bucket: string;
  /** The stack's prefix (config backupPrefix) and the key prefixes under it. */
  prefix: string;
  layout: BackupStoreLayout;
}

/** The outcome of verifying one backup. */
export interface VerifyReport {
  store: StoreKind;
  id: string;
  ok: boolean;
  /** One line per check, in the order they ran (`sha256 of dump.rdb matches`, ...). */
  checks: { name: string; ok: boolean; detail?: string }[];
  durationMs: number;
}

/** What a prune did, or would do with dryRun. */
export interface PruneReport {
  store: StoreKind;
  kept: { id: string; reasons: string[] }[];
  /** Backups removed (their commit marker and what only they used). */
  deleted: string[];
  /** Damaged backups: never deleted by prune, left for an operator to inspect. */
  damaged: DamagedBackup[];
  /** Objects deleted (or that would be), and their bytes. */
  objectsDeleted: number;
  bytesDeleted: number;
  dryRun: boolean;
}

/** What each store provides to the generic commands. */
export interface StoreModule {
  kind: StoreKind;
  /** Reads the store's prefix: every committed and every damaged backup (see the top of this file). */
  catalog(at: StoreLocation): Promise<Catalog>;
  /**
   * Checks a committed backup end to end: integrity of every object, then a full restore into
   * `scratchDir` and a comparison with what the backup recorded. Never touches anything but `scratchDir`.
   */
  verify(at: StoreLocation, id: string, scratchDir: string): Promise<VerifyReport>;
  /** Applies retention: removes the backups `policy` does not keep (and for LanceDB, unreferenced files). */
  prune(at: StoreLocation, policy: RetentionPolicy, dryRun: boolean): Promise<PruneReport>;
}

/** Newest first, by id. */
export function newestFirst<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => compareBackupIds(b.id, a.id));
}

/** Builds a Catalog from what a store found, in the order every command shows it. */
export function catalogOf(
  store: StoreKind,
  where: string,
  committed: BackupSummary[],
  damaged: DamagedBackup[],
): Catalog {
  return { store, where, committed: newestFirst(committed), damaged: newestFirst(damaged) };
}

/** A backup asked for by id that is damaged: exit 1, naming what is wrong. */
export class DamagedBackupRefused extends OperationError {
  constructor(
    readonly backup: DamagedBackup,
    state: string,
  ) {
    super(
      `${backup.store === "lancedb" ? "snapshot" : "backup"} ${backup.id} is damaged: ${backup.problem}`,
      state,
    );
    this.name = "DamagedBackupRefused";
  }
}

/** The newest committed backup (`latest`), if any; `accept` narrows the candidates. */
export function latestOf(
  catalog: Catalog,
  accept: (b: BackupSummary) => boolean = () => true,
): BackupSummary | undefined {
  return catalog.committed.find(accept);
}

/**
 * Resolves what an operator asked for (`latest` or an id) in a store's catalogue.
 * @param accept for `latest`: which committed backups qualify (a stack restore skips safety backups).
 * @throws UsageError for a malformed or unknown id, or when there is no backup;
 *   DamagedBackupRefused (exit 1) for an id whose backup is damaged.
 */
export function resolveBackup(
  catalog: Catalog,
  requested: string,
  accept?: (b: BackupSummary) => boolean,
): BackupSummary {
  const r = checkRequestedBackup(requested);
  if (r === "latest") {
    const newest = latestOf(catalog, accept);
    if (!newest) throw new UsageError(`there is no backup in ${catalog.where}`);
    return newest;
  }
  const found = catalog.committed.find((b) => b.id === r);
  if (found) return found;
  const damaged = catalog.damaged.find((b) => b.id === r);
  if (damaged)
    throw new DamagedBackupRefused(
      damaged,
      `nothing was touched; it is never restored. Choose another backup (holdfast list --store ${damaged.store})`,
    );
  throw new UsageError(`no backup ${r} in ${catalog.where}`);
}

/** Damaged backups newer than `used`: what `latest` skipped, for a warning. */
export function skippedForLatest(catalog: Catalog, used: BackupSummary): DamagedBackup[] {
  return catalog.damaged.filter((d) => compareBackupIds(d.id, used.id) > 0);
}

/** Which committed backups retention keeps and drops; damaged ones are outside retention altogether. */
export function retentionOf(
  catalog: Catalog,
  policy: RetentionPolicy,
): { keep: Map<string, KeepReason[]>; drop: string[] } {
  // applyRetention keeps at least the newest of what it is given: the newest committed backup.
  return applyRetention(
    catalog.committed.map((b) => ({ id: b.id, at: backupTime(b.id) })),
    policy,
  );
}
