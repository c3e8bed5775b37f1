// The engine the tests run against, chosen with HOLDFAST_TEST_ENGINE: redis7 (the Debian Redis 7 on
// PATH, the default), redis8 (Redis 8.0) or valkey8 (Valkey 8.1), the last two from the trixie root
// tools/engines.sh builds. Jest's global setup puts the engine's bin folder first on PATH before any
// worker starts, so every spawn of redis-server, redis-sentinel, redis-check-aof or redis-cli (the
// harness, the kubelet's container commands, the CLI's throw-away servers) runs that engine.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** The engines the matrix runs. */
export const TEST_ENGINES = ["redis7", "redis8", "valkey8"] as const;
export type TestEngineName = (typeof TEST_ENGINES)[number];

/** One engine of the matrix. */
export interface TestEngine {
  name: TestEngineName;
  /** The product: redis or valkey. */
  kind: "redis" | "valkey";
  /** Folder of the engine's binaries to put first on PATH; undefined for redis7 (PATH as it is). */
  binDir?: string;
  /** The stack configuration that runs this engine (redisEngine, redisImage). */
  config: Record<string, string>;
  /** What its RDBs say: the engine, the start of its version, the RDB version it writes. */
  writes: { engine: "redis" | "valkey"; version: RegExp; rdbVersion: number };
}

const root = path.join(__dirname, "..");

/** Where tools/engines.sh keeps the trixie root and the engines' bin folders. */
export function engineRoot(): string {
  return process.env.HOLDFAST_ENGINE_ROOT || "/var/cache/holdfast/engines";
}

/** The engine HOLDFAST_TEST_ENGINE names (redis7 when unset). @throws on an unknown name */
export function testEngine(name = process.env.HOLDFAST_TEST_ENGINE || "redis7"): TestEngine {
  switch (name) {
    case "redis7":
      return {
        name,
        kind: "redis",
        config: {},
        writes: { engine: "redis", version: /^7\.0\./, rdbVersion: 10 },
      };
    case "redis8":
      return {
        name,
        kind: "redis",
        binDir: path.join(engineRoot(), "bin", name),
        config: { "holdfast:redisEngine": "redis", "holdfast:redisImage": "redis:8.0.2-bookworm" },
        writes: { engine: "redis", version: /^8\.0\./, rdbVersion: 12 },
      };
    case "valkey8":
      return {
        name,
        kind: "valkey",
        binDir: path.join(engineRoot(), "bin", name),
        config: { "holdfast:redisEngine": "valkey", "holdfast:redisImage": "valkey/valkey:8.1.1-bookworm" },
        writes: { engine: "valkey", version: /^8\.1\./, rdbVersion: 11 },
      };
    default:
      throw new Error(`HOLDFAST_TEST_ENGINE=${name}: use one of ${TEST_ENGINES.join(", ")}`);
  }
}

/**
 * Puts the engine's binaries first on this process's PATH (children inherit it) and returns the
 * engine. @throws when the engine's folder is missing (with how to build it)
 */
export function useTestEngine(engine = testEngine()): TestEngine {
  if (!engine.binDir) return engine;
  if (!fs.existsSync(path.join(engine.binDir, ".holdfast-ready")))
    throw new Error(
      `HOLDFAST_TEST_ENGINE=${engine.name} needs ${engine.binDir}: build it once with \`npm run engines\` (as root)`,
    );
  const parts = (process.env.PATH ?? "").split(":").filter((p) => p !== engine.binDir);
  process.env.PATH = [engine.binDir, ...parts].join(":");
  return engine;
}

/** `redis-server --version` of the engine on PATH ("Redis server v=8.0.2 ..."). */
export function serverVersionLine(): string {
  return execFileSync("redis-server", ["--version"], { encoding: "utf8", cwd: root }).trim();
}
