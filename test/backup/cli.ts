// The holdfast CLI as a CronJob or an operator runs it: a subprocess of jobs/bin/holdfast.js with only
// the environment given (S3 endpoint and keys, Redis users), its output captured; or started in the
// background so a test can watch its log and kill it.
import { type ChildProcess, spawn } from "child_process";
import { HOLDFAST_BIN, type RedisSet } from "../../harness/redis-set";

/** A finished run. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A run in the background. */
export interface CliRun {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited. */
  done: Promise<CliResult>;
}

/** Starts `holdfast <args>` with exactly `env` (plus PATH and HOME). */
export function startHoldfast(args: string[], env: Record<string, string | undefined>): CliRun {
  const child = spawn(process.execPath, [HOLDFAST_BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, stderr: () => stderr, done };
}

/** Runs `holdfast <args>` to completion. */
export function holdfast(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return startHoldfast(args, env).done;
}

/** The JSON log lines of a run's stderr. */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The error a `--json` run reported on its stderr (`{"error": {...}}`), as `message` and `state`. */
export function jsonError(stderr: string): {
  message: string;
  state?: string;
  kind: string;
  exitCode: number;
} {
  const line = logLines(stderr).find((l) => typeof l.error === "object" && l.error !== null);
  if (!line) throw new Error(`no JSON error on stderr:\n${stderr}`);
  return line.error as { message: string; state?: string; kind: string; exitCode: number };
}

/** Where the tests keep backups. */
export const BUCKET = "holdfast-backups";

/**
 * The environment a backup CronJob of the set would give the CLI: the S3 endpoint and keys, the backup
 * user on the data nodes, the discovery user on the sentinels, the sentinels, master name, bucket and
 * prefix as HOLDFAST_* twins.
 */
export function cronEnv(
  set: RedisSet,
  s3Env: Record<string, string>,
  prefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...s3Env,
    REDIS_USERNAME: "backup",
    REDIS_PASSWORD: set.password("backup"),
    SENTINEL_USERNAME: "discovery",
    SENTINEL_PASSWORD: set.password("discovery"),
    HOLDFAST_SENTINEL: set.sentinels.map((s) => `127.0.0.1:${s.port}`).join(","),
    HOLDFAST_MASTER_NAME: set.masterName,
    HOLDFAST_BUCKET: BUCKET,
    HOLDFAST_PREFIX: prefix,
    ...extra,
  };
}
