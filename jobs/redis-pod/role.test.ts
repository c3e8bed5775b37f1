// The start-up role decision, branch by branch: when a pod follows, leads, bootstraps or waits.
import { decideRole, majorityOf, SentinelView } from "./role";

const self = { host: "redis-0.redis-headless", port: 6379 };
const other = { host: "redis-1.redis-headless", port: 6379 };
const s = (i: number) => ({ host: `redis-sentinel-${i}`, port: 26379 });
const view = (i: number, v: Partial<SentinelView>): SentinelView => ({
  sentinel: s(i),
  reachable: true,
  ...v,
});
const down = (i: number): SentinelView => ({
  sentinel: s(i),
  reachable: false,
  error: "connect ECONNREFUSED",
});

describe("decideRole", () => {
  it("follows the primary a sentinel majority names", () => {
    const d = decideRole({
      self,
      ordinal: 0,
      hasData: true,
      sentinels: [
        view(0, { primary: other, knownReplicas: 2 }),
        view(1, { primary: other, knownReplicas: 2 }),
        down(2),
      ],
    });
    expect(d).toMatchObject({ role: "replica", primary: other });
  });

  it("never chooses a role when fewer than a majority of sentinels answer, data or not", () => {
    for (const hasData of [true, false]) {
      const d = decideRole({
        self,
        ordinal: 0,
        hasData,
        sentinels: [view(0, { primary: self }), down(1), down(2)],
      });
      expect(d.role).toBe("wait");
      expect(d.reason).toMatch(/only 1 of 3 sentinels reachable/);
    }
  });

  it("waits when reachable sentinels disagree", () => {
    const d = decideRole({
      self,
      ordinal: 1,
      hasData: true,
      sentinels: [view(0, { primary: self }), view(1, { primary: other }), view(2, {})],
    });
    expect(d.role).toBe("wait");
  });

  it("resumes as primary when named and holding data", () => {
    const d = decideRole({
      self,
      ordinal: 2,
      hasData: true,
      sentinels: [0, 1, 2].map((i) => view(i, { primary: self, knownReplicas: 2 })),
    });
    expect(d.role).toBe("primary");
  });

  it("bootstraps pod 0 with an empty volume only in a set that never worked", () => {
    const fresh = [0, 1, 2].map((i) => view(i, { primary: self, knownReplicas: 0, configEpoch: 0 }));
    expect(decideRole({ self, ordinal: 0, hasData: false, sentinels: fresh }).role).toBe("primary");
    expect(decideRole({ self, ordinal: 1, hasData: false, sentinels: fresh }).role).toBe("wait");
    const seenReplicas = [0, 1, 2].map((i) => view(i, { primary: self, knownReplicas: 2, configEpoch: 0 }));
    expect(decideRole({ self, ordinal: 0, hasData: false, sentinels: seenReplicas }).role).toBe("wait");
    const failedOver = [0, 1, 2].map((i) => view(i, { primary: self, knownReplicas: 0, configEpoch: 3 }));
    expect(decideRole({ self, ordinal: 0, hasData: false, sentinels: failedOver }).role).toBe("wait");
  });

  it("lets a replica take over from a primary whose AOF was repaired, when there is one", () => {
    const named = [0, 1, 2].map((i) => view(i, { primary: self, knownReplicas: 2 }));
    expect(decideRole({ self, ordinal: 0, hasData: true, dataSuspect: true, sentinels: named }).role).toBe(
      "wait",
    );
    const alone = [0, 1, 2].map((i) => view(i, { primary: self, knownReplicas: 0 }));
    expect(decideRole({ self, ordinal: 0, hasData: true, dataSuspect: true, sentinels: alone }).role).toBe(
      "primary",
    );
  });

  it("compares host names case-insensitively", () => {
    const upper = { host: self.host.toUpperCase(), port: 6379 };
    const d = decideRole({
      self,
      ordinal: 0,
      hasData: true,
      sentinels: [0, 1, 2].map((i) => view(i, { primary: upper })),
    });
    expect(d.role).toBe("primary");
  });

  it("majorityOf", () => {
    expect([1, 2, 3, 4, 5].map(majorityOf)).toEqual([1, 2, 2, 3, 3]);
  });
});

describe("decideRole protects a replica's data", () => {
  it("does not follow a primary the sentinels never saw with a replica when this pod holds data", () => {
    const fresh = [0, 1, 2].map((i) => view(i, { primary: other, knownReplicas: 0, configEpoch: 0 }));
    expect(decideRole({ self, ordinal: 2, hasData: true, sentinels: fresh }).role).toBe("wait");
    expect(decideRole({ self, ordinal: 2, hasData: false, sentinels: fresh }).role).toBe("replica");
    const working = [0, 1, 2].map((i) => view(i, { primary: other, knownReplicas: 1, configEpoch: 0 }));
    expect(decideRole({ self, ordinal: 2, hasData: true, sentinels: working }).role).toBe("replica");
  });
});
