// The last word of a Redis restore (pure): the live primary's keys per database and per pattern against
// what the backup's manifest recorded. Keys with a TTL may have expired since the backup, so a count may
// fall short by as many keys as had one; a count above the backup's means writes reached the set after
// it came back (applications reconnect as soon as the sentinels answer) and is reported, not failed. A
// count below what the backup can explain is a failed restore.
import type { RedisBackupManifest } from "../redis-backup/manifest";

/** One comparison. */
export interface CountCheck {
  name: string;
  ok: boolean;
  actual: number;
  expected: number;
  detail: string;
}

/** What a restore is compared with: keys per database and per pattern, and the keys that may expire. */
export interface ExpectedCounts {
  databases: Record<string, number>;
  patterns: Record<string, number>;
  /** Keys with a TTL per database. */
  expiring: Record<string, number>;
}

/** The counts of a manifest. */
export function expectedCounts(m: RedisBackupManifest): ExpectedCounts {
  return {
    databases: Object.fromEntries(Object.entries(m.dataset.databases).map(([db, d]) => [db, d.keys])),
    patterns: { ...m.dataset.patterns },
    expiring: Object.fromEntries(Object.entries(m.dataset.databases).map(([db, d]) => [db, d.expires ?? 0])),
  };
}

function check(name: string, actual: number, expected: number, mayExpire: number): CountCheck {
  const low = expected - mayExpire;
  const ok = actual >= low;
  const detail =
    actual === expected
      ? `${actual} (backup: ${expected})`
      : actual > expected
        ? `${actual} (backup: ${expected}; ${actual - expected} more: written since the set came back)`
        : ok
          ? `${actual} (backup: ${expected}; ${expected - actual} expired since, of ${mayExpire} with a TTL)`
          : `${actual} (backup: ${expected}; ${expected - actual} missing)`;
  return { name, ok, actual, expected, detail };
}

/** Compares the primary's counts with the backup's. */
export function compareCounts(
  expected: ExpectedCounts,
  keyspace: Record<string, number>,
  patterns: Record<string, number>,
): CountCheck[] {
  const checks: CountCheck[] = [];
  const dbs = [...new Set([...Object.keys(expected.databases), ...Object.keys(keyspace)])].sort(
    (a, b) => Number(a) - Number(b),
  );
  for (const db of dbs)
    checks.push(
      check(`DBSIZE db${db}`, keyspace[db] ?? 0, expected.databases[db] ?? 0, expected.expiring[db] ?? 0),
    );
  const allExpiring = Object.values(expected.expiring).reduce((a, b) => a + b, 0);
  for (const [p, n] of Object.entries(expected.patterns))
    checks.push(check(`keys ${p}`, patterns[p] ?? 0, n, allExpiring));
  return checks;
}
