// `npm run policy -- --stack dev|prod [--config FILE] [--json]` and
// `npm run policy -- --program FILE.ts [--config FILE] [--json]`: runs a Pulumi program offline under
// Pulumi mocks (the Holdfast stack, or any TypeScript program), feeds every resource to the policy pack
// in policies/ exactly as the policy runtime would, and prints the violations as `pulumi preview` does.
// Exit codes: 0 no mandatory violation, 1 a mandatory violation, 2 bad input (one line on stderr).
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { runHoldfastStack, runOffline, type OfflineRun } from "./offline";
import { PackConfig, PackConfigError, parsePackConfig } from "../policies/evaluate/config";
import { Evaluation, evaluatePack, formatReport } from "../policies/evaluate/evaluate";
import type { ResourceRecord } from "../policies/evaluate/runtime";
import { PACK_ENFORCEMENT, PACK_NAME, policies } from "../policies/pack";

const ROOT = path.join(__dirname, "..");
const PACK_DIR = path.join(ROOT, "policies");
const USAGE = "usage: npm run policy -- (--stack dev|prod | --program FILE.ts) [--config FILE] [--json]";

/** Bad input: reported in one line, exit 2. */
export class UsageError extends Error {}

/** The pack's version, from its package.json (as PolicyPack reads it). */
function packVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(PACK_DIR, "package.json"), "utf8")) as { version: string })
    .version;
}

/** Reads a pack config file; the stack's own (policies/config/<stack>.json) when none is given. */
export function loadPackConfig(file: string | undefined): PackConfig {
  if (!file) return {};
  if (!fs.existsSync(file)) throw new UsageError(`no config file ${file}`);
  try {
    return parsePackConfig(
      fs.readFileSync(file, "utf8"),
      policies,
      path.relative(process.cwd(), file) || file,
    );
  } catch (err) {
    if (err instanceof PackConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** What the evaluator sees of an offline run. */
export function recordsOf(run: OfflineRun): ResourceRecord[] {
  return run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    parent: r.parent,
    inputs: r.inputs,
    outputs: r.outputs,
    protect: r.protect,
    provider: r.provider,
  }));
}

/**
 * Runs a Pulumi TypeScript program offline: its module is loaded inside the mocked stack. A program
 * registers its resources when its module first runs, so a process runs each program once (a test
 * runner's module registry keeps the first load whatever require.cache says).
 */
export async function runProgram(file: string, stack = "program"): Promise<OfflineRun> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new UsageError(`no program ${file}`);
  return runOffline(stack, {}, () => {
    // A fresh load every time: a program registers its resources when its module runs.
    delete require.cache[require.resolve(abs)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(abs) as Record<string, unknown>;
  });
}

/** What to evaluate and how. */
export interface PolicyRequest {
  stack?: string;
  program?: string;
  /** Pack config file; default policies/config/<stack>.json for a stack, none for a program. */
  config?: string;
}

/** Runs the program (or stack) and evaluates the pack over it. */
export async function evaluate(req: PolicyRequest): Promise<Evaluation> {
  if (!!req.stack === !!req.program) throw new UsageError("give exactly one of --stack and --program");
  let configFile = req.config;
  let run: OfflineRun;
  let target: string;
  if (req.stack) {
    if (!fs.existsSync(path.join(ROOT, `Pulumi.${req.stack}.yaml`)))
      throw new UsageError(`no stack "${req.stack}" (no Pulumi.${req.stack}.yaml)`);
    const own = path.join(PACK_DIR, "config", `${req.stack}.json`);
    if (!configFile && fs.existsSync(own)) configFile = own;
    const config = loadPackConfig(configFile);
    run = await runHoldfastStack(req.stack);
    target = `stack ${req.stack}`;
    return evaluateRecords(recordsOf(run), target, req.stack, config);
  }
  const config = loadPackConfig(configFile);
  try {
    run = await runProgram(req.program!);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `program ${req.program} failed under mocks: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  target = `program ${req.program}`;
  return evaluateRecords(recordsOf(run), target, "program", config);
}

/** Evaluates the pack over recorded resources with a config, as `npm run policy` does. */
export function evaluateRecords(
  records: ResourceRecord[],
  target: string,
  stack: string,
  config: PackConfig,
): Promise<Evaluation> {
  return evaluatePack(policies, records, {
    target,
    stack,
    project: "holdfast",
    pack: { name: PACK_NAME, version: packVersion(), enforcementLevel: PACK_ENFORCEMENT },
    config,
  });
}

async function main(): Promise<number> {
  let values: { stack?: string; program?: string; config?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        stack: { type: "string" },
        program: { type: "string" },
        config: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`policy: ${(err as Error).message.split("\n")[0]}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const e = await evaluate(values);
    process.stdout.write(values.json ? JSON.stringify(e, null, 2) + "\n" : formatReport(e, "policies"));
    return e.mandatory > 0 ? 1 : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`policy: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`policy: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code));
}
