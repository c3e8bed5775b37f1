// `holdfast pod inspect redis` (flags in specs.ts), which a Redis restore runs as a Job inside the
// cluster: the inspection as one JSON line on stdout. Apart from commands.ts so the operator's commands
// do not load the Redis client for it.
import { hostPort, list, num, optStr, str } from "../cli/args";
import type { RunCommand } from "../cli/command";
import { log } from "../cli/log";
import { credentialsFromEnv, parseAddresses } from "../redis/client";
import { inspectRedis } from "./redis-inspect";

/** `holdfast pod inspect redis`. */
export const runInspect: RunCommand = async (flags) => {
  const waitMs = num(flags, "wait");
  const expect = optStr(flags, "expect-primary");
  const report = await inspectRedis({
    sentinels: parseAddresses(list(flags, "sentinel").join(","), "--sentinel"),
    masterName: str(flags, "master-name"),
    nodes: parseAddresses(str(flags, "nodes"), "--nodes"),
    patterns: list(flags, "pattern"),
    redisCredentials: credentialsFromEnv("REDIS"),
    sentinelCredentials: credentialsFromEnv("SENTINEL"),
    expectPrimary: expect ? hostPort(expect, "--expect-primary") : undefined,
    waitMs,
    log: log.info,
  });
  process.stdout.write(JSON.stringify(report) + "\n");
  if (report.healthy) log.info("the set is whole", { primary: report.primary });
  else log.warn("the set is not whole", { problems: report.problems });
  return waitMs > 0 && !report.healthy ? 1 : 0;
};
