// @tier unit
// The order Jest starts test files in: the longest first, from Jest's own record when it has one, else
// from the table of known times, so a fresh clone's two workers finish together.
import * as fs from "fs";
import * as path from "path";

interface File {
  rel: string;
  ms?: number;
  failed?: boolean;
  size: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { order, SECONDS } = require("./test-order") as {
  order: (files: File[]) => File[];
  SECONDS: Record<string, number>;
};

const root = path.join(__dirname, "..");
const names = (files: File[]) => order(files).map((f) => f.rel);

it("starts the longest known files first in a fresh clone, whatever their size", () => {
  const files: File[] = [
    { rel: "test/backup/catalogue.test.ts", size: 13_000 },
    { rel: "jobs/cli/args.test.ts", size: 9_000 },
    { rel: "test/sandbox.test.ts", size: 3_000 },
    { rel: "test/backup/faults.test.ts", size: 15_000 },
    { rel: "jobs/stack/plan.test.ts", size: 12_000 },
  ];
  expect(names(files)).toEqual([
    "test/sandbox.test.ts",
    "test/backup/faults.test.ts",
    "test/backup/catalogue.test.ts",
    // Neither in the table nor recorded: after the known ones, the larger first.
    "jobs/stack/plan.test.ts",
    "jobs/cli/args.test.ts",
  ]);
});

it("prefers Jest's record of this machine's last run, and still starts a file that failed first", () => {
  const files: File[] = [
    { rel: "test/sandbox.test.ts", ms: 20_000, size: 3_000 },
    { rel: "test/backup/faults.test.ts", ms: 150_000, size: 15_000 },
    { rel: "jobs/cli/args.test.ts", ms: 300, failed: true, size: 9_000 },
    { rel: "jobs/stack/plan.test.ts", ms: 40_000, size: 12_000 },
  ];
  expect(names(files)).toEqual([
    "jobs/cli/args.test.ts",
    "test/backup/faults.test.ts",
    "jobs/stack/plan.test.ts",
    "test/sandbox.test.ts",
  ]);
});

it("lists only test files that exist", () => {
  const missing = Object.keys(SECONDS).filter((f) => !fs.existsSync(path.join(root, f)));
  expect(missing).toEqual([]);
  expect(Object.keys(SECONDS).every((f) => f.endsWith(".test.ts"))).toBe(true);
});
