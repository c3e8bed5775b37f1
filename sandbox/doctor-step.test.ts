// The sandbox's verdict on `holdfast stack doctor`: a report passes when doctor exited 0, every line is
// ok or an expected warn/skip, and the checks that must pass did; anything else fails and names the line.
import type { CheckResult } from "../jobs/doctor/check";
import { DEV_STACK_LINES, judgeDoctor, NO_DRILL_YET } from "./doctor-step";

const ok = (group: string, check: string): CheckResult => ({ group, check, status: "ok", detail: "fine" });
const base: CheckResult[] = [
  ok("cluster", "reachable"),
  ok("backups", "newest redis"),
  { group: "image", check: "jobs image", status: "warn", detail: "x:0.1.0 is pinned by tag only: ..." },
  { group: "drill", check: "last drill", status: "warn", detail: "no finished drill is kept in ns: ..." },
];
const mustPass: [string, string][] = [
  ["cluster", "reachable"],
  ["backups", "newest redis"],
];

test("expected warns pass, each with its reason", () => {
  const facts = judgeDoctor(0, base, [...DEV_STACK_LINES, NO_DRILL_YET], mustPass);
  expect(facts[0]).toBe("doctor exits 0 (2 ok, 2 warn, 0 not checked)");
  expect(facts).toContainEqual(expect.stringMatching(/^warn drill last drill: expected, no restore drill/));
});

test("a warn the stack is not expected to give fails, naming the line", () => {
  expect(() => judgeDoctor(0, base, DEV_STACK_LINES, mustPass)).toThrow(
    /every line is ok or a warn\/skip this stack is expected to give: warn drill last drill: no finished drill/,
  );
});

test("an exit other than 0, or a must-pass check that is not ok, fails", () => {
  expect(() => judgeDoctor(1, base, [...DEV_STACK_LINES, NO_DRILL_YET], mustPass)).toThrow(/exit 1/);
  expect(() =>
    judgeDoctor(0, base, [...DEV_STACK_LINES, NO_DRILL_YET], [...mustPass, ["storage", "volumes"]]),
  ).toThrow(/not ok: storage volumes: no such line/);
});
