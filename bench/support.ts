// What the benchmarks share: their numeric flags, the version line of a baseline tool, the CLI
// compiled as the job image runs it, and a Redis dataset of incompressible values.
import { spawnSync } from "child_process";
import { randomFillSync } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type Redis from "ioredis";

const root = path.join(__dirname, "..");

/** The number after `--name` on the command line, or `fallback`. */
export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The first line a tool prints for its version (stdout, else stderr), or `unknown`. */
export function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) return "unknown";
  return (r.stdout || r.stderr).split("\n")[0].trim();
}

/**
 * Compiles the CLI with tsconfig.build.json under `work`/build, as the job image runs it (compiled
 * JavaScript, not tsx); resolves to the path of its cli.js.
 */
export function compileCli(work: string): string {
  const build = path.join(work, "build");
  fs.mkdirSync(build);
  fs.symlinkSync(path.join(root, "node_modules"), path.join(build, "node_modules"));
  // Type errors elsewhere in the tree (work in progress) do not stop tsc from emitting.
  spawnSync(
    process.execPath,
    [
      require.resolve("typescript/bin/tsc"),
      "-p",
      path.join(root, "tsconfig.build.json"),
      "--outDir",
      path.join(build, "dist"),
    ],
    { stdio: "ignore" },
  );
  const cli = path.join(build, "dist", "jobs", "cli.js");
  if (!fs.existsSync(cli)) throw new Error("the CLI did not compile (tsc -p tsconfig.build.json)");
  return cli;
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
