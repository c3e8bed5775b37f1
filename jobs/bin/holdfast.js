#!/usr/bin/env node
// Entry point of the holdfast CLI: the compiled CLI (dist/, from `npm run build`) when it is there and
// no newer than the sources it was built from (the job image holds no sources, so always there); else
// the TypeScript sources through tsx (a checkout without a fresh build: slower to start).
const path = require("path");
const fs = require("fs");

const root = path.join(__dirname, "..", "..");
const compiled = path.join(root, "dist", "jobs", "cli.js");

/** The newest modification time (ms) of the non-test .ts files under `dir`, 0 when there are none. */
function newestSource(dir) {
  let newest = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts"))
      newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function compiledIsFresh() {
  let built;
  try {
    built = fs.statSync(compiled).mtimeMs;
  } catch {
    return false;
  }
  const sources = Math.max(newestSource(path.join(root, "jobs")), newestSource(path.join(root, "core")));
  return sources <= built;
}

let cli;
if (compiledIsFresh()) cli = require(compiled);
else {
  require("tsx/cjs");
  cli = require("../cli.ts");
}
cli.main(process.argv.slice(2)).then(cli.finish);
