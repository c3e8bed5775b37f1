// What `holdfast list`, `verify`, `status`, `prune` and `drill` know of a backup, whichever store it
// belongs to. Each store (redis, lancedb) implements StoreModule; the generic commands call the modules
// of the stores they are asked about and never look inside a store's layout themselves.
import type { S3Client } from "@aws-sdk/client-s3";
import type { BackupStoreLayout } from "../../components/backup-bucket/layout";
import type { RetentionPolicy } from "./retention";

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
  /** Objects deleted (or that would be), and their bytes. */
  objectsDeleted: number;
  bytesDeleted: number;
  dryRun: boolean;
}

/** What each store provides to the generic commands. */
export interface StoreModule {
  kind: StoreKind;
  /** Every committed backup (a backup without its commit marker does not exist), any order. */
  listBackups(at: StoreLocation): Promise<BackupSummary[]>;
  /**
   * Checks a backup end to end: integrity of every object, then a full restore into `scratchDir` and a
   * comparison with what the backup recorded. Never touches anything but `scratchDir`.
   */
  verify(at: StoreLocation, id: string, scratchDir: string): Promise<VerifyReport>;
  /** Applies retention: removes the backups `policy` does not keep (and for LanceDB, unreferenced files). */
  prune(at: StoreLocation, policy: RetentionPolicy, dryRun: boolean): Promise<PruneReport>;
}
