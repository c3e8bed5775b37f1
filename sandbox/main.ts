// `npm run sandbox`: the whole protection loop on one machine. Deploys the dev stack on loopback (real
// redis-server and redis-sentinel processes from the rendered configuration, s3rver as the bucket, a
// LanceDB writer), loads data shaped like an application's, walks through the disasters Holdfast covers
// with the real commands, prints a table of verdicts, stops every process it started and leaves its
// folder for inspection.
//   npm run sandbox -- [--short] [--step N] [--keep-running] [--json] [--dir DIR] [--engine redis8]
//                      [--runtime docker]   (every Job in the holdfast-jobs:dev image; HOLDFAST_IMAGE to change)
// Exit codes: 0 every verdict passed, 1 a verdict failed or the sandbox could not start, 2 bad input
// (or Redis is not installed).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { resultTable, seconds, type StepResult } from "./report";
import type { Sandbox, SandboxSize, Say } from "./sandbox";
import { loadRedisSample } from "./sample-data";
import { TEST_ENGINES, testEngine, type TestEngineName, useTestEngine } from "../harness/engine";
import type { SandboxState, Step } from "./steps";

/** What a run is asked to do. */
export interface SandboxOptions {
  /** Smaller data (CI). */
  short: boolean;
  /** Run only this step (and, without a verdict, the steps it needs). */
  step?: number;
  /** Leave everything running until Ctrl-C. */
  keepRunning: boolean;
  /** Print the results as JSON on stdout (the narration goes to stderr). */
  json: boolean;
  /** The sandbox's folder. */
  dir: string;
  /** The engine the Redis pods run: redis7 (Redis on PATH), redis8 or valkey8 (tools/engines.sh). */
  engine: TestEngineName;
  /** process: Jobs run this checkout's CLI; docker: Jobs run as containers of the jobs image. */
  runtime: "process" | "docker";
}

const USAGE =
  "usage: npm run sandbox -- [--short] [--step 1-10] [--keep-running] [--json] [--dir DIR] [--engine redis7|redis8|valkey8] [--runtime process|docker]";

/** Parses the command line; throws a one-line message on bad input. */
export function parseArgs(argv: string[], now = new Date()): SandboxOptions {
  const o: SandboxOptions = {
    short: false,
    keepRunning: false,
    json: false,
    engine: "redis7",
    runtime: "process",
    dir: path.join(os.tmpdir(), `holdfast-sandbox-${now.toISOString().replace(/[-:]|\.\d+/g, "")}`),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value (${USAGE})`);
      return v;
    };
    if (a === "--short") o.short = true;
    else if (a === "--keep-running") o.keepRunning = true;
    else if (a === "--json") o.json = true;
    else if (a === "--dir") o.dir = path.resolve(value());
    else if (a === "--engine") {
      const v = value();
      if (!(TEST_ENGINES as readonly string[]).includes(v))
        throw new Error(`--engine takes ${TEST_ENGINES.join(", ")}, not ${v}`);
      o.engine = v as TestEngineName;
    } else if (a === "--runtime") {
      const v = value();
      if (v !== "process" && v !== "docker") throw new Error(`--runtime takes process or docker, not ${v}`);
      o.runtime = v;
    } else if (a === "--step") {
      const v = value();
      if (!/^([1-9]|10)$/.test(v)) throw new Error(`--step takes a step number from 1 to 10, not ${v}`);
      o.step = Number(v);
    } else if (a === "--help" || a === "-h") throw new Error(USAGE);
    else throw new Error(`unknown argument ${a} (${USAGE})`);
  }
  if (fs.existsSync(o.dir) && fs.readdirSync(o.dir).length > 0)
    throw new Error(`--dir ${o.dir} is not empty: give a new or empty folder`);
  return o;
}

/**
 * Puts the chosen engine's binaries first on PATH (HOLDFAST_TEST_ENGINE for the harness); a one-line
 * message when its folder is missing.
 */
export function chooseEngine(engine: TestEngineName): string | undefined {
  process.env.HOLDFAST_TEST_ENGINE = engine;
  try {
    useTestEngine(testEngine(engine));
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** The image Jobs run in with --runtime docker. */
function jobImage(): string {
  return process.env.HOLDFAST_IMAGE ?? "holdfast-jobs:dev";
}

/** With --runtime docker: one line when the image is not there to run. */
export function missingImage(runtime: SandboxOptions["runtime"]): string | undefined {
  if (runtime !== "docker") return undefined;
  const r = spawnSync("docker", ["image", "inspect", jobImage()], { stdio: "ignore" });
  return r.status === 0
    ? undefined
    : `--runtime docker runs every Job in ${jobImage()}, which the Docker engine does not have: npm run image:build`;
}

/** What is missing for the sandbox to run, as one line with how to install it; undefined when nothing is. */
export function missingRedis(): string | undefined {
  const missing = ["redis-server", "redis-sentinel", "redis-cli"].filter(
    (bin) => spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0,
  );
  if (missing.length)
    return `the sandbox runs real Redis and needs ${missing.join(", ")} on PATH: install Redis 7 (Debian/Ubuntu: sudo apt-get install redis-server redis-sentinel redis-tools)`;
  const version = /v=(\d+)\./.exec(
    spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout ?? "",
  );
  if (!version || Number(version[1]) < 7)
    return `the sandbox needs Redis 7 or newer (its ACLs and multi-part AOF); redis-server says: ${spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout.trim()}`;
  return undefined;
}

/**
 * The modules that run the sandbox (the harness, the Pulumi rendering, LanceDB), loaded once the command
 * line and the machine are known to be fit: bad input gets its one line in a fraction of a second rather
 * than after seconds of loading.
 */
function load(): { sandbox: typeof import("./sandbox"); steps: typeof import("./steps") } {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return { sandbox: require("./sandbox"), steps: require("./steps") };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** The steps to run for `only` (every step without), each with whether it is only a prerequisite. */
export function selectSteps(only?: number): { step: Step; prerequisite: boolean }[] {
  const { STEPS } = load().steps;
  if (only === undefined) return STEPS.map((step) => ({ step, prerequisite: false }));
  const target = STEPS.find((s) => s.n === only)!;
  return [
    ...STEPS.filter((s) => target.needs.includes(s.n)).map((step) => ({ step, prerequisite: true })),
    { step: target, prerequisite: false },
  ];
}

/** Runs the sandbox; resolves to the step results. Every process it starts is stopped before it returns. */
export async function runSandbox(o: SandboxOptions, say: Say): Promise<StepResult[]> {
  const size: SandboxSize = o.short
    ? { patternsPerBase: 400, initialRows: 1000 }
    : { patternsPerBase: 2500, initialRows: 5000 };
  say(
    `holdfast sandbox: the dev stack on this machine (${o.engine}: ${spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout.split(" sha=")[0]}), under ${o.dir}` +
      (o.runtime === "docker" ? `; every Job runs in ${jobImage()}` : ""),
  );
  const t0 = Date.now();
  const { sandbox: modules, steps } = load();
  const sandbox = await modules.Sandbox.start(
    o.dir,
    size,
    say,
    o.runtime === "docker" ? jobImage() : undefined,
  );
  const stop = async () => {
    await sandbox.cleanup();
  };
  // Ctrl-C: during the steps, stop everything and exit 130; with --keep-running, end the wait. Repeated
  // signals (a terminal sends one to every process of the group, tsx relays another) are ignored.
  let onInterrupt = () => {
    onInterrupt = () => undefined;
    say("interrupted: stopping every process the sandbox started");
    void stop().then(() => process.exit(130));
  };
  const interrupted = () => onInterrupt();
  process.on("SIGINT", interrupted);
  const results: StepResult[] = [];
  try {
    const set = sandbox.cluster.set;
    const app = set.appClient();
    const keys = await loadRedisSample(app, size.patternsPerBase);
    app.disconnect();
    say(
      `ready in ${seconds((Date.now() - t0) / 1000)}: Redis ${set.data.length} data nodes + ${set.sentinels.length} sentinels ` +
        `(${keys.toLocaleString("en-US")} keys: patterns, emotives, metadata, frequencies), s3rver bucket ` +
        `${sandbox.cluster.outputs.backup.bucket}, LanceDB writer appending to proposal_log`,
    );
    const state: SandboxState = {};
    for (const { step, prerequisite } of selectSteps(o.step)) {
      say("");
      say(`▶ ${step.n}. ${step.title}${prerequisite ? " (needed by the step asked for)" : ""}`);
      const started = Date.now();
      let result: StepResult;
      try {
        const outcome = await step.run({ sandbox, say, state });
        result = {
          n: step.n,
          title: step.title,
          verdict: prerequisite ? "prerequisite" : "passed",
          seconds: (Date.now() - started) / 1000,
          summary: outcome.summary,
          facts: outcome.facts,
        };
        for (const fact of outcome.facts) say(`  ✔ ${fact}`);
      } catch (err) {
        const message = err instanceof steps.StepFailure ? err.message : `stopped: ${(err as Error).message}`;
        result = {
          n: step.n,
          title: step.title,
          verdict: "failed",
          seconds: (Date.now() - started) / 1000,
          summary: message,
          facts: [],
        };
        say(`  ✘ ${message}`);
      }
      results.push(result);
      if (result.verdict === "failed" && prerequisite) break;
    }
    say("");
    say(resultTable(results));
    say("");
    if (o.keepRunning) {
      printHowToReach(sandbox, say);
      await new Promise<void>((resolve) => {
        onInterrupt = () => {
          onInterrupt = () => undefined;
          resolve();
        };
      });
    }
  } finally {
    process.removeListener("SIGINT", interrupted);
    await stop();
  }
  say(`every process stopped; the data, logs and bucket are kept in ${o.dir}`);
  return results;
}

/** Prints how to use the running sandbox. */
function printHowToReach(sandbox: Sandbox, say: Say): void {
  const envFile = path.join(sandbox.dir, "env.sh");
  const env = { ...sandbox.cluster.env };
  fs.writeFileSync(
    envFile,
    Object.entries(env)
      .map(([k, v]) => `export ${k}='${v}'`)
      .join("\n") + "\n",
  );
  const set = sandbox.cluster.set;
  say("The sandbox keeps running. In another shell:");
  say(`  source ${envFile}`);
  say(`  npx holdfast stack list --stack dev --outputs ${sandbox.cluster.outputsFile}`);
  say(
    `  npx holdfast stack restore redis --stack dev --outputs ${sandbox.cluster.outputsFile} --backup latest --dry-run`,
  );
  say(
    `  redis-cli -p ${set.data[0].port} --user admin --pass '${set.password("admin")}'   (sentinels on ${set.sentinels.map((s) => s.port).join(", ")})`,
  );
  say("Ctrl-C stops it.");
}

async function main(argv: string[]): Promise<number> {
  // The AWS SDK's notice that it will need Node.js 22 from 2027 says nothing about the sandbox.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  let o: SandboxOptions;
  try {
    o = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`holdfast sandbox: ${(err as Error).message}\n`);
    return 2;
  }
  const missing = chooseEngine(o.engine) ?? missingRedis() ?? missingImage(o.runtime);
  if (missing) {
    process.stderr.write(`holdfast sandbox: ${missing}\n`);
    return 2;
  }
  const out = o.json ? process.stderr : process.stdout;
  const say: Say = (line) => out.write(line + "\n");
  let results: StepResult[];
  try {
    results = await runSandbox(o, say);
  } catch (err) {
    process.stderr.write(
      `holdfast sandbox: could not start: ${(err as Error).message}\n` +
        `Every process it started is stopped; its logs are in ${o.dir}.\n`,
    );
    return 1;
  }
  if (o.json) process.stdout.write(JSON.stringify({ dir: o.dir, steps: results }, null, 2) + "\n");
  return results.some((r) => r.verdict === "failed") ? 1 : 0;
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
