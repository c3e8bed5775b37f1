// Which backups a retention policy keeps: the newest N whatever their age, then the newest backup of
// each of the last D days, W ISO weeks and M months (the grandfather-father-son scheme of backup tools).
// Pure, so `holdfast prune --dry-run` and the prune itself decide the same way for both stores.
import { compareBackupIds } from "./backup-id";

/** How many backups of each kind to keep. */
export interface RetentionPolicy {
  /** The newest backups kept whatever their age. */
  keepLast: number;
  /** Days, counting back from the newest backup's day, whose newest backup is kept. */
  keepDaily: number;
  /** ISO weeks whose newest backup is kept. */
  keepWeekly: number;
  /** Calendar months whose newest backup is kept. */
  keepMonthly: number;
}

/** One backup as retention sees it. */
export interface Dated {
  id: string;
  at: Date;
}

/** Why a backup is kept, for the report. */
export type KeepReason = "last" | "daily" | "weekly" | "monthly" | "stream-chain";

/** The decision for every backup: kept (with the reasons) or not. */
export interface RetentionDecision {
  keep: Map<string, KeepReason[]>;
  drop: string[];
}

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = new Date(Date.UTC(t.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((t.getTime() - yearStart.getTime()) / 86400000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${week}`;
}

const buckets: Record<Exclude<KeepReason, "last" | "stream-chain">, (d: Date) => string> = {
  daily: (d) => d.toISOString().slice(0, 10),
  weekly: isoWeek,
  monthly: (d) => d.toISOString().slice(0, 7),
};

/** Applies `policy` to `backups` (any order). A policy that keeps nothing keeps the newest anyway. */
export function applyRetention(backups: Dated[], policy: RetentionPolicy): RetentionDecision {
  const newestFirst = [...backups].sort((a, b) => compareBackupIds(b.id, a.id));
  const keep = new Map<string, KeepReason[]>();
  const mark = (id: string, reason: KeepReason) => keep.set(id, [...(keep.get(id) ?? []), reason]);
  newestFirst.slice(0, Math.max(1, policy.keepLast)).forEach((b) => mark(b.id, "last"));
  const limits = { daily: policy.keepDaily, weekly: policy.keepWeekly, monthly: policy.keepMonthly };
  for (const reason of ["daily", "weekly", "monthly"] as const) {
    const seen = new Set<string>();
    for (const b of newestFirst) {
      const bucket = buckets[reason](b.at);
      if (seen.has(bucket)) continue;
      if (seen.size >= limits[reason]) break;
      seen.add(bucket);
      mark(b.id, reason);
    }
  }
  return { keep, drop: newestFirst.filter((b) => !keep.has(b.id)).map((b) => b.id) };
}
