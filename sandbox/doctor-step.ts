// The preflight an operator runs before trusting a stack, `holdfast stack doctor`, against the sandbox's
// stack: once early (after the first backups: the backups' age has something to read, no drill has run
// yet) and again at the end (after the next night's backups and the restore drill). Its verdict: doctor
// exits 0, and every line is `ok` or a `warn`/`skip` the sandbox expects, each for a reason it names.
import type { CheckResult } from "../jobs/doctor/check";
import { formatResults } from "../jobs/doctor/check";
import type { Step } from "./steps";
import { check, StepFailure } from "./verdict";

/** A warn or skip line the sandbox's stack is expected to give, and why that is right for it. */
export interface ExpectedLine {
  status: "warn" | "skip";
  group: string;
  check: string;
  /** What the line's detail says. */
  detail: RegExp;
  /** Why the line is right for the sandbox's stack. */
  because: string;
}

/** The warn and skip lines of the dev stack wherever it runs. */
export const DEV_STACK_LINES: ExpectedLine[] = [
  {
    status: "skip",
    group: "monitoring",
    check: "crds",
    detail: /renders no Prometheus Operator objects/,
    because: "the dev stack turns prometheusRules off",
  },
  {
    status: "skip",
    group: "monitoring",
    check: "pushgateway",
    detail: /push to no Pushgateway/,
    because: "the dev stack sets no pushgatewayUrl",
  },
  {
    status: "skip",
    group: "bucket",
    check: "object lock",
    detail: /configures none/,
    because: "the dev stack configures no Object Lock",
  },
  {
    status: "warn",
    group: "image",
    check: "jobs image",
    detail: /pinned by tag only/,
    because:
      "the dev stack names the published release by tag (the sandbox's Jobs run this checkout); a production stack pins a digest",
  },
];

/** The drill line before any drill has run. */
export const NO_DRILL_YET: ExpectedLine = {
  status: "warn",
  group: "drill",
  check: "last drill",
  detail: /no finished drill is kept/,
  because: "no restore drill has run yet (the drill step runs one)",
};

/** The checks that must say `ok`, whatever else the stack leaves out. */
const MUST_PASS: [string, string][] = [
  ["cluster", "reachable"],
  ["cluster", "namespace"],
  ["access", "restore rights"],
  ["storage", "volumes"],
  ["bucket", "versioning"],
  ["backups", "newest redis"],
  ["backups", "newest lancedb"],
  ["image", "cronjobs"],
  ["image", "pullable"],
  ["image", "engine"],
];

const describe = (r: CheckResult) => `${r.status} ${r.group} ${r.check}: ${r.detail}`;

/**
 * The verdict on doctor's report (pure): the facts it establishes, or StepFailure naming each line that
 * is neither `ok` nor expected, and each check that must pass and did not.
 */
export function judgeDoctor(
  code: number | null,
  checks: CheckResult[],
  expected: ExpectedLine[],
  mustPass: [string, string][],
): string[] {
  const unexpected = checks.filter(
    (r) =>
      r.status !== "ok" &&
      !expected.some(
        (e) => e.status === r.status && e.group === r.group && e.check === r.check && e.detail.test(r.detail),
      ),
  );
  const notOk = mustPass.flatMap(([group, name]) => {
    const line = checks.find((r) => r.group === group && r.check === name);
    return line?.status === "ok" ? [] : [line ? describe(line) : `${group} ${name}: no such line`];
  });
  const count = (s: string) => checks.filter((r) => r.status === s).length;
  const facts = [
    check(
      code === 0,
      `doctor exits 0 (${count("ok")} ok, ${count("warn")} warn, ${count("skip")} not checked)`,
      `exit ${code}`,
    ),
    check(
      unexpected.length === 0,
      "every line is ok or a warn/skip this stack is expected to give",
      unexpected.map(describe).join("; "),
    ),
    check(
      notOk.length === 0,
      `${mustPass.map(([g, c]) => `${g} ${c}`).join(", ")}: ok`,
      `not ok: ${notOk.join("; ")}`,
    ),
  ];
  for (const e of expected)
    if (checks.some((r) => r.status === e.status && r.group === e.group && r.check === e.check))
      facts.push(`${e.status} ${e.group} ${e.check}: expected, ${e.because}`);
  return facts;
}

/**
 * A step running `holdfast stack doctor --json` on the sandbox's stack; `afterDrill`: the restore drill
 * has run, so its line must say ok.
 */
export function doctorStep(n: number, title: string, needs: number[], afterDrill: boolean): Step {
  return {
    n,
    title,
    needs,
    async run(ctx) {
      const r = await ctx.sandbox.holdfast(["stack", "doctor", ...ctx.sandbox.stackArgs, "--json"]);
      let report: { ok: boolean; checks: CheckResult[] };
      try {
        report = JSON.parse(r.stdout) as typeof report;
      } catch {
        throw new StepFailure(
          `doctor exited ${r.code} without a report: ${r.stderr.trim().split("\n").pop()}`,
        );
      }
      for (const line of formatResults(report.checks).split("\n")) ctx.say(`    │ ${line}`);
      const facts = judgeDoctor(
        r.code,
        report.checks,
        afterDrill ? DEV_STACK_LINES : [...DEV_STACK_LINES, NO_DRILL_YET],
        afterDrill ? [...MUST_PASS, ["drill", "last drill"]] : MUST_PASS,
      );
      const line = (group: string, name: string) =>
        report.checks.find((k) => k.group === group && k.check === name)?.detail ?? "?";
      const count = (s: string) => report.checks.filter((k) => k.status === s).length;
      return {
        summary:
          `ready: ${count("ok")} ok, ${count("warn")} warn, ${count("skip")} not checked; ` +
          `newest redis ${line("backups", "newest redis")}; ` +
          (afterDrill ? `last drill: ${line("drill", "last drill")}` : "no drill yet (warn)"),
        facts,
      };
    },
  };
}
