// The sandbox's verdict on a FLUSHALL undone with --to-time: every write acknowledged before the moment
// (but within the stream's arrival margin) must be back with its value, none sent after the FLUSHALL may
// be, and a write in between may be either; anything else fails and names the keys.
import {
  ARRIVAL_MARGIN_MS,
  judgeLedger,
  ledgerFacts,
  type LedgerWrite,
  startedFrom,
} from "./continuous-step";

const T = 1_000_000;
const FLUSH_ACKED = T + 100;
const write = (i: number, ackedAt: number): LedgerWrite => ({
  key: `ledger:${i}`,
  value: `entry ${i}`,
  sentAt: ackedAt - 1,
  ackedAt,
});
// Ten writes well before the moment, two in the margin, two between the moment and the FLUSHALL, three after.
const writes = [
  ...Array.from({ length: 10 }, (_, i) => write(i, T - 1000 + i)),
  write(10, T - 20),
  write(11, T - 10),
  write(12, T + 10),
  write(13, T + 50),
  write(14, FLUSH_ACKED + 10),
  write(15, FLUSH_ACKED + 20),
  write(16, FLUSH_ACKED + 30),
];
const restoredOf = (keys: number[], overrides: Record<string, string> = {}) =>
  new Map(keys.map((i) => [`ledger:${i}`, overrides[`ledger:${i}`] ?? `entry ${i}`]));
const TIME = new Date(T).toISOString();

test("everything before the moment back, nothing after the FLUSHALL: passes with the counts", () => {
  const counts = judgeLedger(writes, T, FLUSH_ACKED, restoredOf([...Array(12).keys(), 12]));
  expect(counts).toMatchObject({
    ackedBefore: 12,
    restored: 12,
    missing: 0,
    wrong: 0,
    extra: 0,
    between: 2,
    betweenRestored: 1,
    afterFlush: 3,
  });
  expect(ledgerFacts(counts, TIME)).toEqual([
    `writes were acknowledged before ${TIME}`,
    `every write acknowledged more than ${ARRIVAL_MARGIN_MS} ms before ${TIME} is back with its value`,
    `every one of the 12 writes acknowledged before ${TIME} is back with its value`,
    `none of the 3 writes after the FLUSHALL is back`,
  ]);
});

test("writes acknowledged within the margin before the moment may be missing: counted, not failed", () => {
  const counts = judgeLedger(writes, T, FLUSH_ACKED, restoredOf([...Array(10).keys()]));
  expect(counts).toMatchObject({ ackedBefore: 12, restored: 10, missing: 2, inMargin: 2, missingFromMs: 20 });
  expect(ledgerFacts(counts, TIME)[2]).toBe(
    `2 writes acknowledged in the last 20 ms before ${TIME} are not back: the stream received them after it`,
  );
});

test("an earlier write missing or with another value fails, naming it", () => {
  const missing = judgeLedger(writes, T, FLUSH_ACKED, restoredOf([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]));
  expect(() => ledgerFacts(missing, TIME)).toThrow(/1 missing, 0 with another value, .*missing ledger:3/);
  const wrong = judgeLedger(writes, T, FLUSH_ACKED, restoredOf([...Array(12).keys()], { "ledger:5": "x" }));
  expect(() => ledgerFacts(wrong, TIME)).toThrow(/0 missing, 1 with another value.*wrong ledger:5/);
});

test("a write after the FLUSHALL, or a key never written, back is extra and fails", () => {
  const after = judgeLedger(writes, T, FLUSH_ACKED, restoredOf([...Array(12).keys(), 15]));
  expect(after.extra).toBe(1);
  expect(() => ledgerFacts(after, TIME)).toThrow(
    /none of the 3 writes after the FLUSHALL is back: 1 extra \(extra ledger:15\)/,
  );
  const stranger = restoredOf([...Array(12).keys()]);
  stranger.set("ledger:99", "never written");
  expect(() => ledgerFacts(judgeLedger(writes, T, FLUSH_ACKED, stranger), TIME)).toThrow(/extra ledger:99/);
});

test("a writer that wrote nothing after the FLUSHALL proves nothing: fails", () => {
  const before = writes.filter((w) => w.ackedAt < FLUSH_ACKED);
  expect(() =>
    ledgerFacts(judgeLedger(before, T, FLUSH_ACKED, restoredOf([...Array(12).keys()])), TIME),
  ).toThrow(/wrote nothing after the FLUSHALL/);
});

describe("where the restore's replay started", () => {
  const out = (base: string) =>
    JSON.stringify({ ok: true, plan: { point: { base, fromOffset: 1200, bytes: 34567 } } });

  it("names a backup inside the chain apart from the chain's own base", () => {
    expect(startedFrom(out("b2"), "b1")).toBe(
      "it started from backup b2, the newest inside the stream's chain (whose base is b1), replaying 34,567 bytes of stream from offset 1200",
    );
    expect(startedFrom(out("b1"), "b1")).toBe(
      "it started from the chain's own base b1, replaying 34,567 bytes of stream from offset 1200",
    );
  });

  it("says so when the restore's output does not tell", () => {
    expect(startedFrom("not json", "b1")).toMatch(/not in the restore's output/);
    expect(startedFrom(JSON.stringify({ ok: true, plan: {} }), "b1")).toMatch(/not in the restore's output/);
  });
});
