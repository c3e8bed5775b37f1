// Failover of the rendered dev set on real redis-server and redis-sentinel processes: a killed primary is
// replaced in time with every WAIT-acknowledged write, the old primary rejoins as a replica through its
// start-up logic (its data kept aside first), and restarted sentinels monitor the current primary.
import * as fs from "fs";
import * as path from "path";
import { RedisSet } from "../../harness/redis-set";
import { ASIDE_DIR } from "../../jobs/redis-pod/aside";

jest.setTimeout(120_000);

let set: RedisSet;
beforeAll(async () => {
  set = await RedisSet.start();
});
afterAll(async () => {
  await set?.cleanup();
});

function downAfterMs(): number {
  const conf = fs.readFileSync(path.join(set.sentinels[0].dir, "config", "sentinel.conf"), "utf8");
  return Number(/^sentinel down-after-milliseconds \S+ (\d+)$/m.exec(conf)![1]);
}

describe("a killed primary", () => {
  const acknowledged: string[] = [];
  let oldPrimary: number;
  let newPrimary: number;

  it("is replaced by a replica within down-after-milliseconds + 5 s, keeping every write acknowledged by WAIT 1", async () => {
    const primary = await set.waitForHealthy();
    oldPrimary = primary.ordinal;
    const client = set.connect(primary, "app");
    await client.connect();
    for (let batch = 0; batch < 20; batch++) {
      const pipeline = client.pipeline();
      const keys = Array.from({ length: 100 }, (_, i) => `order:${batch}:${i}`);
      for (const k of keys) pipeline.set(k, `value of ${k}`);
      pipeline.call("WAIT", "1", "2000");
      const replies = (await pipeline.exec())!;
      const replicasAcked = replies[replies.length - 1][1] as number;
      if (replicasAcked >= 1) acknowledged.push(...keys);
    }
    expect(acknowledged.length).toBe(2000);

    const killedAt = Date.now();
    await set.kill(primary);
    const promoted = await set.waitForPromotion(primary, downAfterMs() + 5000);
    const elapsed = Date.now() - killedAt;
    expect(elapsed).toBeLessThanOrEqual(downAfterMs() + 5000);
    newPrimary = promoted.ordinal;

    const reader = set.connect(set.data[newPrimary], "app");
    await reader.connect();
    const values = await reader.mget(...acknowledged);
    const missing = acknowledged.filter((k, i) => values[i] !== `value of ${k}`);
    expect(missing).toEqual([]);
  });

  it("rejoins as a replica of the new primary when restarted, its own data kept aside first", async () => {
    await set.startData(oldPrimary);
    const info = await set.replication(set.data[oldPrimary]);
    expect(info.role).toBe("slave");
    expect(Number(info.master_port)).toBe(set.data[newPrimary].port);
    await set.waitForHealthy();

    const aside = fs.readdirSync(path.join(set.data[oldPrimary].dir, "data", ASIDE_DIR));
    expect(aside.filter((d) => d.endsWith("-rejoin"))).toHaveLength(1);
    const kept = path.join(set.data[oldPrimary].dir, "data", ASIDE_DIR, aside[0], "appendonlydir");
    expect(fs.readdirSync(kept).some((f) => f.endsWith(".manifest"))).toBe(true);
  });

  const monitors = (sentinel: (typeof set.sentinels)[number]) =>
    new RegExp(
      `^sentinel monitor ${set.masterName} 127\\.0\\.0\\.1 ${set.data[newPrimary].port} 2$`,
      "m",
    ).test(fs.readFileSync(path.join(sentinel.dir, "data", "sentinel.conf"), "utf8"));
  const source = (initOutput: string) => JSON.parse(initOutput.trim().split("\n").pop()!).source;

  it("a sentinel restarted on an empty volume monitors the new primary, learnt from its peers", async () => {
    const sentinel = set.sentinels[1];
    await set.kill(sentinel);
    fs.rmSync(path.join(sentinel.dir, "data", "sentinel.conf"));
    const init = await set.startSentinel(1);
    expect(source(init.stderr)).toBe("peers");
    expect(monitors(sentinel)).toBe(true);
  });

  it("sentinels all restarted at once on empty volumes monitor the new primary, learnt from the data nodes, not the bootstrap pod", async () => {
    await Promise.all(set.sentinels.map((s) => set.kill(s)));
    for (const s of set.sentinels) fs.rmSync(path.join(s.dir, "data", "sentinel.conf"));
    const inits = await Promise.all(set.sentinels.map((s) => set.startSentinel(s.ordinal)));
    // The first to start can only learn from the data nodes; a slower one may already ask a started peer.
    const sources = inits.map((i) => source(i.stderr));
    expect(sources).toContain("data-nodes");
    expect(sources.every((s) => s === "data-nodes" || s === "peers")).toBe(true);
    const primary = await set.waitForHealthy();
    expect(primary.ordinal).toBe(newPrimary);
    expect(set.sentinels.every(monitors)).toBe(true);
  });
});
