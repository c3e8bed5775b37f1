// `npm run sandbox` as a newcomer runs it (short mode): every one of the disasters gets a passed
// verdict, the exit code says so, no process outlives it and its folder is left to inspect; bad input
// and a machine without Redis get one line and exit 2.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { StepResult } from "../sandbox/report";
import { capture, type Completed } from "../harness/processes";

jest.setTimeout(1_200_000);

const root = path.join(__dirname, "..");

function sandbox(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Completed> {
  return capture(process.execPath, ["-r", "tsx/cjs", path.join(root, "sandbox", "main.ts"), ...args], {
    cwd: root,
    env,
  });
}

/** Processes whose command line names `dir`. */
function processesUnder(dir: string): string[] {
  return spawnSync("ps", ["-eo", "args"], { encoding: "utf8" })
    .stdout.split("\n")
    .filter((l) => l.includes(dir));
}

test("the short sandbox passes all ten verdicts, stops every process and keeps its folder", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-sandbox-test-"));
  try {
    const r = await sandbox(["--short", "--json", "--dir", dir]);
    const report = JSON.parse(r.stdout) as { dir: string; steps: StepResult[] };
    const failed = report.steps.filter((s) => s.verdict !== "passed");
    expect(failed).toEqual([]);
    expect(report.steps.map((s) => s.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const step of report.steps) expect(step.facts.length).toBeGreaterThan(0);
    expect(r.code).toBe(0);
    // The narration went to stderr and ends with the table of verdicts.
    expect(r.stderr).toMatch(/^step\s+scenario\s+time\s+verdict/m);
    expect(processesUnder(dir)).toEqual([]);
    // What the user is told to inspect is there: the pods' data, the bucket, the application's log.
    expect(fs.existsSync(path.join(dir, "redis", "redis-0", "data", "appendonlydir"))).toBe(true);
    expect(fs.readdirSync(path.join(dir, "s3")).length).toBeGreaterThan(0);
    expect(fs.statSync(path.join(dir, "proposal-log-commits.jsonl")).size).toBeGreaterThan(0);
  } finally {
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("without redis-server and redis-sentinel it says how to install them, exit 2", async () => {
  const r = await sandbox(["--short"], { HOME: process.env.HOME, PATH: "/nonexistent" });
  expect(r.stderr.trim().split("\n")).toEqual([
    expect.stringMatching(
      /needs redis-server, redis-sentinel, redis-cli on PATH.*apt-get install redis-server redis-sentinel redis-tools/,
    ),
  ]);
  expect(r.code).toBe(2);
});

test("--engine redis8 without the engines' root says how to build it, exit 2", async () => {
  const r = await sandbox(["--short", "--engine", "redis8"], {
    HOME: process.env.HOME,
    PATH: process.env.PATH,
    HOLDFAST_ENGINE_ROOT: "/nonexistent/engines",
  });
  expect(r.stderr.trim().split("\n")).toEqual([
    expect.stringMatching(
      /needs \/nonexistent\/engines\/bin\/redis8: build it once with `npm run engines` \(as root\)/,
    ),
  ]);
  expect(r.code).toBe(2);
});

test.each([
  [["--step", "11"], /--step takes a step number from 1 to 10, not 11/],
  [["--fast"], /unknown argument --fast/],
  [["--dir"], /--dir needs a value/],
  [["--engine", "redis9"], /--engine takes redis7, redis8, valkey8, not redis9/],
])("bad input %j: one line, exit 2", async (args, message) => {
  const r = await sandbox(args);
  expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(message)]);
  expect(r.code).toBe(2);
});
