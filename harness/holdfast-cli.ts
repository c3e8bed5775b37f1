// The holdfast CLI the tests start (HOLDFAST_BIN), and its build: compiled once for a test run, as the
// job image runs it, with `tsc -p tsconfig.build.json` (emit only, `--noCheck`: `npm run typecheck`
// checks types) into a folder laid out like the image's (dist/, jobs/bin/holdfast.js, package.json),
// cached by a hash of everything that shapes it. The integration tier's global setup builds it and names
// it in HOLDFAST_BIN, so every CLI start-up in the tests (operators' commands, the pods' init
// containers, sidecars and hooks, the Jobs) loads plain JavaScript: through tsx each took about a
// second more, most of it CPU.
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "..");

/**
 * The entry point every test starts the CLI with: HOLDFAST_BIN (the compiled build the integration
 * tier's global setup names, or the benchmarks' own), else this checkout's jobs/bin/holdfast.js (which
 * runs a fresh `npm run build`, else the sources through tsx).
 */
export const HOLDFAST_BIN = process.env.HOLDFAST_BIN || path.join(root, "jobs", "bin", "holdfast.js");

/** Every file under `dir` except tests, as absolute paths. */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".test.ts") ? [] : [p];
  });
}

/** A hash of what the build depends on: the sources it compiles, its settings, the compiler's version. */
export function cliBuildKey(from = root): string {
  const files = [
    ...sources(path.join(from, "jobs")),
    ...sources(path.join(from, "core")),
    ...["tsconfig.json", "tsconfig.build.json", "package.json"].map((f) => path.join(from, f)),
    require.resolve("typescript/package.json", { paths: [from] }),
  ];
  const hash = createHash("sha256");
  for (const f of files.sort()) hash.update(path.relative(from, f)).update(fs.readFileSync(f));
  return hash.digest("hex").slice(0, 16);
}

/**
 * The entry point (jobs/bin/holdfast.js) of the CLI compiled from the checkout at `from`, built when
 * the cache (node_modules/.cache/holdfast-cli) has no build of these sources. Runs at once in several
 * processes are safe: each builds into a folder of its own and the first to finish renames it in place.
 * @throws when tsc emits nothing (a syntax error), with its output
 */
export function compiledCli(from = root): { bin: string; built: boolean } {
  const cache = path.join(from, "node_modules", ".cache", "holdfast-cli");
  const target = path.join(cache, cliBuildKey(from));
  const bin = path.join(target, "jobs", "bin", "holdfast.js");
  if (fs.existsSync(bin)) return { bin, built: false };
  fs.mkdirSync(cache, { recursive: true });
  const work = fs.mkdtempSync(`${target}.building-`);
  try {
    const tsc = spawnSync(
      process.execPath,
      [
        require.resolve("typescript/bin/tsc", { paths: [from] }),
        "-p",
        path.join(from, "tsconfig.build.json"),
        "--noCheck",
        "--outDir",
        path.join(work, "dist"),
      ],
      { encoding: "utf8" },
    );
    if (tsc.status !== 0 || !fs.existsSync(path.join(work, "dist", "jobs", "cli.js")))
      throw new Error(
        `the CLI did not compile (tsc -p tsconfig.build.json --noCheck):\n${tsc.stdout}${tsc.stderr}`,
      );
    fs.mkdirSync(path.join(work, "jobs", "bin"), { recursive: true });
    fs.copyFileSync(
      path.join(from, "jobs", "bin", "holdfast.js"),
      path.join(work, "jobs", "bin", "holdfast.js"),
    );
    fs.copyFileSync(path.join(from, "package.json"), path.join(work, "package.json"));
    try {
      fs.renameSync(work, target);
    } catch (err) {
      // Another run finished the same build first: use that one.
      if (!fs.existsSync(bin)) throw err;
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  for (const e of fs.readdirSync(cache)) {
    const old = path.join(cache, e);
    // Builds of other sources, and folders of builds that died, once they are a day old.
    if (old !== target && Date.now() - fs.statSync(old).mtimeMs > 86_400_000)
      fs.rmSync(old, { recursive: true, force: true });
  }
  return { bin, built: true };
}
