// What `holdfast list`, `status`, `prune` and `drill` know of a backup, whichever store it belongs to.
// Each store (redis, lancedb) lists its committed backups in this shape.

/** The stores Holdfast backs up. */
export type StoreKind = "redis" | "lancedb";

/** One committed backup. */
export interface BackupSummary {
  store: StoreKind;
  /** The backup id (its start time, see backup-id.ts). */
  id: string;
  /** When the backup was committed (its manifest or snapshot record written). */
  completedAt: string;
  /** Bytes the backup stored (for LanceDB: bytes of the files it references). */
  sizeBytes: number;
  /** Keys (Redis, all databases) or rows (LanceDB, all tables). */
  items: number;
  /** Why it was taken: scheduled, pre-training, pre-restore, manual... */
  reason: string;
}
