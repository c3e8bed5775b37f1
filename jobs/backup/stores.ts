// The stores the generic commands (list, verify, status, prune, drill) know. Each store registers its
// StoreModule here with one line; `--store` picks some of them, and by default every one is used.
import { UsageError } from "../cli/errors";
import { redisStore } from "../redis-backup/store";
import { lancedbStore } from "../lancedb/backup/store-module";
import type { StoreKind, StoreModule } from "../store/catalog";

/** Every registered store, in the order the commands report them. */
export const storeModules: StoreModule[] = [redisStore, lancedbStore];

/**
 * The stores `--store` names (comma-separated), or every registered store.
 * @returns the modules and whether the user named them (then a store without backups is an error).
 */
export function selectStores(
  requested: string[],
  modules: StoreModule[] = storeModules,
): { stores: StoreModule[]; explicit: boolean } {
  if (requested.length === 0) return { stores: modules, explicit: false };
  const known = modules.map((m) => m.kind);
  const stores = requested.map((r) => {
    const m = modules.find((x) => x.kind === (r as StoreKind));
    if (!m) throw new UsageError(`--store must be one of ${known.join(", ")}, got "${r}"`);
    return m;
  });
  return { stores: [...new Set(stores)], explicit: true };
}
