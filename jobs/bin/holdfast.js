#!/usr/bin/env node
// Entry point of the holdfast CLI: the compiled CLI in the job image, the TypeScript source through tsx in a checkout.
const path = require("path");
const fs = require("fs");
const compiled = path.join(__dirname, "..", "..", "dist", "jobs", "cli.js");
if (fs.existsSync(compiled)) {
  require(compiled)
    .main(process.argv.slice(2))
    .then((code) => (process.exitCode = code));
} else {
  require("tsx/cjs");
  require("../cli.ts")
    .main(process.argv.slice(2))
    .then((code) => (process.exitCode = code));
}
