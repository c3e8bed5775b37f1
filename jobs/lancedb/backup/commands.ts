// `holdfast backup lancedb` and `holdfast restore lancedb` (flags in specs.ts): check the bucket, run
// takeSnapshot / restoreSnapshot (or say what a restore would do), print a summary (JSON with --json).
import * as fs from "fs";
import * as path from "path";
import { type Flags, list, num, str } from "../../cli/args";
import type { RunCommand } from "../../cli/command";
import { log } from "../../cli/log";
import { pushTarget, withBackupOutcome } from "../../metrics/report";
import { ASIDE_DIR } from "../../redis-pod/aside";
import { openLocation } from "../../store/location";
import { takeSnapshot } from "./backup";
import { resolveRecord } from "./records";
import { checkDataDir, chosenVersions, plannedPaths, restoreSnapshot, STAGING_PREFIX } from "./restore";
import { DEFAULT_TRANSFER, type TransferSettings } from "./transfer";

function transferFrom(flags: Flags): TransferSettings {
  return { ...DEFAULT_TRANSFER, concurrency: num(flags, "concurrency") };
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** `  tags current=5, first=1` (each kept with the version it names), or nothing. */
function describeTags(tags: Record<string, number> | undefined): string {
  const entries = Object.entries(tags ?? {});
  return entries.length === 0 ? "" : `  tags ${entries.map(([n, v]) => `${n}=${v}`).join(", ")}`;
}

/** `holdfast backup lancedb`. */
export const runBackupLanceDb: RunCommand = async (flags) => {
  const dataDir = str(flags, "data-dir");
  const transfer = transferFrom(flags);
  const graceMs = num(flags, "gc-grace");
  const target = pushTarget(flags);
  // The database label: the data directory as the snapshot record names it, as the drill reads it.
  const outcome = await withBackupOutcome(
    target,
    { store: "lancedb", database: path.resolve(dataDir) },
    async () =>
      takeSnapshot({
        at: await openLocation(flags),
        dataDir,
        reason: str(flags, "reason"),
        graceMs,
        allowEmpty: flags["allow-empty"] === true,
        transfer,
      }),
    (o) => ({
      sizeBytes: o.tables.reduce((n, t) => n + t.bytes, 0),
      uploadedBytes: o.uploaded.bytes,
      items: o.tables.reduce((n, t) => n + t.rows, 0),
      tableVersions: Object.fromEntries(o.tables.map((t) => [t.name, t.version])),
    }),
  );
  log.info("snapshot committed", { snapshot: outcome.id, record: outcome.recordKey });
  if (flags.json) process.stdout.write(JSON.stringify(outcome, null, 2) + "\n");
  else {
    for (const t of outcome.tables)
      process.stdout.write(
        `${t.name.padEnd(24)} version ${String(t.version).padEnd(6)} ${String(t.rows).padStart(10)} rows  ${String(t.files).padStart(5)} files  sent ${mb(t.uploadedBytes)}` +
          `${describeTags(t.tags)}\n`,
      );
    process.stdout.write(
      `snapshot ${outcome.id}: sent ${outcome.uploaded.files} files (${mb(outcome.uploaded.bytes)}), reused ${outcome.reused.files} (${mb(outcome.reused.bytes)}) in ${(outcome.durationMs / 1000).toFixed(1)} s\n`,
    );
  }
};

/** `holdfast restore lancedb`. */
export const runRestoreLanceDb: RunCommand = async (flags) => {
  const dataDir = str(flags, "data-dir");
  const transfer = transferFrom(flags);
  const at = await openLocation(flags);
  if (flags["dry-run"]) return dryRunRestore(flags, at);
  const outcome = await restoreSnapshot({
    at,
    backup: str(flags, "backup"),
    dataDir,
    transfer,
    tableVersions: list(flags, "table-version"),
  });
  log.info("snapshot restored", {
    snapshot: outcome.id,
    dataDir: outcome.dataDir,
    aside: outcome.asideDir,
    timings: outcome.timings,
  });
  if (flags.json) process.stdout.write(JSON.stringify(outcome, null, 2) + "\n");
  else {
    for (const t of outcome.tables)
      process.stdout.write(
        `${t.name.padEnd(24)} version ${String(t.found?.version).padEnd(6)} ${String(t.found?.rows).padStart(10)} rows  ok` +
          (t.madeCurrent ? `  (version ${t.madeCurrent} made current)` : "") +
          `${describeTags(t.tags)}\n`,
      );
    process.stdout.write(
      `snapshot ${outcome.id} restored into ${outcome.dataDir}: ${outcome.files} files (${mb(outcome.bytes)}) checked` +
        (outcome.asideDir ? `; previous content kept in ${outcome.asideDir}\n` : "\n"),
    );
  }
  return 0;
};

/** What `restore lancedb --dry-run` prints: the snapshot, its tables, what would be moved aside. */
async function dryRunRestore(flags: Flags, at: Awaited<ReturnType<typeof openLocation>>): Promise<number> {
  const dataDir = checkDataDir(str(flags, "data-dir"));
  const record = await resolveRecord(at, str(flags, "backup"));
  const chosen = chosenVersions(record, list(flags, "table-version"));
  plannedPaths(path.join(dataDir, `${STAGING_PREFIX}${record.id}`), record);
  const moved = fs.readdirSync(dataDir).filter((e) => e !== ASIDE_DIR && !e.startsWith(STAGING_PREFIX));
  const plan = {
    dryRun: true,
    id: record.id,
    dataDir,
    tables: record.tables.map((t) => ({
      name: t.name,
      version: t.version,
      rows: t.rows,
      madeCurrent: chosen.get(t.name) !== t.version ? chosen.get(t.name) : undefined,
    })),
    files: record.totals.files,
    bytes: record.totals.bytes,
    movedAside: moved,
  };
  if (flags.json) {
    process.stdout.write(JSON.stringify(plan, null, 2) + "\n");
    return 0;
  }
  const lines = [
    `would restore snapshot ${record.id} into ${dataDir}: ${plan.files} files (${mb(plan.bytes)}), checked before anything moves`,
    ...plan.tables.map(
      (t) =>
        `  ${t.name.padEnd(24)} version ${String(t.version).padEnd(6)} ${String(t.rows).padStart(10)} rows` +
        (t.madeCurrent ? `  (version ${t.madeCurrent} made current)` : ""),
    ),
    moved.length > 0
      ? `  would move ${moved.join(", ")} into ${path.join(dataDir, ASIDE_DIR)}/<time>-restore-${record.id}/ (kept, never deleted)`
      : `  ${dataDir} holds nothing to move aside`,
    "nothing was changed (--dry-run)",
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}
