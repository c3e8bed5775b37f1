// Continuous protection against an admin's FLUSHALL under load: the stack's stream (the `redis-stream`
// Deployment) ships every write to the bucket; a writer keeps adding unique keys and records when each
// was acknowledged; the admin runs FLUSHALL; the writer goes on a little; then `holdfast stack restore
// redis --to-time` brings the set back to a moment just before the FLUSHALL. Its verdict: every write
// acknowledged before that moment is back with its value, no write after the FLUSHALL is, and every
// other key is as it was.
import type Redis from "ioredis";
import { compareSnapshots, snapshotDataset, type KeySnapshot } from "../harness/redis-dataset";
import { waitFor } from "../harness/processes";
import type { Sandbox } from "./sandbox";
import type { Step, StepContext } from "./steps";
import { check, succeeded } from "./verdict";

/** The writer's keys. */
export const LEDGER_PREFIX = "ledger:";
/** How long the writer writes before the FLUSHALL, and after it. */
const LOAD_BEFORE_FLUSH_MS = 3000;
const LOAD_AFTER_FLUSH_MS = 1500;
/**
 * A write's time in the stream is when it reached the stream, not when the primary acknowledged it: on a
 * busy machine the stream reads the replication bytes late, so a write acknowledged just before the
 * moment may come after the cut. Writes acknowledged within this margin before the moment may be missing
 * (counted apart); every earlier one must be back.
 */
export const ARRIVAL_MARGIN_MS = 250;
/** How long before the FLUSHALL the restore's moment is. */
export const BEFORE_FLUSH_MS = 100;

/** One write of the writer, with when it was sent and acknowledged (ms since the epoch). */
export interface LedgerWrite {
  key: string;
  value: string;
  sentAt: number;
  ackedAt: number;
}

/** What the restored set holds against what was written. */
export interface LedgerCounts {
  /** Writes acknowledged before the moment restored to. */
  ackedBefore: number;
  /** Of those, back with their value. */
  restored: number;
  /** Of those, absent. */
  missing: number;
  /** Of those, back with another value. */
  wrong: number;
  /** Of the missing and wrong, those acknowledged within the arrival margin before the moment. */
  inMargin: number;
  /** The earliest acknowledgement of a missing or wrong write, in ms before the moment (0: none). */
  missingFromMs: number;
  /** Writer keys present that must not be: written after the FLUSHALL, or never written. */
  extra: number;
  /** Writes acknowledged between the moment and the FLUSHALL (either way is right), and how many are back. */
  between: number;
  betweenRestored: number;
  /** Writes sent after the FLUSHALL was acknowledged. */
  afterFlush: number;
  /** A few of the keys at fault, for the verdict's message. */
  examples: string[];
}

/**
 * Compares the writer's keys in the restored set (`restored`: key -> value) with its writes: a write
 * acknowledged before `toTime` must be back with its value; one sent after the FLUSHALL was acknowledged
 * (`flushAckedAt`) must not; one in between may be either. Keys the writer never wrote count as extra.
 */
export function judgeLedger(
  writes: LedgerWrite[],
  toTime: number,
  flushAckedAt: number,
  restored: Map<string, string>,
  marginMs = ARRIVAL_MARGIN_MS,
): LedgerCounts {
  const c: LedgerCounts = {
    ackedBefore: 0,
    restored: 0,
    missing: 0,
    wrong: 0,
    inMargin: 0,
    missingFromMs: 0,
    extra: 0,
    between: 0,
    betweenRestored: 0,
    afterFlush: 0,
    examples: [],
  };
  const allowed = new Set<string>();
  for (const w of writes) {
    const got = restored.get(w.key);
    if (w.ackedAt < toTime) {
      allowed.add(w.key);
      c.ackedBefore++;
      if (got === w.value) c.restored++;
      else {
        if (got === undefined) c.missing++;
        else c.wrong++;
        if (w.ackedAt >= toTime - marginMs) c.inMargin++;
        c.missingFromMs = Math.max(c.missingFromMs, toTime - w.ackedAt);
        if (c.examples.length < 3) c.examples.push(`${got === undefined ? "missing" : "wrong"} ${w.key}`);
      }
    } else if (w.sentAt > flushAckedAt) c.afterFlush++;
    else {
      allowed.add(w.key);
      c.between++;
      if (got === w.value) c.betweenRestored++;
    }
  }
  for (const key of restored.keys())
    if (!allowed.has(key)) {
      c.extra++;
      if (c.examples.length < 6) c.examples.push(`extra ${key}`);
    }
  return c;
}

/** The verdict's facts on `counts`; throws StepFailure on the first that does not hold. */
export function ledgerFacts(counts: LedgerCounts, toTime: string): string[] {
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    check(counts.ackedBefore > 0, `writes were acknowledged before ${toTime}`),
    check(
      counts.missing + counts.wrong === counts.inMargin,
      `every write acknowledged more than ${ARRIVAL_MARGIN_MS} ms before ${toTime} is back with its value`,
      `${n(counts.missing)} missing, ${n(counts.wrong)} with another value, the earliest acknowledged ${n(counts.missingFromMs)} ms before (${counts.examples.join(", ")})`,
    ),
    counts.inMargin === 0
      ? `every one of the ${n(counts.ackedBefore)} writes acknowledged before ${toTime} is back with its value`
      : `${n(counts.inMargin)} writes acknowledged in the last ${n(counts.missingFromMs)} ms before ${toTime} are not back: the stream received them after it`,
    check(
      counts.afterFlush > 0 && counts.extra === 0,
      `none of the ${n(counts.afterFlush)} writes after the FLUSHALL is back`,
      counts.afterFlush === 0
        ? "the writer wrote nothing after the FLUSHALL"
        : `${n(counts.extra)} extra (${counts.examples.join(", ")})`,
    ),
  ];
}

/** The writer: unique keys one at a time, each with when it was sent and acknowledged. */
class LedgerWriter {
  readonly acked: LedgerWrite[] = [];
  errors = 0;
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly client: Redis) {}

  start(): void {
    const run = Date.now().toString(36);
    this.done = (async () => {
      for (let i = 0; !this.stopped; i++) {
        const key = `${LEDGER_PREFIX}${i}`;
        const value = `entry ${i} of run ${run}`;
        const sentAt = Date.now();
        try {
          await this.client.set(key, value);
          this.acked.push({ key, value, sentAt, ackedAt: Date.now() });
        } catch {
          this.errors++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** The stream's newest durable command (ms), from `holdfast stack status`; undefined without a stream. */
async function streamNewest(sandbox: Sandbox): Promise<number | undefined> {
  const newest = (await streamStatus(sandbox))?.newest;
  return newest ? Date.parse(newest) : undefined;
}

/** The stream's part of `stack status --store redis --json`: its newest chain's base, its newest command. */
async function streamStatus(sandbox: Sandbox): Promise<{ base?: string; newest?: string } | undefined> {
  const r = await sandbox.holdfast(["stack", "status", ...sandbox.stackArgs, "--store", "redis", "--json"], {
    quiet: true,
  });
  try {
    const [redis] = JSON.parse(r.stdout) as { stream?: { base?: string; newest?: string } }[];
    return redis?.stream;
  } catch {
    return undefined;
  }
}

/** Where the restore's replay started: the backup, and whether it is the chain's own base. */
export function startedFrom(stdout: string, chainBase: string | undefined): string {
  let point: { base?: string; fromOffset?: number; bytes?: number } | undefined;
  try {
    point = (JSON.parse(stdout) as { plan?: { point?: typeof point } }).plan?.point;
  } catch {
    return "where the replay started is not in the restore's output";
  }
  if (!point?.base) return "where the replay started is not in the restore's output";
  const replayed = `replaying ${(point.bytes ?? 0).toLocaleString("en-US")} bytes of stream from offset ${point.fromOffset}`;
  return point.base === chainBase
    ? `it started from the chain's own base ${point.base}, ${replayed}`
    : `it started from backup ${point.base}, the newest inside the stream's chain (whose base is ${chainBase ?? "unknown"}), ${replayed}`;
}

/** Every writer key of the set with its value. */
async function ledgerKeys(admin: Redis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${LEDGER_PREFIX}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const values = await admin.mget(keys);
    keys.forEach((k, i) => values[i] !== null && out.set(k, values[i]!));
  } while (cursor !== "0");
  return out;
}

/** A snapshot without the writer's keys (what the FLUSHALL took besides them). */
function withoutLedger(snapshot: Map<string, KeySnapshot>): Map<string, KeySnapshot> {
  const prefix = Buffer.from(LEDGER_PREFIX);
  return new Map(
    [...snapshot].filter(
      ([k]) =>
        !Buffer.from(k.slice(k.indexOf(":") + 1), "base64")
          .subarray(0, prefix.length)
          .equals(prefix),
    ),
  );
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The step: see the module comment. */
export function continuousStep(n: number, title: string): Step {
  return {
    n,
    title,
    needs: [],
    async run(ctx: StepContext) {
      const { sandbox, say } = ctx;
      const set = sandbox.cluster.set;
      await waitFor(
        "the stream to ship the set's writes",
        async () => (await streamNewest(sandbox)) !== undefined,
        120_000,
        1000,
      );
      const admin = await sandbox.admin();
      const others = withoutLedger(await snapshotDataset(admin, [0]));
      const writer = new LedgerWriter(set.appClient());
      writer.start();
      const loadFrom = Date.now();
      await waitFor(
        "the writer's first 2,000 acknowledged writes",
        () => writer.acked.length >= 2000,
        60_000,
      );
      await wait(LOAD_BEFORE_FLUSH_MS - (Date.now() - loadFrom));
      say(
        `  > FLUSHALL   (as user admin; the writer has ${writer.acked.length.toLocaleString("en-US")} acknowledged writes)`,
      );
      const flushSentAt = Date.now();
      await admin.flushall();
      const flushAckedAt = Date.now();
      const toTime = new Date(flushSentAt - BEFORE_FLUSH_MS).toISOString();
      await wait(LOAD_AFTER_FLUSH_MS);
      await writer.stop();
      say(
        `    │ the writer went on for ${LOAD_AFTER_FLUSH_MS / 1000} s: ${writer.acked.filter((w) => w.sentAt > flushAckedAt).length.toLocaleString("en-US")} writes after the FLUSHALL`,
      );
      await waitFor(
        "the stream to have the FLUSHALL in the bucket",
        async () => ((await streamNewest(sandbox)) ?? 0) >= flushAckedAt,
        60_000,
        500,
      );
      const chainBase = (await streamStatus(sandbox))?.base;
      say(`  > restore the set to ${toTime}, ${BEFORE_FLUSH_MS} ms before the FLUSHALL`);
      const restoreAt = Date.now();
      const r = await sandbox.holdfast([
        "stack",
        "restore",
        "redis",
        ...sandbox.stackArgs,
        "--to-time",
        toTime,
        "--yes",
        "--json",
      ]);
      succeeded(r, "stack restore redis --to-time");
      const restoreSeconds = (Date.now() - restoreAt) / 1000;
      say(`    │ restored in ${restoreSeconds.toFixed(1)} s; comparing every key with what was written`);
      const after = await sandbox.admin();
      const counts = judgeLedger(writer.acked, Date.parse(toTime), flushAckedAt, await ledgerKeys(after));
      const problems = compareSnapshots(others, withoutLedger(await snapshotDataset(after, [0])), 120_000);
      const num = (x: number) => x.toLocaleString("en-US");
      return {
        summary:
          `FLUSHALL undone to ${BEFORE_FLUSH_MS} ms before it in ${restoreSeconds.toFixed(1)} s: ` +
          `${num(counts.ackedBefore)} acknowledged before, ${num(counts.restored)} restored, ${num(counts.missing + counts.wrong)} missing${counts.inMargin ? ` (acknowledged in its last ${num(counts.missingFromMs)} ms)` : ""}, ${num(counts.extra)} extra ` +
          `(${num(counts.betweenRestored)} of ${num(counts.between)} in the last ${BEFORE_FLUSH_MS} ms back; ${num(counts.afterFlush)} after the FLUSHALL)`,
        facts: [
          ...ledgerFacts(counts, toTime),
          check(
            problems.length === 0,
            `every other key (${num(others.size)}) is back with its type, value and TTL`,
            `${problems.length} differences, e.g. ${problems.slice(0, 3).join("; ")}`,
          ),
          startedFrom(r.stdout, chainBase),
          `the restore took ${restoreSeconds.toFixed(1)} s; the writer saw ${num(writer.errors)} errors`,
        ],
      };
    },
  };
}
