// The LanceDB store as the generic `holdfast list / verify / status / prune / drill` commands see it.
import * as fs from "fs";
import * as path from "path";
import { durationMs } from "../../cli/args";
import type { StoreLocation, StoreModule, VerifyReport } from "../../store/catalog";
import type { RetentionPolicy } from "../../store/retention";
import { DEFAULT_GC_GRACE_MS, GC_GRACE_ENV, pruneSnapshots } from "./prune";
import type { SnapshotRecord } from "./record";
import { loadRecord, scanSnapshots } from "./records";
import { checkTables, downloadSnapshot, plannedPaths } from "./restore";
import { IntegrityError } from "./transfer";

/** The grace period from the environment (HOLDFAST_GC_GRACE), or the default of 24 hours. */
export function gcGraceFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env[GC_GRACE_ENV];
  return v ? durationMs(v, GC_GRACE_ENV) : DEFAULT_GC_GRACE_MS;
}

/**
 * Verifies a snapshot end to end into `scratchDir/lancedb-<id>`: the record's checks, every file's size
 * and sha256, then each table opened with @lancedb/lancedb at the recorded version and row count, and a
 * full scan. The scratch copy is removed afterwards.
 */
export async function verifySnapshot(
  at: StoreLocation,
  id: string,
  scratchDir: string,
): Promise<VerifyReport> {
  const started = Date.now();
  const checks: VerifyReport["checks"] = [];
  const done = (): VerifyReport => ({
    store: "lancedb",
    id,
    ok: checks.length > 0 && checks.every((c) => c.ok),
    checks,
    durationMs: Date.now() - started,
  });
  let record: SnapshotRecord;
  try {
    record = await loadRecord(at, id);
    checks.push({ name: "snapshot record is complete and every path stays inside its table", ok: true });
  } catch (err) {
    checks.push({
      name: "snapshot record is complete and every path stays inside its table",
      ok: false,
      detail: (err as Error).message,
    });
    return done();
  }
  const dir = path.join(scratchDir, `lancedb-${id}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  try {
    try {
      plannedPaths(dir, record);
      const { files, bytes } = await downloadSnapshot(at, record, dir);
      checks.push({
        name: `size and sha256 of all ${files} files match the record`,
        ok: true,
        detail: `${bytes} bytes`,
      });
    } catch (err) {
      checks.push({
        name: "size and sha256 of every file match the record",
        ok: false,
        detail:
          err instanceof IntegrityError ? err.message : `${(err as Error).name}: ${(err as Error).message}`,
      });
      return done();
    }
    for (const t of await checkTables(dir, record))
      checks.push({
        name: `table ${t.name} opens at version ${t.expected.version} with ${t.expected.rows} rows (full scan)`,
        ok: t.ok,
        detail: t.problem,
      });
    return done();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The LanceDB StoreModule; prune's grace period comes from HOLDFAST_GC_GRACE. */
export const lancedbStore: StoreModule = {
  kind: "lancedb",
  catalog: async (at) => (await scanSnapshots(at)).catalog,
  verify: verifySnapshot,
  prune: (at: StoreLocation, policy: RetentionPolicy, dryRun: boolean) =>
    pruneSnapshots(at, policy, dryRun, { graceMs: gcGraceFromEnv() }),
};
