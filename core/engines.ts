// The Redis engines Holdfast supports, as pure data: which engine and version an image runs, whether
// Holdfast supports it, the engine's binary names, and the newest RDB version each release reads. The
// stack checks `redisEngine` and `redisImage` with it when it renders; the jobs use it to name what
// they find (a source's INFO, an RDB's aux fields, a binary's --version).

/** The products Holdfast runs and backs up. */
export type EngineKind = "redis" | "valkey";

/** One supported release line. */
export interface SupportedRelease {
  engine: EngineKind;
  /** Major.minor, e.g. "8.0". */
  line: string;
  /** The newest RDB version this line writes (and reads). */
  rdbVersion: number;
  /** The release CI runs the engine matrix on, when this line is one of them. */
  tested?: string;
}

/**
 * Every release line Holdfast supports, oldest first. A line is supported when the RDB scanner reads
 * everything it writes and the start-up logic, ACLs and configuration work on it; the `tested` ones run
 * the engine matrix in CI, the others write the same RDB formats as a tested one.
 */
export const SUPPORTED_RELEASES: SupportedRelease[] = [
  { engine: "redis", line: "7.0", rdbVersion: 10, tested: "7.0.15" },
  { engine: "redis", line: "7.2", rdbVersion: 11 },
  { engine: "redis", line: "7.4", rdbVersion: 12 },
  { engine: "redis", line: "8.0", rdbVersion: 12, tested: "8.0.2" },
  { engine: "valkey", line: "7.2", rdbVersion: 11 },
  { engine: "valkey", line: "8.0", rdbVersion: 11 },
  { engine: "valkey", line: "8.1", rdbVersion: 11, tested: "8.1.1" },
];

/** The image the data pods run by default: the newest Redis line the matrix proves. */
export const DEFAULT_REDIS_IMAGE = "redis:8.0.2-bookworm";

/** An engine and its version. */
export interface EngineVersion {
  engine: EngineKind;
  /** e.g. "8.0.2"; "unknown" when it could not be told. */
  version: string;
}

/** "redis 8.0.2" -> "Redis 8.0.2", for messages. */
export function describeEngine(e: EngineVersion): string {
  return `${e.engine === "valkey" ? "Valkey" : "Redis"} ${e.version}`;
}

/** The engine's binary names (the official images and Debian's packages use them). */
export function engineBinaries(engine: EngineKind): {
  server: string;
  sentinel: string;
  checkAof: string;
  cli: string;
} {
  return {
    server: `${engine}-server`,
    sentinel: `${engine}-sentinel`,
    checkAof: `${engine}-check-aof`,
    cli: `${engine}-cli`,
  };
}

/** The supported line of `e`, if there is one. */
export function supportedRelease(e: EngineVersion): SupportedRelease | undefined {
  const line = /^(\d+\.\d+)/.exec(e.version)?.[1];
  return SUPPORTED_RELEASES.find((r) => r.engine === e.engine && r.line === line);
}

/** The supported lines as one phrase: "Redis 7.0, 7.2, 7.4, 8.0; Valkey 7.2, 8.0, 8.1". */
export function supportedPhrase(): string {
  const lines = (engine: EngineKind) =>
    SUPPORTED_RELEASES.filter((r) => r.engine === engine)
      .map((r) => r.line)
      .join(", ");
  return `Redis ${lines("redis")}; Valkey ${lines("valkey")}`;
}

/**
 * The newest RDB version `e` can load, for a clear message before a load that would fail; undefined
 * when not known (an unknown or newer release: let the server answer).
 */
export function readableRdbVersion(e: EngineVersion): number | undefined {
  const r = supportedRelease(e);
  if (r) return r.rdbVersion;
  const major = Number(e.version.split(".")[0]);
  if (e.engine === "redis" && major < 7) return major >= 5 ? 9 : undefined;
  return undefined;
}

/**
 * Reads the engine and version of an image reference (`redis:8.0.2-bookworm`,
 * `registry.example.com/mirror/valkey:8.1.1@sha256:...`): the repository's last path element names the
 * engine, the tag's leading numbers the version.
 * @throws Error (one line) when the tag names no version.
 */
export function imageEngine(image: string): EngineVersion & { repository: string } {
  const noDigest = image.split("@")[0];
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.indexOf(":", slash + 1);
  const repository = colon >= 0 ? noDigest.slice(0, colon) : noDigest;
  const tag = colon >= 0 ? noDigest.slice(colon + 1) : "";
  const version = /^v?(\d+\.\d+(?:\.\d+)?)/.exec(tag)?.[1];
  if (!version)
    throw new Error(
      `redisImage ${image}: its tag must name the version (e.g. ${DEFAULT_REDIS_IMAGE} or valkey/valkey:8.1.1-bookworm), so Holdfast can check it supports it`,
    );
  const name = repository.slice(repository.lastIndexOf("/") + 1);
  return { engine: /valkey/i.test(name) ? "valkey" : "redis", version, repository };
}

/**
 * Checks `redisEngine` and `redisImage` together, as `pulumi up` and the renderer do.
 * @throws Error (one line, naming what is supported) when they disagree or the release is not supported.
 */
export function checkEngineImage(engine: string, image: string): EngineVersion {
  if (engine !== "redis" && engine !== "valkey")
    throw new Error(`redisEngine ${JSON.stringify(engine)}: use redis or valkey`);
  const found = imageEngine(image);
  if (found.engine !== engine)
    throw new Error(
      `redisImage ${image} runs ${found.engine === "valkey" ? "Valkey" : "Redis"}, but redisEngine is ${engine}: set both to the same engine`,
    );
  if (/alpine/i.test(image))
    throw new Error(`redisImage ${image}: the jobs image needs a Debian (glibc) variant of the image`);
  const e: EngineVersion = { engine, version: found.version };
  if (!supportedRelease(e))
    throw new Error(
      `redisImage ${image}: ${describeEngine(e)} is not supported by this Holdfast (supported: ${supportedPhrase()})`,
    );
  return e;
}

/** The engine a server reports in INFO server (Valkey also reports redis_version 7.2.4, for clients). */
export function engineOfInfo(info: Record<string, string | undefined>): EngineVersion {
  if (info.server_name === "valkey" || info.valkey_version)
    return { engine: "valkey", version: info.valkey_version ?? "unknown" };
  return { engine: "redis", version: info.redis_version ?? "unknown" };
}

/** The engine that wrote an RDB, from its aux fields (valkey-ver or redis-ver). */
export function engineOfRdb(aux: Record<string, string>): EngineVersion | undefined {
  if (aux["valkey-ver"]) return { engine: "valkey", version: aux["valkey-ver"] };
  if (aux["redis-ver"]) return { engine: "redis", version: aux["redis-ver"] };
  return undefined;
}

/** The engine of a `redis-server --version` line ("Redis server v=8.0.2 ...", "Valkey server v=8.1.1"). */
export function engineOfVersionLine(line: string): EngineVersion | undefined {
  const m = /^(Redis|Valkey) server v=(\S+)/.exec(line.trim());
  if (!m) return undefined;
  return { engine: m[1] === "Valkey" ? "valkey" : "redis", version: m[2] };
}
