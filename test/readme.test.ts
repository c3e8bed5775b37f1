// The README is the front door: its config reference is what Pulumi.yaml and the stack files say, and
// the commands it tells a newcomer to run exist.
import * as fs from "fs";
import * as path from "path";
import { configReference, MARKERS } from "../tools/config-reference";

const root = path.join(__dirname, "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");

it("carries the config reference generated from Pulumi.yaml (run `npm run docs` after changing it)", () => {
  const section = readme.slice(
    readme.indexOf(MARKERS.start) + MARKERS.start.length,
    readme.indexOf(MARKERS.end),
  );
  // Prettier pads the table's columns; compare cell by cell.
  const cells = (table: string) =>
    table
      .trim()
      .split("\n")
      .filter((row) => !/^\|[\s|-]+\|$/.test(row))
      .map((row) => row.split(/(?<!\\)\|/).map((c) => c.trim()));
  expect(cells(section)).toEqual(cells(configReference()));
});

it("names only npm scripts that exist", () => {
  const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts);
  const named = [...readme.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
  expect(named.length).toBeGreaterThan(0);
  expect(named.filter((n) => !scripts.includes(n))).toEqual([]);
});
