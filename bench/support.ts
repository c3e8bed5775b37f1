// What the benchmarks share: their numeric flags and dataset size, the version line of a baseline tool, the CLI
// compiled as the job image runs it, a Redis dataset of incompressible values, medians and percentiles,
// a timed command, a sentinel watching a started source, and a stock redis-server serving a directory.
import { spawn, spawnSync } from "child_process";
import { randomFillSync } from "crypto";
import * as fs from "fs";
import * as path from "path";
import Redis from "ioredis";
import { freePort, type ProcessGroup, waitFor } from "../harness/processes";
import { byteSize } from "../jobs/cli/args";

const root = path.join(__dirname, "..");

/** The number after `--name` on the command line, or `fallback`. */
export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/**
 * The dataset size the command line asks for, in MiB: `--size 1GiB` (or `64MiB`, any size the CLI's
 * bytes flags take), else `--size-mib N`, else `fallbackMib`.
 */
export function sizeMib(fallbackMib: number): number {
  const i = process.argv.indexOf("--size");
  if (i >= 0) return Math.round(byteSize(process.argv[i + 1] ?? "", "--size") / 2 ** 20);
  return flag("size-mib", fallbackMib);
}

/** The first line a tool prints for its version (stdout, else stderr), or `unknown`. */
export function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) return "unknown";
  return (r.stdout || r.stderr).split("\n")[0].trim();
}

/** Bytes of each value of the benchmark's Redis datasets. */
export const VALUE = 4096;

/**
 * Fills Redis with keys `bench:<n>` from `from` on, each VALUE random bytes (incompressible), in
 * pipelines of 1000 SETs, until about `toBytes`; resolves to the next n (the key count from 0).
 */
export async function fillRandomValues(c: Redis, from: number, toBytes: number): Promise<number> {
  let n = from;
  const value = Buffer.allocUnsafe(VALUE);
  while (n * (VALUE + 20) < toBytes) {
    const p = c.pipeline();
    for (let i = 0; i < 1000; i++) {
      randomFillSync(value);
      p.set(`bench:${n++}`, Buffer.from(value));
    }
    // A refused write (maxmemory, min-replicas-to-write) is an error in the results, not a throw.
    const refused = (await p.exec())?.find(([err]) => err);
    if (refused) throw new Error(`the dataset's writes were refused: ${refused[0]?.message}`);
  }
  return n;
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on Linux). */
const TICKS = 100;

/** The fields of /proc/PID/stat after the command name (which may hold spaces), from field 3 (state) on. */
function procStat(pid: number | undefined): number[] | undefined {
  if (!pid) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
  } catch {
    return undefined;
  }
}

/** What a process has used: CPU seconds (user and system) and minor page faults. */
export interface ProcessUsage {
  cpuSeconds: number;
  /** Each one a fresh page of memory the kernel handed the process: on a VM whose memory is given
   * lazily they cost several microseconds each, and reading 50 MiB into new buffers takes 13,000. */
  pageFaults: number;
}

/**
 * What process `pid` has used, with what its children it has waited for used (a redis-server's forked
 * save, a shell's commands), from one read of /proc/PID/stat; NaN for both when it is gone.
 * @param childrenOnly count only the children's (the benchmark's own commands, from its own pid)
 */
export function processUsage(pid: number | undefined, childrenOnly = false): ProcessUsage {
  const f = procStat(pid);
  if (!f) return { cpuSeconds: NaN, pageFaults: NaN };
  const [minflt, cminflt] = f.slice(7, 9);
  const [utime, stime, cutime, cstime] = f.slice(11, 15);
  return {
    cpuSeconds: ((childrenOnly ? 0 : utime + stime) + cutime + cstime) / TICKS,
    pageFaults: (childrenOnly ? 0 : minflt) + cminflt,
  };
}

/** CPU seconds of process `pid` and its waited-for children (processUsage); NaN when it is gone. */
export function cpuSeconds(pid: number | undefined, childrenOnly = false): number {
  return processUsage(pid, childrenOnly).cpuSeconds;
}

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The `p`th percentile of `xs` (nearest rank); NaN when empty. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * Runs a command to completion; resolves to seconds of wall time and its output. Throws on a non-zero
 * exit, with the end of its stderr.
 */
export function runTimed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ seconds, stdout, stderr });
    });
  });
}

/**
 * Starts one sentinel watching the redis-server just started on `port` (as master `bench`, quorum 1),
 * and waits until that server answers.
 * @param work the benchmark's folder (the sentinel's conf and state go there)
 * @param group the process group the sentinel is started in
 */
export async function watchedSource(
  work: string,
  group: ProcessGroup,
  port: number,
): Promise<{ port: number; sentinelPort: number; redis: Redis }> {
  const sentinelPort = await freePort();
  const sentinelConf = path.join(work, "sentinel.conf");
  fs.writeFileSync(
    sentinelConf,
    [
      `port ${sentinelPort}`,
      "bind 127.0.0.1",
      `dir ${work}`,
      `sentinel monitor bench 127.0.0.1 ${port} 1`,
      "",
    ].join("\n"),
  );
  group.start("sentinel", "redis-sentinel", [sentinelConf]);
  const redis = new Redis({ port, maxRetriesPerRequest: null });
  await waitFor("redis-server", async () => (await redis.ping()) === "PONG");
  return { port, sentinelPort, redis };
}

/**
 * Starts a stock redis-server (appendonly yes unless `appendonly` is false) on `dir`, waits until it has loaded and serves, checks it
 * holds `expectKeys` keys, stops it; resolves to the seconds until it served.
 * @param usage given the server's CPU seconds and page faults once it serves (its load's cost)
 */
export async function serveDir(
  group: ProcessGroup,
  dir: string,
  expectKeys: number,
  appendonly = true,
  usage?: (server: ProcessUsage) => void,
): Promise<number> {
  const port = await freePort();
  const t0 = Date.now();
  const child = group.start(`serve-${port}`, "redis-server", [
    ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
    ...["--appendonly", appendonly ? "yes" : "no", "--save", ""],
  ]);
  // No ready check: ioredis's own waits, when it connects during the load, as long as the server's
  // loading ETA (at least 1 s) before it looks again, and would be counted as the baseline's load.
  const c = new Redis({
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  c.on("error", () => undefined);
  try {
    await waitFor(
      "the redis-server to serve",
      async () => {
        if (c.status !== "ready") {
          c.disconnect();
          await c.connect();
        }
        return /^loading:0/m.test(String(await c.info("persistence")));
      },
      600_000,
      20,
    );
    const seconds = (Date.now() - t0) / 1000;
    const keys = await c.dbsize();
    if (keys !== expectKeys)
      throw new Error(`the server on ${dir} holds ${keys} keys, ${expectKeys} expected`);
    usage?.(processUsage(child.pid));
    return seconds;
  } finally {
    c.disconnect();
    await group.stop(child, "SIGKILL");
  }
}

/**
 * Writes a benchmark's raw results as `bench/results/<name>-<time>.json` and says where.
 * @param name the benchmark's name, the file's prefix (`redis-backup`).
 * @param results what the run measured, with its machine and load.
 */
export function writeResults(name: string, results: unknown): string {
  const out = path.join(
    root,
    "bench",
    "results",
    `${name}-${new Date().toISOString().replace(/[:.]/g, "")}.json`,
  );
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  console.log(`results: ${path.relative(root, out)}`);
  return out;
}
