// A graceful hand-over of the primary on real Redis: while an application writes steadily through the
// sentinels, the primary's pod is stopped the way Kubernetes stops it (the sidecar's preStop hand-over,
// the redis container's wait for it, then SIGTERM). Every write the application saw acknowledged is on
// the new primary, and the old primary comes back as a replica.
import { RedisSet } from "../../harness/redis-set";

jest.setTimeout(120_000);

let set: RedisSet;
beforeAll(async () => {
  set = await RedisSet.start();
});
afterAll(async () => {
  await set?.cleanup();
});

/** Writes `ticks:<n>` one after another until stopped; remembers which writes were acknowledged. */
function steadyWriter() {
  const app = set.appClient({
    // On READONLY (the old primary, now a replica) or a lost connection, ask the sentinels again.
    reconnectOnError: (err) => (/READONLY/.test(err.message) ? 2 : false),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  const acknowledged: string[] = [];
  const refused: string[] = [];
  let stop = false;
  const done = (async () => {
    for (let n = 0; !stop; n++) {
      const key = `ticks:${n}`;
      try {
        await app.set(key, String(n));
        acknowledged.push(key);
      } catch (err) {
        refused.push(`${key}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  })();
  return {
    acknowledged,
    refused,
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

it("hands the primary over under a steady write load without losing an acknowledged write", async () => {
  const primary = await set.waitForHealthy();
  const writer = steadyWriter();
  await new Promise((r) => setTimeout(r, 1500));
  const before = writer.acknowledged.length;
  expect(before).toBeGreaterThan(50);

  const handover = await set.stopDataGracefully(primary.ordinal);
  expect(handover.code).toBe(0);
  const outcome = handover.stderr
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const handedOver = outcome.find((l) => /^handed over to/.test(l.msg));
  expect(handedOver).toBeDefined();
  expect(handedOver.pausedMs).toBeLessThan(10000);

  // Writes continue on the new primary.
  await new Promise((r) => setTimeout(r, 2000));
  await writer.stop();
  expect(writer.acknowledged.length).toBeGreaterThan(before + 20);

  const newPrimary = await set.waitForHealthy();
  expect(newPrimary).not.toBe(primary);
  const reader = set.connect(newPrimary, "app");
  await reader.connect();
  const values = await reader.mget(...writer.acknowledged);
  const lost = writer.acknowledged.filter((k, i) => values[i] !== k.split(":")[1]);
  expect(lost).toEqual([]);

  // The stopped pod starts again as a replica of the new primary.
  await set.startData(primary.ordinal);
  const info = await set.replication(primary);
  expect(info.role).toBe("slave");
  expect(Number(info.master_port)).toBe(newPrimary.port);
});

it("a replica's hand-over does nothing and lets it stop at once", async () => {
  const primary = await set.waitForHealthy();
  const replica = set.data.find((d) => d !== primary)!;
  const started = Date.now();
  const handover = await set.stopDataGracefully(replica.ordinal);
  expect(handover.code).toBe(0);
  expect(handover.stderr).toMatch(/hand-over: not-primary/);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(await set.waitForHealthy()).toBe(primary);
  await set.startData(replica.ordinal);
});
