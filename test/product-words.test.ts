// The product speaks of itself alone: no tracked file cites the private operations notes Holdfast was
// first written against (their numbering, their application's names), which a reader of this repository
// does not have. Scenarios are named in Holdfast's own words ("complete loss", "partial loss", "a
// corrupted AOF", "the application's sidecar"). A PRNG's seed is fine.
import { spawnSync } from "child_process";
import * as path from "path";

const root = path.join(__dirname, "..");
const THIS_FILE = path.relative(root, __filename);

/** What must not appear: the notes' numbering and possessives, and the names of their systems. */
const FORBIDDEN = [
  "\\bthe seeds?\\b",
  "\\bseeds?'s?",
  "\\bseed[ -]?0[0-9]",
  "\\bseed scenario",
  "\\bseed-shaped",
  "\\bseeds/",
  "\\bkato\\b",
  "llm_sidecar",
  "\\bosiris\\b",
].join("|");

it("no tracked file cites the operations notes", () => {
  const hits = spawnSync(
    "git",
    ["grep", "-n", "-I", "-i", "-P", "-e", FORBIDDEN, "--", ".", `:(exclude)${THIS_FILE}`],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  expect(hits.stdout).toBe("");
  expect(hits.status).toBe(1); // 1: no match; 0 would list them, anything else is git failing
});

it("would find them if they were there: git grep with the pattern finds this file's samples", () => {
  const own = spawnSync("git", ["grep", "--no-index", "-n", "-i", "-P", "-e", FORBIDDEN, "--", THIS_FILE], {
    cwd: root,
    encoding: "utf8",
  });
  expect(own.status).toBe(0);
  expect(own.stdout).toMatch(/seed scenario 1/);
  for (const sample of ["the seed's backup", "seed 002", "seed scenario 1", "KATO reports", "llm_sidecar"])
    expect(new RegExp(FORBIDDEN, "i").test(sample)).toBe(true);
  for (const prng of ["let a = seed >>> 0;", "a seed number", "for (const seed of [11, 23])"])
    expect(new RegExp(FORBIDDEN, "i").test(prng)).toBe(false);
});
