// What a store's preflight hands the run of a stack restore: the plan (printed, then run as printed), the
// record of an interrupted restore it continues, and how to list the store's backups (to find the safety
// backup a Job took).
import type { BackupSummary } from "../store/catalog";
import type { Plan } from "./plan";
import type { RestoreRecord } from "./record";

/** A restore ready to print and run. */
export interface PreparedRestore {
  plan: Plan;
  /** The progress record found by the preflight. */
  record?: RestoreRecord;
  /** The store's committed backups. */
  listBackups: () => Promise<BackupSummary[]>;
}
