// The test tiers of jest.config.js, decided by what a test starts: a test that spawns a process (redis,
// sentinel, the CLI, bash, promtool...) or opens a port (s3rver, the Kubernetes API stand-in, a
// Pushgateway receiver), or opens LanceDB, is `integration`; every other test is `unit` (in-process,
// seconds). Read from each test file's text, so a new test lands in its tier by itself; a file may say
// `@tier unit` or `@tier integration` in a comment to decide for itself. The unit tier's guard
// (test/support/unit-guard.ts) fails a unit test that starts a process or opens a port after all.
const fs = require("fs");
const path = require("path");

/** What an integration test uses: process and port starters, and LanceDB. */
const STARTS =
  /child_process|\bspawn|execFile|RedisSet|S3Server|KubeApiServer|StandaloneRedis|ProcessGroup|createServer|\.listen\(|@lancedb\/lancedb|startHoldfast|\bholdfast\(|Kubelet|stack-cluster|push-receiver|promtool/;

/** Every *.test.ts under `root`, outside node_modules and dist. */
function testFiles(root, rel = "") {
  const out = [];
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name === "dist" || e.name.startsWith(".")) continue;
    const p = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...testFiles(root, p));
    else if (e.name.endsWith(".test.ts")) out.push(p);
  }
  return out.sort();
}

/** The tier of one test file. */
function tierOf(file) {
  const text = fs.readFileSync(file, "utf8");
  const declared = /@tier (unit|integration)\b/.exec(text);
  if (declared) return declared[1];
  return STARTS.test(text) ? "integration" : "unit";
}

/** The test files of each tier, as absolute paths. */
function tiers(root) {
  const out = { unit: [], integration: [] };
  for (const f of testFiles(root)) out[tierOf(path.join(root, f))].push(path.join(root, f));
  return out;
}

module.exports = { tiers, tierOf, STARTS };
