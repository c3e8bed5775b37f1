// Persistence of the rendered dev set on real Redis: data written before every node restarts (gracefully,
// or all killed at once) is there after it, served by the primary the sentinels knew before — also after
// a failover, when the sentinels restart with the data nodes and must remember who was promoted; a replica
// away for more writes than Redis's default backlog continues from the rendered one.
import * as fs from "fs";
import * as path from "path";
import { waitFor } from "../../harness/processes";
import { RedisSet } from "../../harness/redis-set";
import { parseInfo } from "../../jobs/redis/client";

jest.setTimeout(180_000);

let set: RedisSet;
beforeAll(async () => {
  set = await RedisSet.start({ agents: false });
});
afterAll(async () => {
  await set?.cleanup();
});

/** Writes `count` keys of several types through the primary; resolves to a checker of all of them. */
async function writeDataset(tag: string, count: number) {
  const primary = await set.waitForHealthy();
  const c = set.connect(primary, "app");
  await c.connect();
  const p = c.pipeline();
  for (let i = 0; i < count; i++) {
    p.set(`${tag}:metadata:${i}`, `m${i}`);
    p.hset(`${tag}:emotives:${i}`, { joy: String(i) });
    p.zadd(`${tag}:frequencies`, i, `symbol-${i}`);
  }
  p.call("WAIT", "2", "5000");
  await p.exec();
  return async (): Promise<string[]> => {
    const r = set.connect(await set.waitForHealthy(60000), "app");
    await r.connect();
    const problems: string[] = [];
    for (let i = 0; i < count; i++) {
      if ((await r.get(`${tag}:metadata:${i}`)) !== `m${i}`) problems.push(`${tag}:metadata:${i}`);
      if ((await r.hget(`${tag}:emotives:${i}`, "joy")) !== String(i)) problems.push(`${tag}:emotives:${i}`);
    }
    if ((await r.zcard(`${tag}:frequencies`)) !== count) problems.push(`${tag}:frequencies`);
    return problems;
  };
}

/**
 * Stops every pod and starts them again; resolves to the primary the sentinels name as
 * they come back from their state volumes (later, a data pod slow to start on a loaded machine may
 * rightly be failed over, which is not what these tests are about).
 */
async function restartEverything(how: "SIGTERM" | "SIGKILL") {
  const pods = [...set.data, ...set.sentinels];
  await Promise.all(pods.map((p) => (p.server ? set.processes.stop(p.server, how) : undefined)));
  pods.forEach((p) => (p.server = undefined));
  // Data pods start beside the sentinels, as in a cluster: started after them, a primary slow to come back
  // can be counted down and a failover tried without replicas, which holds off the sentinels' next
  // failover for twice the failover timeout.
  const named = Promise.all(set.sentinels.map((s) => set.startSentinel(s.ordinal))).then(() =>
    set.primaryNamedBySentinels(),
  );
  await Promise.all([named, ...set.data.map((d) => set.startData(d.ordinal))]);
  return named;
}

it("keeps every key across a graceful restart of every node", async () => {
  const check = await writeDataset("graceful", 2000);
  const primary = await set.waitForHealthy();
  expect(await restartEverything("SIGTERM")).toBe(primary);
  await set.waitForHealthy(60000);
  expect(await check()).toEqual([]);
});

it("keeps every key when every node is killed at once, once the AOF has been written", async () => {
  const check = await writeDataset("crash", 2000);
  await set.waitForAofWritten();
  await restartEverything("SIGKILL");
  expect(await check()).toEqual([]);
});

it("comes back on the promoted primary with all data when everything restarts after a failover", async () => {
  const check = await writeDataset("after-failover", 1000);
  const old = await set.waitForHealthy();
  await set.kill(old);
  let promoted = await set.primaryNamedBySentinels();
  const deadline = Date.now() + 20000;
  while ((!promoted || promoted === old) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    promoted = await set.primaryNamedBySentinels();
  }
  expect(promoted).not.toBe(old);
  await set.startData(old.ordinal);
  await set.waitForHealthy();
  const more = await writeDataset("after-failover-2", 500);

  await set.waitForAofWritten();
  // The sentinels restart on their state volumes: they still name the promoted pod, not the bootstrap pod.
  expect(await restartEverything("SIGKILL")).toBe(promoted);
  await set.waitForHealthy(60000);
  expect(await check()).toEqual([]);
  expect(await more()).toEqual([]);
});

it("lets a replica away for far more than Redis's default 1 MB backlog of writes continue with a partial resync", async () => {
  const primary = await set.waitForHealthy();
  const replica = set.data.find((d) => d !== primary && d.server)!;
  const admin = set.connect(primary, "admin");
  const onReplica = set.connect(replica, "admin");
  await Promise.all([admin.connect(), onReplica.connect()]);
  const rendered = fs.readFileSync(path.join(primary.dir, "config", "redis.conf"), "utf8");
  const backlog = Number(/^repl-backlog-size (\d+)$/m.exec(rendered)![1]);
  expect(((await admin.config("GET", "repl-backlog-size")) as string[])[1]).toBe(String(backlog));
  const stats = async () => parseInfo(await admin.info("stats"));
  const offset = async () => Number((await set.replication(primary)).master_repl_offset);
  const before = await stats();
  const offsetBefore = await offset();
  // The replica's end of its link, which the primary knows it by.
  const link = /laddr=(\S+)/.exec(String(await onReplica.call("CLIENT", "LIST", "TYPE", "master")))![1];
  onReplica.disconnect();

  // The replica is frozen and its link cut, as when its pod moves: 8 MB of writes go by without it.
  replica.server!.kill("SIGSTOP");
  try {
    await admin.call("CLIENT", "KILL", "ADDR", link);
    const app = set.connect(primary, "app");
    await app.connect();
    const value = "x".repeat(64 * 1024);
    for (let i = 0; i < 128; i++) await app.set(`away:${i}`, value);
    app.disconnect();
  } finally {
    replica.server!.kill("SIGCONT");
  }
  const missed = (await offset()) - offsetBefore;
  expect(missed).toBeGreaterThan(8 * 2 ** 20);
  expect(missed).toBeLessThan(backlog);
  await waitFor(
    "the replica's partial resync",
    async () => Number((await stats()).sync_partial_ok) > Number(before.sync_partial_ok),
    30_000,
  );
  expect((await stats()).sync_full).toBe(before.sync_full);
  admin.disconnect();
});
