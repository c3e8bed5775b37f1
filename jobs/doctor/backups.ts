// Backups: each store the stack backs up (it has that store's backup CronJob) has a committed backup
// younger than --max-age, read from the stack's bucket with the same catalogue every command uses.
import { formatDuration } from "../cli/format";
import { lancedbStore } from "../lancedb/backup/store-module";
import { redisStore } from "../redis-backup/store";
import { backupTime } from "../store/backup-id";
import { latestOf, type StoreModule } from "../store/catalog";
import { type CheckGroup, eachChecked, resultsOf } from "./check";

/** See the module comment. */
export const backupChecks: CheckGroup = async (ctx) => {
  const r = resultsOf("backups");
  const cronJobs = ctx.stack.outputs.schedule.cronJobs;
  const stores: StoreModule[] = [
    ...(cronJobs["redis-backup"] ? [redisStore] : []),
    ...(cronJobs["lancedb-backup"] ? [lancedbStore] : []),
  ];
  if (stores.length === 0) return [r.skip("newest", "the stack schedules no backup")];
  const at = await ctx.backups();
  return eachChecked(stores, async (store) => {
    const check = `newest ${store.kind}`;
    try {
      const catalog = await store.catalog(at);
      const newest = latestOf(catalog);
      const damaged = catalog.damaged.length > 0 ? `; ${catalog.damaged.length} damaged (holdfast list)` : "";
      if (!newest) return r.fail(check, `no committed backup in ${catalog.where}${damaged}`);
      const ageMs = ctx.now.getTime() - backupTime(newest.id).getTime();
      const age = formatDuration(Math.max(0, ageMs));
      return ageMs <= ctx.maxBackupAgeMs
        ? r.ok(check, `${newest.id}, ${age} old${damaged}`)
        : r.fail(
            check,
            `${newest.id} is ${age} old, over --max-age ${formatDuration(ctx.maxBackupAgeMs)}: see the ${store.kind}-backup CronJob's Jobs${damaged}`,
          );
    } catch (err) {
      return r.fail(check, `cannot read the backups: ${(err as Error).message}`);
    }
  });
};
