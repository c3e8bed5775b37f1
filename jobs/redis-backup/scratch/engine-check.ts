// Which engine a throw-away server is and whether it can load a backup: a Redis 7.4+ RDB (version 12)
// cannot be loaded by Redis 7.2 or by Valkey, a Valkey 9 RDB by no Redis. Checked before a load so the
// message names both engines instead of the server's last log line.
import { spawnSync } from "child_process";
import {
  describeEngine,
  engineOfVersionLine,
  type EngineVersion,
  readableRdbVersion,
} from "../../../core/engines";
import type { RedisBackupManifest } from "../manifest";
import { ScratchServerError } from "./server";

/** The engine of a server binary, from its --version; undefined when it does not say. */
export function binaryEngine(redisServer: string): EngineVersion | undefined {
  const r = spawnSync(redisServer, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (r.error || r.status !== 0) return undefined;
  return engineOfVersionLine(r.stdout);
}

/** The engine that wrote a backup, as its manifest records it. */
export function backupEngine(m: RedisBackupManifest): EngineVersion {
  return { engine: m.redis.engine ?? "redis", version: m.redis.version };
}

/**
 * Throws ScratchServerError when `redisServer` cannot load the backup's RDB (its engine reads older RDB
 * versions only), naming both engines and what to do. A binary that does not say what it is, or an
 * engine whose limits are not known, is let through: the load decides.
 */
export function checkCanLoad(redisServer: string, m: RedisBackupManifest, modules: string[] = []): void {
  const scratch = binaryEngine(redisServer);
  // Module types the server has built in (Redis 8's vector sets); others need their module loaded.
  const builtIn =
    scratch?.engine === "redis" && Number(scratch.version.split(".")[0]) >= 8 ? ["vectorset"] : [];
  const foreignModules = (m.dataset.modules ?? []).filter((t) => !builtIn.includes(t));
  if (foreignModules.length > 0 && modules.length === 0)
    throw new ScratchServerError(
      `the backup holds values of module type${foreignModules.length > 1 ? "s" : ""} ${foreignModules.join(", ")}, ` +
        `which the throw-away server ${redisServer} cannot load without the module: give it with --load-module PATH`,
    );
  if (!scratch) return;
  const readable = readableRdbVersion(scratch);
  const source = backupEngine(m);
  const foreign = source.engine !== scratch.engine && m.redis.rdbVersion > 11;
  if ((readable !== undefined && m.redis.rdbVersion > readable) || foreign)
    throw new ScratchServerError(
      `the backup was written by ${describeEngine(source)} (RDB ${m.redis.rdbVersion}); the throw-away server ` +
        `${redisServer} is ${describeEngine(scratch)}, which cannot load it: use the jobs image of the source's ` +
        `engine and version (or --redis-server / HOLDFAST_REDIS_SERVER naming its redis-server)`,
    );
}
