// The last check of a Redis restore: exact counts pass, keys that may have expired since the backup are
// allowed to be missing, writes after the set came back are reported but not failed, missing keys fail.
import { compareCounts, type ExpectedCounts } from "./verify";

const expected: ExpectedCounts = {
  databases: { "0": 100, "5": 10 },
  patterns: { "*:emotives:*": 40, "*:metadata:*": 20 },
  expiring: { "0": 3, "5": 0 },
};

test("the same counts pass exactly", () => {
  const checks = compareCounts(expected, { "0": 100, "5": 10 }, { "*:emotives:*": 40, "*:metadata:*": 20 });
  expect(checks.map((c) => [c.name, c.ok, c.detail])).toEqual([
    ["DBSIZE db0", true, "100 (backup: 100)"],
    ["DBSIZE db5", true, "10 (backup: 10)"],
    ["keys *:emotives:*", true, "40 (backup: 40)"],
    ["keys *:metadata:*", true, "20 (backup: 20)"],
  ]);
});

test("keys with a TTL may have expired; more keys are writes since; fewer is a failed restore", () => {
  const checks = compareCounts(
    expected,
    { "0": 98, "5": 9, "7": 1 },
    { "*:emotives:*": 41, "*:metadata:*": 16 },
  );
  expect(checks.map((c) => [c.name, c.ok, c.detail])).toEqual([
    ["DBSIZE db0", true, "98 (backup: 100; 2 expired since, of 3 with a TTL)"],
    ["DBSIZE db5", false, "9 (backup: 10; 1 missing)"],
    ["DBSIZE db7", true, "1 (backup: 0; 1 more: written since the set came back)"],
    ["keys *:emotives:*", true, "41 (backup: 40; 1 more: written since the set came back)"],
    ["keys *:metadata:*", false, "16 (backup: 20; 4 missing)"],
  ]);
});
