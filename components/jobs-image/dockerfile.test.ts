// jobs/Dockerfile, checked by reading it (test/image/ builds and runs it in a Docker engine): pinned bases,
// Redis from the data pods' image, a non-root runtime without build tools that works on a read-only root
// filesystem, a build stage that has everything the CLI imports, proven by replaying its COPYs and
// compiling, and runtime dependencies that are exactly the packages the CLI loads (no Pulumi SDK).
import { spawnSync } from "child_process";
import { builtinModules } from "module";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readConfigSchema } from "../../config";
import { DEFAULT_REDIS_IMAGE } from "../redis/sentinel-redis";
import { EXCLUDED_FROM_CONTEXT } from "./build-context";
import {
  Dockerfile,
  Instruction,
  Stage,
  aptPackages,
  copySpec,
  instructionsOf,
  parseDockerfile,
  shellCommands,
  stageNamed,
  stageUser,
  substituteArgs,
  words,
} from "./dockerfile";

const ROOT = path.join(__dirname, "..", "..");
const DOCKERFILE = path.join(ROOT, "jobs", "Dockerfile");

function jobsDockerfile(): Dockerfile {
  return parseDockerfile(fs.readFileSync(DOCKERFILE, "utf8"));
}

function finalStage(file: Dockerfile): Stage {
  return file.stages[file.stages.length - 1];
}

function runCommands(stage: Stage): string[] {
  return instructionsOf(stage, "RUN").flatMap(shellCommands);
}

/** `ENV A=1 B=2` as a map, over every ENV of a stage. */
function stageEnv(stage: Stage): Record<string, string> {
  return Object.fromEntries(
    instructionsOf(stage, "ENV")
      .flatMap((i: Instruction) => i.args.split(/\s+/))
      .filter((w) => w.includes("="))
      .map((w) => w.split("=", 2) as [string, string]),
  );
}

/** An image reference pinned to an exact version (x.y.z) or a digest, never a moving tag. */
const PINNED = /^(?:[\w.-]+(?::\d+)?\/)*[\w.-]+(?::\d+\.\d+\.\d+(?:-[\w.-]+)?|@sha256:[0-9a-f]{64})$/;

/** Packages that compile or fetch code; none belongs in the runtime image. */
const BUILD_TOOLS = [
  "build-essential",
  "gcc",
  "g++",
  "make",
  "cmake",
  "autoconf",
  "automake",
  "libtool",
  "pkg-config",
  "python3",
  "git",
  "curl",
  "wget",
  "libssl-dev",
];

describe("parseDockerfile", () => {
  const text = [
    "# syntax=docker/dockerfile:1",
    "ARG BASE=debian:12.8-slim",
    "FROM ${BASE} AS Build",
    "RUN apt-get update \\",
    "  # a comment inside a continued line",
    " && apt-get install -y --no-install-recommends gcc make \\",
    " && echo done",
    "COPY --from=other --chmod=0755 a b /dest/",
    "FROM scratch",
    'ENTRYPOINT ["/bin/app", "--flag"]',
    "USER 10:10",
  ].join("\n");

  it("splits stages, substitutes build arguments and joins continued lines", () => {
    const file = parseDockerfile(text);
    expect(file.globalArgs).toEqual({ BASE: "debian:12.8-slim" });
    expect(file.stages.map((s) => [s.name, s.base])).toEqual([
      ["build", "debian:12.8-slim"],
      [undefined, "scratch"],
    ]);
    expect(runCommands(file.stages[0])).toEqual([
      "apt-get update",
      "apt-get install -y --no-install-recommends gcc make",
      "echo done",
    ]);
    expect(aptPackages(file.stages[0])).toEqual(["gcc", "make"]);
    expect(parseDockerfile(text, { BASE: "alpine:3.20.3" }).stages[0].base).toBe("alpine:3.20.3");
  });

  it("reads flags, exec form and users", () => {
    const file = parseDockerfile(text);
    const copy = instructionsOf(file.stages[0], "COPY")[0];
    expect(copy.flags).toEqual({ from: "other", chmod: "0755" });
    expect(copySpec(copy)).toEqual({ from: "other", sources: ["a", "b"], destination: "/dest/" });
    expect(words(instructionsOf(file.stages[1], "ENTRYPOINT")[0])).toEqual(["/bin/app", "--flag"]);
    expect(stageUser(file.stages[1])).toBe("10:10");
    expect(stageUser(file.stages[0])).toBeUndefined();
  });

  it("refuses instructions other than ARG before the first FROM", () => {
    expect(() => parseDockerfile("RUN true\nFROM x:1.2.3")).toThrow(/only ARG/);
  });
});

describe("jobs/Dockerfile", () => {
  const file = jobsDockerfile();
  const runtime = finalStage(file);

  it("is multi-stage: Redis binaries, a build, production dependencies and the runtime", () => {
    expect(file.stages.map((s) => s.name)).toEqual(["redis", "build", "deps", "runtime"]);
  });

  it("pins every base image to an exact version", () => {
    const stageNames = new Set<string>();
    for (const stage of file.stages) {
      if (!stageNames.has(stage.base))
        expect([stage.base, PINNED.test(stage.base)]).toEqual([stage.base, true]);
      if (stage.name) stageNames.add(stage.name);
    }
    expect(file.globalArgs.NODE_IMAGE).toMatch(/^node:22\.\d+\.\d+-bookworm-slim$/);
    expect(PINNED.test("node:22-bookworm-slim")).toBe(false);
    expect(PINNED.test("redis:latest")).toBe(false);
  });

  it("takes redis-server from the very image the data pods run, on the same Debian release as Node", () => {
    const configured = readConfigSchema().redisImage.default;
    expect(file.globalArgs.REDIS_IMAGE).toBe(DEFAULT_REDIS_IMAGE);
    expect(file.globalArgs.REDIS_IMAGE).toBe(configured);
    expect(stageNamed(file, "redis").base).toBe(configured);
    // glibc binaries: both images are Debian bookworm.
    expect(file.globalArgs.NODE_IMAGE.split("-")[1]).toBe("bookworm");
    expect(file.globalArgs.REDIS_IMAGE.split("-")[1]).toBe("bookworm");

    const fromRedis = instructionsOf(runtime, "COPY")
      .map(copySpec)
      .filter((c) => c.from === "redis");
    // The engine's own binaries (REDIS_ENGINE: redis or valkey), and the redis-* names for Valkey.
    expect(file.globalArgs.REDIS_ENGINE).toBe("redis");
    for (const engine of ["redis", "valkey"])
      expect(
        fromRedis.flatMap((c) => c.sources).map((x) => substituteArgs(x, { REDIS_ENGINE: engine })),
      ).toEqual([`/usr/local/bin/${engine}-server`, `/usr/local/bin/${engine}-cli`]);
    const commands = runCommands(runtime);
    const joined = commands.join("; ");
    expect(joined).toContain(
      "for n in check-aof check-rdb sentinel; do ln -s ${REDIS_ENGINE}-server /usr/local/bin/${REDIS_ENGINE}-$n; done",
    );
    expect(joined).toContain(
      "for n in server check-aof check-rdb sentinel; do ln -s ${REDIS_ENGINE}-server /usr/local/bin/redis-$n; done",
    );
    // The build fails if a library redis-server needs is missing.
    expect(commands).toContain("redis-server --version");
    expect(aptPackages(runtime)).toContain("libssl3");
  });

  it("does not install Debian's redis-server or redis-tools (Redis 7.0, older than the pods')", () => {
    for (const stage of file.stages) {
      expect(aptPackages(stage).filter((p) => p.startsWith("redis"))).toEqual([]);
    }
  });

  it("runs as a non-root user by numeric id", () => {
    const user = stageUser(runtime);
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user!.split(":")[0])).toBeGreaterThan(0);
    expect(runCommands(runtime).join("\n")).toContain(`useradd --system --uid ${user!.split(":")[0]}`);
  });

  it("works on a read-only root filesystem: HOME and TMPDIR on the /tmp volume", () => {
    expect(stageEnv(runtime)).toMatchObject({ HOME: "/tmp", TMPDIR: "/tmp", NODE_ENV: "production" });
    expect(words(instructionsOf(runtime, "VOLUME")[0])).toEqual(["/tmp"]);
  });

  it("puts the CLI on PATH as `holdfast`, the command the pods run, behind an init process", () => {
    const commands = runCommands(runtime);
    expect(commands).toContain("ln -s /app/jobs/bin/holdfast.js /usr/local/bin/holdfast");
    expect(commands).toContain("holdfast --help");
    expect(words(instructionsOf(runtime, "ENTRYPOINT")[0])).toEqual(["/usr/bin/tini", "--", "holdfast"]);
    expect(aptPackages(runtime)).toContain("tini");
  });

  it("has no build tools in the final stage", () => {
    expect(aptPackages(runtime).filter((p) => BUILD_TOOLS.includes(p))).toEqual([]);
    const commands = runCommands(runtime);
    expect(commands.filter((c) => /\b(npm|npx|yarn|tsc|corepack)\s/.test(c) && !c.startsWith("rm "))).toEqual(
      [],
    );
    // The package managers the Node image ships are removed.
    const removal = commands.find((c) => c.startsWith("rm -rf /usr/local/lib/node_modules/npm"));
    expect(removal).toBeDefined();
    for (const tool of [
      "/usr/local/bin/npm",
      "/usr/local/bin/npx",
      "/usr/local/bin/corepack",
      "/usr/local/bin/yarn",
    ])
      expect(removal!.split(/\s+/)).toContain(tool);
  });

  it("copies only compiled output from the build stage and only runtime dependencies", () => {
    const fromStages = instructionsOf(runtime, "COPY")
      .map(copySpec)
      .filter((c) => c.from && c.from !== "redis");
    expect(fromStages).toEqual([
      { from: "deps", sources: ["/src/node_modules"], destination: "./node_modules" },
      { from: "build", sources: ["/src/dist"], destination: "./dist" },
    ]);
    const deps = stageNamed(file, "deps");
    expect(instructionsOf(deps, "COPY").map(copySpec)[0].sources).toEqual([
      "package.json",
      "package-lock.json",
      "jobs/image-dependencies.json",
    ]);
    const commands = runCommands(deps);
    const install = commands.find((c) => c.startsWith("npm install"));
    expect(install?.split(/\s+/)).toEqual(expect.arrayContaining(["--omit=dev", "--ignore-scripts"]));
    // package.json is cut down to the image's dependencies before the install, which keeps the lockfile's versions.
    expect(commands.findIndex((c) => c.includes("image-dependencies.json"))).toBeLessThan(
      commands.indexOf(install!),
    );
  });

  it("runs on the Node.js lines package.json engines names", () => {
    const engines = (
      JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
        engines: { node: string };
      }
    ).engines.node;
    const major = /^node:(\d+)\./.exec(file.globalArgs.NODE_IMAGE)![1];
    expect(engines.split("||").map((r) => r.trim().replace(/^\^(\d+)\..*$/, "$1"))).toContain(major);
  });

  it("keeps tests and local state out of the build context", () => {
    const ignore = fs.readFileSync(path.join(ROOT, ".dockerignore"), "utf8").split("\n");
    expect(ignore[ignore.findIndex((l) => !l.startsWith("#"))]).toBe("*");
    expect(ignore).toContain("**/*.test.ts");
    expect(EXCLUDED_FROM_CONTEXT.some((re) => re.test("jobs/cli.test.ts"))).toBe(true);
  });
});

/** Files reached from `entry` by relative imports, relative to ROOT. */
function importedFiles(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    const relative = path.relative(ROOT, file);
    if (seen.has(relative)) return;
    seen.add(relative);
    const text = fs.readFileSync(file, "utf8");
    const specs = [
      ...text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g),
    ];
    for (const [, spec] of specs) {
      const base = path.resolve(path.dirname(file), spec);
      const found = [`${base}.ts`, path.join(base, "index.ts"), base].find(
        (f) => fs.existsSync(f) && fs.statSync(f).isFile(),
      );
      if (!found) throw new Error(`${relative} imports ${spec}, which does not exist`);
      visit(found);
    }
  };
  visit(path.join(ROOT, entry));
  return [...seen].sort();
}

/** The packages (not Node.js built-ins) the files reached from `entry` import or require. */
function importedPackages(entry: string): string[] {
  const names = new Set<string>();
  for (const file of importedFiles(entry)) {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    for (const [, spec] of text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)["']([^."'][^"']*)["']/g)) {
      const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
      if (!builtinModules.includes(name) && !name.startsWith("node:")) names.add(name);
    }
  }
  return [...names].sort();
}

/** The image's dependencies: jobs/image-dependencies.json. */
const IMAGE_DEPENDENCIES = JSON.parse(
  fs.readFileSync(path.join(ROOT, "jobs", "image-dependencies.json"), "utf8"),
) as string[];

interface LockEntry {
  dev?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * The lockfile paths (node_modules/...) `npm install --omit=dev` puts in the image: the image's
 * dependencies and everything they depend on, resolved as Node.js does (nested node_modules first).
 */
function imageClosure(): string[] {
  const lock = (
    JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, LockEntry>;
    }
  ).packages;
  const seen = new Set<string>();
  const resolve = (from: string, name: string): string | undefined => {
    for (let dir = from; ; dir = dir.slice(0, dir.lastIndexOf("/node_modules"))) {
      const candidate = `${dir ? `${dir}/` : ""}node_modules/${name}`;
      if (lock[candidate]) return candidate;
      if (!dir) return undefined;
    }
  };
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const e = lock[key];
    for (const name of Object.keys({ ...e.dependencies, ...e.optionalDependencies, ...e.peerDependencies })) {
      const found = resolve(key, name);
      if (found) visit(found);
    }
  };
  for (const name of IMAGE_DEPENDENCIES) visit(`node_modules/${name}`);
  return [...seen].sort();
}

describe("the image's runtime dependencies (jobs/image-dependencies.json)", () => {
  it("are the packages the CLI loads, and the peers they need (apache-arrow for LanceDB)", () => {
    // The Automation API is required only by the stack commands, and only when a Pulumi CLI is present;
    // the image leaves it out (those commands read --outputs FILE there).
    const loaded = importedPackages("jobs/cli.ts").filter((n) => n !== "@pulumi/pulumi");
    expect(loaded.length).toBeGreaterThan(3);
    expect([...IMAGE_DEPENDENCIES].sort()).toEqual([...loaded, "apache-arrow"].sort());
    const lancedb = JSON.parse(
      fs.readFileSync(path.join(ROOT, "node_modules/@lancedb/lancedb/package.json"), "utf8"),
    ) as { peerDependencies: Record<string, string> };
    expect(Object.keys(lancedb.peerDependencies)).toContain("apache-arrow");
  });

  it("are production dependencies of package.json", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(IMAGE_DEPENDENCIES.filter((n) => !pkg.dependencies[n])).toEqual([]);
  });

  it("hold no Pulumi SDK, provider or policy package", () => {
    const closure = imageClosure();
    expect(closure.length).toBeGreaterThan(20);
    expect(closure.filter((k) => /node_modules\/@pulumi\//.test(k))).toEqual([]);
  });
});

/** Every .ts file under a repository folder, repository-relative. */
function sourcesUnder(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? sourcesUnder(path.posix.join(dir, e.name))
        : e.name.endsWith(".ts")
          ? [path.posix.join(dir, e.name)]
          : [],
    );
}

/** Copies what a stage's context COPYs into `dir` (the stage's WORKDIR), as the build would. */
function replayContextCopies(stage: Stage, dir: string): void {
  for (const ins of instructionsOf(stage, "COPY").filter((i) => !i.flags.from)) {
    const { sources, destination } = copySpec(ins);
    for (const source of sources) {
      const from = path.join(ROOT, source);
      const to = destination.endsWith("/")
        ? path.join(dir, destination, fs.statSync(from).isDirectory() ? "" : path.basename(source))
        : path.join(dir, destination);
      fs.cpSync(from, to, {
        recursive: true,
        filter: (f) => !EXCLUDED_FROM_CONTEXT.some((re) => re.test(path.relative(ROOT, f))),
      });
    }
  }
}

/** A node_modules of symbolic links to the image's packages (what the deps stage installs). */
function productionModules(dir: string): void {
  for (const key of imageClosure()) {
    const name = key.replace(/^node_modules\//, "");
    if (name.includes("/node_modules/")) continue; // inside its parent, which is linked
    const real = path.join(ROOT, key);
    if (!fs.existsSync(real)) continue; // an optional package for another platform
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.symlinkSync(real, path.join(dir, name));
  }
}

describe("the image's build, replayed without Docker", () => {
  const file = jobsDockerfile();
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-jobs-image-"));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it("copies every module the CLI imports into the build stage", () => {
    const copied = instructionsOf(stageNamed(file, "build"), "COPY")
      .filter((i) => !i.flags.from)
      .flatMap((i) => copySpec(i).sources);
    const imported = importedFiles("jobs/cli.ts");
    expect(imported).toContain("jobs/cli.ts");
    const missing = imported.filter(
      (f) => !copied.some((s) => f === s || (s.endsWith("/") && f.startsWith(s))),
    );
    expect(missing).toEqual([]);
  });

  it("builds only what the CLI imports: no test-only module in the image", () => {
    const imported = new Set(importedFiles("jobs/cli.ts"));
    const built = ["jobs", "core"].flatMap((dir) => sourcesUnder(dir)).filter((f) => !f.endsWith(".test.ts"));
    expect(built.filter((f) => !imported.has(f))).toEqual([]);
  });

  it("compiles the CLI from what the build stage copies and runs it from the runtime stage's layout", () => {
    const build = stageNamed(file, "build");
    expect(runCommands(build)).toContain("npm run build");
    const src = path.join(work, "src");
    fs.mkdirSync(src);
    replayContextCopies(build, src);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(src, "node_modules"));
    const tsc = spawnSync(
      process.execPath,
      [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: src,
        encoding: "utf8",
      },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);

    // The runtime stage's /app: dist from the build, the bin script from the context, production
    // dependencies, and the /usr/local/bin/holdfast link the pods call.
    const app = path.join(work, "app");
    fs.mkdirSync(path.join(app, "node_modules"), { recursive: true });
    fs.cpSync(path.join(src, "dist"), path.join(app, "dist"), { recursive: true });
    replayContextCopies(finalStage(file), app);
    productionModules(path.join(app, "node_modules"));
    expect(fs.existsSync(path.join(app, "dist", "jobs", "cli.js"))).toBe(true);
    const bin = path.join(work, "holdfast");
    fs.symlinkSync(path.join(app, "jobs", "bin", "holdfast.js"), bin);

    const help = spawnSync(process.execPath, [bin, "--help"], {
      cwd: work,
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: work, TMPDIR: work, NODE_ENV: "production" },
    });
    expect(help.stderr).toBe("");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: holdfast \[stack\] <verb> <noun>/);
  });
});
