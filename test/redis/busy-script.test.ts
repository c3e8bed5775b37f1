// A busy application script cannot make the sentinels fail over, nor lose a write, on the rendered dev set
// (real redis-server, redis-sentinel and holdfast sidecar processes): the app user's scripts are
// read-only, so any of them can be killed, and the data pod's sidecar kills one that keeps the node busy
// past busy-reply-threshold, well before down-after-milliseconds would let the sentinels count the
// primary down. Writes acknowledged with WAIT 1 while the script ran are on every node afterwards.
import * as fs from "fs";
import * as path from "path";
import type Redis from "ioredis";
import { RedisSet, type PodProcess } from "../../harness/redis-set";

jest.setTimeout(180_000);

let set: RedisSet;
beforeAll(async () => {
  set = await RedisSet.start();
});
afterAll(async () => {
  await set?.cleanup();
});

/** A setting of a pod's rendered config file. */
function setting(pod: PodProcess, file: string, pattern: RegExp): number {
  return Number(pattern.exec(fs.readFileSync(path.join(pod.dir, "config", file), "utf8"))![1]);
}

/** The sentinels' configuration epoch of the set: it grows with every failover. */
async function configEpoch(): Promise<number> {
  const c = set.connect(set.sentinels[0], "discovery");
  await c.connect();
  try {
    const fields = (await c.call("SENTINEL", "MASTER", set.masterName)) as string[];
    return Number(fields[fields.indexOf("config-epoch") + 1]);
  } finally {
    c.disconnect();
  }
}

/** Spins for `seconds` on the server's clock without touching data. */
const SPIN =
  "local s = tonumber(redis.call('TIME')[1]); while tonumber(redis.call('TIME')[1]) < s + tonumber(ARGV[1]) do end; return 'done'";

/**
 * Runs `busy` (a 20-second script) as the app user while another app client writes a key and WAITs
 * for a replica, again and again; resolves to how the script ended, when, and the keys acknowledged.
 */
async function underBusyScript(
  primary: PodProcess,
  busy: (app: Redis) => Promise<unknown>,
): Promise<{ outcome: string; ms: number; acknowledged: string[] }> {
  const scripted = set.connect(primary, "app", { commandTimeout: 60_000 });
  const writer = set.connect(primary, "app", { commandTimeout: 60_000 });
  await Promise.all([scripted.connect(), writer.connect()]);
  const started = Date.now();
  let done = false;
  const script = busy(scripted).then(
    (r) => `returned ${String(r)}`,
    (e: Error) => e.message,
  );
  const ended = script.then((outcome) => ((done = true), { outcome, ms: Date.now() - started }));
  const acknowledged: string[] = [];
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; !done || i < 20; i++) {
    const key = `busy:${started}:${i}`;
    const replies = await writer
      .pipeline()
      .set(key, "v")
      .call("WAIT", "1", "1000")
      .exec()
      .catch(() => null);
    if (replies?.[0][1] === "OK" && Number(replies[1][1]) >= 1) acknowledged.push(key);
    else await new Promise((r) => setTimeout(r, 100)); // BUSY while the script runs: not acknowledged
  }
  return { ...(await ended), acknowledged };
}

describe("a busy script of the application user", () => {
  beforeAll(async () => {
    const admin = set.connect(await set.waitForHealthy(), "admin");
    await admin.connect();
    const body = SPIN.replaceAll("ARGV", "args");
    await admin.call(
      "FUNCTION",
      "LOAD",
      "REPLACE",
      `#!lua name=spin\nredis.register_function{function_name='spin', callback=function(keys, args) ${body} end, flags={'no-writes'}}`,
    );
    await admin.call("WAIT", "2", "5000");
    admin.disconnect();
  });

  it.each([
    ["EVAL_RO", (app: Redis) => app.call("EVAL_RO", SPIN, "0", "20")],
    ["FCALL_RO", (app: Redis) => app.call("FCALL_RO", "spin", "0", "20")],
  ])(
    "(%s, 20 s) is killed before down-after-milliseconds: no failover, every write acknowledged with WAIT 1 around it is on every node",
    async (_kind, busy) => {
      const primary = await set.waitForHealthy();
      const downAfter = setting(
        set.sentinels[0],
        "sentinel.conf",
        /^sentinel down-after-milliseconds \S+ (\d+)$/m,
      );
      const threshold = setting(primary, "redis.conf", /^busy-reply-threshold (\d+)$/m);
      expect(threshold).toBeLessThanOrEqual(downAfter / 2);
      const epoch = await configEpoch();

      const { outcome, ms, acknowledged } = await underBusyScript(primary, busy);
      expect(outcome).toMatch(/killed by user with (SCRIPT|FUNCTION) KILL/);
      expect(ms).toBeGreaterThanOrEqual(threshold - 100);
      expect(ms).toBeLessThan(downAfter - 1000);
      expect(acknowledged.length).toBeGreaterThan(0);

      // Past the time the sentinels would have needed to count the primary down and fail over.
      await new Promise((r) => setTimeout(r, downAfter + 3000 - ms));
      expect(await configEpoch()).toBe(epoch);
      expect((await set.waitForHealthy()).ordinal).toBe(primary.ordinal);
      for (const node of set.data) {
        const c = set.connect(node, "admin");
        await c.connect();
        const values = await c.mget(...acknowledged);
        expect(acknowledged.filter((k, i) => values[i] !== "v")).toEqual([]);
        c.disconnect();
      }
    },
  );
});

describe("a script of the application user that writes", () => {
  it("is refused before it runs (the 20-second write-then-spin of the fault report): nothing written, no failover", async () => {
    const primary = await set.waitForHealthy();
    const epoch = await configEpoch();
    const app = set.connect(primary, "app");
    await app.connect();
    const writeThenSpin = `redis.call('SET', KEYS[1], 'inside'); ${SPIN}`;
    await expect(app.call("EVAL", writeThenSpin, "1", "inside:key", "20")).rejects.toThrow(/^NOPERM/);
    await expect(app.call("EVAL_RO", writeThenSpin, "1", "inside:key", "20")).rejects.toThrow(
      /Write commands are not allowed/,
    );
    expect(await app.exists("inside:key")).toBe(0);
    expect(await configEpoch()).toBe(epoch);
  });
});
