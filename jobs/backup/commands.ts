// The store-generic commands: `holdfast list`, `verify`, `status`, `prune` and `drill` (flags in
// specs.ts). They open the bucket, dispatch to the StoreModule of each selected store (stores.ts) and print a
// table on stdout (JSON with --json). Exit codes: 0 fine, 1 a check failed or a backup is too old,
// 2 bad input.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { type Flags, list, num, optStr, str } from "../cli/args";
import type { RunCommand } from "../cli/command";
import { UsageError } from "../cli/errors";
import { log } from "../cli/log";
import { type PushTarget, pushTarget, reportOutcome } from "../metrics/report";
import { backupTime, checkRequestedBackup, compareBackupIds } from "../store/backup-id";
import {
  type BackupSummary,
  type Catalog,
  type DamagedBackup,
  latestOf,
  type StoreLocation,
  type StoreModule,
  type VerifyReport,
} from "../store/catalog";
import { retentionPolicy } from "../store/flags";
import { formatBytes, formatDuration, formatTable } from "../cli/format";
import { describeLocation, openLocation } from "../store/location";
import { selectStores } from "./stores";
import { type ChainVerification, verifyNewestChain } from "../redis-stream/chain-verify";
import { drillNewestPoint, type StreamDrill } from "../redis-stream/chain-drill";
import { type StreamStatus, streamStatus } from "../redis-stream/stream-status";

function print(flags: Flags, json: unknown, text: string): void {
  process.stdout.write(flags.json ? JSON.stringify(json, null, 2) + "\n" : text + "\n");
}

/** The catalogue of each selected store, in the stores' order. */
async function catalogs(at: StoreLocation, stores: StoreModule[]): Promise<Catalog[]> {
  return Promise.all(stores.map((s) => s.catalog(at)));
}

function ageOf(id: string, now = Date.now()): number {
  return now - backupTime(id).getTime();
}

/** One line per damaged backup: what is wrong, and that nothing uses it. */
function describeDamaged(damaged: DamagedBackup[]): string[] {
  return damaged.map(
    (d) =>
      `${d.store} ${d.id} is DAMAGED: ${d.problem} (never restored, kept or counted as latest; inspect it, then remove it by hand)`,
  );
}

type ListedBackup =
  | (BackupSummary & { state: "committed"; ageSeconds: number })
  | (DamagedBackup & { state: "damaged"; ageSeconds: number });

/** `holdfast list`. */
export const runList: RunCommand = async (flags) => {
  const { stores } = selectStores(list(flags, "store"));
  const at = await openLocation(flags);
  const found = await catalogs(at, stores);
  const backups: ListedBackup[] = found
    .flatMap((c): ListedBackup[] => [
      ...c.committed.map((b) => ({ ...b, state: "committed" as const, ageSeconds: 0 })),
      ...c.damaged.map((d) => ({ ...d, state: "damaged" as const, ageSeconds: 0 })),
    ])
    .map((b) => ({ ...b, ageSeconds: Math.round(ageOf(b.id) / 1000) }))
    .sort((a, b) => compareBackupIds(b.id, a.id) || a.store.localeCompare(b.store));
  const rows = backups.map((b) =>
    b.state === "committed"
      ? [
          b.store,
          b.id,
          "ok",
          b.completedAt.replace(/\.\d+Z$/, "Z"),
          formatDuration(b.ageSeconds * 1000),
          formatBytes(b.sizeBytes),
          b.items,
          b.reason,
        ]
      : [b.store, b.id, "DAMAGED", "-", formatDuration(b.ageSeconds * 1000), "-", "-", "-"],
  );
  const damaged = backups.filter((b): b is ListedBackup & { state: "damaged" } => b.state === "damaged");
  print(
    flags,
    backups,
    backups.length === 0
      ? `no backups in ${describeLocation(at)}`
      : [
          formatTable(["STORE", "ID", "STATE", "COMPLETED", "AGE", "SIZE", "KEYS/ROWS", "REASON"], rows),
          ...(damaged.length > 0 ? ["", ...describeDamaged(damaged)] : []),
        ].join("\n"),
  );
};

/** A verification that stops at the catalogue: the backup is damaged, nothing is downloaded. */
function damagedReport(d: DamagedBackup): VerifyReport {
  return {
    store: d.store,
    id: d.id,
    ok: false,
    checks: [{ name: "the backup is committed and intact", ok: false, detail: `damaged: ${d.problem}` }],
    durationMs: 0,
  };
}

/**
 * What to verify: `--backup` in each store that has it, or each store's latest (its newest committed
 * backup). A damaged backup asked for by id is a failed verification (exit 1), not an unknown one.
 */
function verificationTargets(
  found: { store: StoreModule; catalog: Catalog }[],
  explicit: boolean,
  requested: string,
  where: string,
): { targets: { store: StoreModule; id: string }[]; damaged: VerifyReport[] } {
  const targets: { store: StoreModule; id: string }[] = [];
  const damaged: VerifyReport[] = [];
  for (const { store, catalog } of found) {
    if (requested === "latest") {
      const newest = latestOf(catalog);
      if (newest) targets.push({ store, id: newest.id });
      else if (explicit) throw new UsageError(`there is no ${store.kind} backup in ${where}`);
      continue;
    }
    const bad = catalog.damaged.find((d) => d.id === requested);
    if (catalog.committed.some((b) => b.id === requested)) targets.push({ store, id: requested });
    else if (bad) damaged.push(damagedReport(bad));
    else if (explicit) throw new UsageError(`no ${store.kind} backup ${requested} in ${where}`);
  }
  if (targets.length === 0 && damaged.length === 0)
    throw new UsageError(
      requested === "latest" ? `there is no backup in ${where}` : `no backup ${requested} in ${where}`,
    );
  return { targets, damaged };
}

/** The folder --scratch-dir names (checked), else the temporary folder; --redis-server made known. */
function scratchParent(flags: Flags): string {
  const redisServer = optStr(flags, "redis-server");
  // The Redis store reads its verification binary from the environment twin of this flag.
  if (redisServer) process.env.HOLDFAST_REDIS_SERVER = redisServer;
  const parent = optStr(flags, "scratch-dir");
  if (parent && !fs.statSync(parent, { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(`--scratch-dir ${parent} is not a directory`);
  return parent ?? os.tmpdir();
}

/** Runs `fn` in a scratch folder of its own under `parent`, removed afterwards. */
async function inScratch<T>(parent: string, name: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const scratch = fs.mkdtempSync(path.join(parent, `holdfast-${name}-`));
  try {
    return await fn(scratch);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Verifies each target in its own scratch folder, removed afterwards. */
async function verifyAll(
  at: StoreLocation,
  targets: { store: StoreModule; id: string }[],
  flags: Flags,
): Promise<VerifyReport[]> {
  const parent = scratchParent(flags);
  const reports: VerifyReport[] = [];
  for (const { store, id } of targets) {
    log.info("verifying", { store: store.kind, backup: id });
    reports.push(await inScratch(parent, `verify-${store.kind}`, (dir) => store.verify(at, id, dir)));
  }
  return reports;
}

/**
 * Whether `--stream` takes the Redis stream in: `auto` when Redis is among the stores, `only` always
 * (bad input when Redis is not).
 */
function withStream(flags: Flags, stores: StoreModule[]): boolean {
  const mode = str(flags, "stream");
  const redis = stores.some((s) => s.kind === "redis");
  if (mode === "only" && !redis) throw new UsageError("--stream only checks the Redis stream: --store redis");
  return mode !== "skip" && redis;
}

/** The newest chain checked, for `verify`; bad input with --stream only and no stream. */
async function verifyStream(at: StoreLocation, flags: Flags): Promise<ChainVerification[]> {
  log.info("checking the newest stream chain");
  const v = await verifyNewestChain(at);
  if (!v && str(flags, "stream") === "only")
    throw new UsageError(`there is no Redis stream in ${describeLocation(at)} (holdfast stream redis)`);
  return v ? [v] : [];
}

function describeReports(reports: VerifyReport[]): string {
  return reports
    .map((r) =>
      [
        `${r.store} ${r.id}: ${r.ok ? "OK" : "FAILED"} (${formatDuration(r.durationMs)})`,
        ...r.checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"}  ${c.name}${c.detail ? `: ${c.detail}` : ""}`),
      ].join("\n"),
    )
    .join("\n");
}

/** `holdfast verify`: the backups asked for, and the newest stream chain (--stream). */
export const runVerify: RunCommand = async (flags) => {
  const { stores, explicit } = selectStores(list(flags, "store"));
  const requested = checkRequestedBackup(str(flags, "backup"));
  const stream = withStream(flags, stores);
  const at = await openLocation(flags);
  const reports: VerifyReport[] = [];
  if (str(flags, "stream") !== "only") {
    const found = (await catalogs(at, stores)).map((catalog, i) => ({ store: stores[i], catalog }));
    const { targets, damaged } = verificationTargets(found, explicit, requested, describeLocation(at));
    reports.push(...damaged, ...(await verifyAll(at, targets, flags)));
  }
  if (stream) reports.push(...(await verifyStream(at, flags)));
  print(flags, reports, describeReports(reports));
  return reports.every((r) => r.ok) ? 0 : 1;
};

/** A store's latest backup and whether it is recent enough, with the damaged backups it holds. */
interface Freshness {
  store: string;
  newest?: BackupSummary;
  ageSeconds?: number;
  ok: boolean;
  problem?: string;
  damaged: DamagedBackup[];
  /** Redis: the stream (continuous protection), when the bucket holds one. */
  stream?: StreamStatus;
}

/** The latest backup of each store and whether it is recent enough. */
function freshness(found: Catalog[], explicit: boolean, maxAgeMs: number): Freshness[] {
  const out: Freshness[] = [];
  for (const catalog of found) {
    const newest = latestOf(catalog);
    if (!newest) {
      out.push({ store: catalog.store, ok: !explicit, problem: "no backup", damaged: catalog.damaged });
      continue;
    }
    const age = ageOf(newest.id);
    out.push({
      store: catalog.store,
      newest,
      ageSeconds: Math.round(age / 1000),
      ok: age <= maxAgeMs,
      problem: age <= maxAgeMs ? undefined : `newest backup is older than ${formatDuration(maxAgeMs)}`,
      damaged: catalog.damaged,
    });
  }
  // With every store selected, a store nobody backs up is skipped — unless none has any backup.
  if (!explicit && out.every((s) => !s.newest)) for (const s of out) s.ok = false;
  return out;
}

/** The status lines of a stream. */
function describeStream(s: StreamStatus): string[] {
  return [
    `redis stream: chain ${s.chain}` +
      (s.newest
        ? `, newest durable command ${s.newest} (${s.lagSeconds} s behind now)`
        : ", nothing durable yet") +
      `, ${s.segments} segments` +
      (s.ok ? "" : ` — STALE: ${s.problem}`),
    ...s.gaps.map((g) => `redis stream gap ${g.from} .. ${g.to}: cannot be restored to (${g.why})`),
  ];
}

/** `holdfast status`: each store's newest backup, and the Redis stream's lag and gaps. */
export const runStatus: RunCommand = async (flags) => {
  const { stores, explicit } = selectStores(list(flags, "store"));
  const maxAge = num(flags, "max-age");
  const at = await openLocation(flags);
  const states = freshness(await catalogs(at, stores), explicit, maxAge);
  const redis = states.find((s) => s.store === "redis");
  const stream = redis ? await streamStatus(at, num(flags, "max-lag")) : undefined;
  if (redis && stream) redis.stream = stream;
  const rows = states.map((s) => [
    s.store,
    s.newest?.id ?? "-",
    s.ageSeconds === undefined ? "-" : formatDuration(s.ageSeconds * 1000),
    s.newest ? formatBytes(s.newest.sizeBytes) : "-",
    s.ok ? "ok" : `STALE: ${s.problem}`,
  ]);
  const damaged = states.flatMap((s) => s.damaged);
  print(
    flags,
    states,
    [
      formatTable(["STORE", "NEWEST", "AGE", "SIZE", "STATUS"], rows),
      ...(stream ? describeStream(stream) : []),
      ...(damaged.length > 0 ? ["", ...describeDamaged(damaged)] : []),
    ].join("\n"),
  );
  return states.every((s) => s.ok) && (stream?.ok ?? true) ? 0 : 1;
};

/** `holdfast prune`. */
export const runPrune: RunCommand = async (flags) => {
  const { stores } = selectStores(list(flags, "store"));
  const policy = retentionPolicy(flags);
  const dryRun = Boolean(flags["dry-run"]);
  const at = await openLocation(flags);
  const reports = [];
  for (const store of stores) reports.push(await store.prune(at, policy, dryRun));
  const text = reports
    .map((r) =>
      [
        `${r.store}: ${dryRun ? "would delete" : "deleted"} ${r.deleted.length} backup${r.deleted.length === 1 ? "" : "s"} ` +
          `(${r.objectsDeleted} objects, ${formatBytes(r.bytesDeleted)}), kept ${r.kept.length}` +
          (r.damaged.length > 0 ? ` and ${r.damaged.length} damaged` : ""),
        ...r.deleted.map((id) => `  ${dryRun ? "would delete" : "deleted"}  ${id}`),
        ...r.kept.map((k) => `  kept          ${k.id}  (${k.reasons.join(", ")})`),
        ...r.damaged.map((d) => `  kept DAMAGED  ${d.id}  (${d.problem}; never pruned: inspect it)`),
      ].join("\n"),
    )
    .join("\n");
  print(flags, reports, text);
};

/** The stream's rehearsal: a restore to its newest durable moment in a scratch folder. */
async function drillStream(at: StoreLocation, flags: Flags): Promise<StreamDrill | undefined> {
  const parent = scratchParent(flags);
  const redisServer = process.env.HOLDFAST_REDIS_SERVER || "redis-server";
  log.info("rehearsing a restore to the stream's newest durable command");
  return inScratch(parent, "drill-stream", (dir) => drillNewestPoint(at, dir, redisServer));
}

/** `holdfast drill`: each store's latest backup verified, and the Redis stream replayed (--stream). */
export const runDrill: RunCommand = async (flags) => {
  const { stores, explicit } = selectStores(list(flags, "store"));
  const maxAge = num(flags, "max-age");
  const push = pushTarget(flags);
  const at = await openLocation(flags);
  const started = Date.now();
  const states = freshness(await catalogs(at, stores), explicit, maxAge);
  const targets = states
    .filter((s) => s.newest)
    .map((s) => ({ store: stores.find((m) => m.kind === s.store)!, id: s.newest!.id }));
  let reports: VerifyReport[];
  let stream: StreamDrill | undefined;
  try {
    reports = targets.length > 0 ? await verifyAll(at, targets, flags) : [];
    if (withStream(flags, stores)) stream = await drillStream(at, flags);
  } catch (err) {
    await pushDrillOutcomes(push, states, () => false);
    throw err;
  }
  await pushDrillOutcomes(
    push,
    states,
    (s) =>
      s.ok &&
      reports.some((r) => r.store === s.store && r.ok) &&
      (s.store !== "redis" || (stream?.ok ?? true)),
  );
  const ok =
    states.every((s) => s.ok) && reports.every((r) => r.ok) && reports.length > 0 && (stream?.ok ?? true);
  const result = {
    ok,
    location: describeLocation(at),
    at: new Date(started).toISOString(),
    stores: states.map((s) => ({
      ...s,
      verification: reports.find((r) => r.store === s.store),
    })),
    stream: stream ?? null,
    durationMs: Date.now() - started,
  };
  const text = [
    `restore drill of ${describeLocation(at)}: ${ok ? "PASSED" : "FAILED"}`,
    ...states.map(
      (s) =>
        `${s.store}: newest ${s.newest?.id ?? "none"}` +
        (s.newest
          ? `, ${formatDuration((s.ageSeconds ?? 0) * 1000)} old, ${formatBytes(s.newest.sizeBytes)}, ${s.newest.items} keys/rows`
          : "") +
        (s.ok ? "" : ` — ${s.problem}`),
    ),
    describeReports(reports),
    ...(stream ? [describeReports([{ ...stream, id: `stream ${stream.id} (newest durable command)` }])] : []),
    ...describeDamaged(states.flatMap((s) => s.damaged)),
  ]
    .filter(Boolean)
    .join("\n");
  print(flags, result, text);
  return ok ? 0 : 1;
};

/**
 * Pushes the drill's outcome of each store that has a backup, labelled with the database its newest
 * backup holds (the label its backups push). A store without a backup has nothing to label: its
 * backups' own alerts report it.
 */
async function pushDrillOutcomes(
  push: PushTarget | undefined,
  states: { store: string; newest?: BackupSummary; ok: boolean }[],
  passed: (s: { store: string; ok: boolean }) => boolean,
): Promise<void> {
  if (!push) return;
  for (const s of states) {
    if (!s.newest) continue;
    if (!s.newest.database) {
      log.warn("the newest backup names no database; its drill outcome is not pushed", {
        store: s.store,
        backup: s.newest.id,
      });
      continue;
    }
    await reportOutcome(push, {
      kind: "drill",
      store: s.newest.store,
      database: s.newest.database,
      ok: passed(s),
      at: new Date(),
    });
  }
}
