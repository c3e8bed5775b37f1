// How a starting sentinel picks the primary to monitor, and the config it writes.
import {
  choosePrimary,
  composeSentinelConf,
  monitoredAddress,
  readSentinelState,
  sentinelId,
} from "./sentinel-init";

const a = (host: string, port = 6379) => ({ host, port });
const bootstrap = a("redis-0");

describe("choosePrimary", () => {
  it("takes what healthy peers monitor", () => {
    const c = choosePrimary(
      [
        { sentinel: a("s1", 26379), primary: a("redis-2"), healthy: true },
        { sentinel: a("s2", 26379), primary: a("redis-0"), healthy: false },
      ],
      [{ node: a("redis-1"), role: "master", connectedReplicas: 2, offset: 10 }],
      bootstrap,
    );
    expect(c).toMatchObject({ primary: a("redis-2"), source: "peers" });
  });

  it("asks the data nodes when no healthy peer answers, preferring the primary with replicas", () => {
    const c = choosePrimary(
      [{ sentinel: a("s1", 26379), healthy: false }],
      [
        { node: a("redis-0"), role: "master", connectedReplicas: 0, offset: 500 },
        { node: a("redis-1"), role: "master", connectedReplicas: 1, offset: 100 },
        { node: a("redis-2"), role: "slave", connectedReplicas: 0, offset: 100 },
      ],
      bootstrap,
    );
    expect(c).toMatchObject({ primary: a("redis-1"), source: "data-nodes" });
  });

  it("falls back to the bootstrap pod on a first start", () => {
    const c = choosePrimary(
      [],
      [{ node: a("redis-0"), role: "unknown", connectedReplicas: 0, offset: 0 }],
      bootstrap,
    );
    expect(c).toMatchObject({ primary: bootstrap, source: "bootstrap" });
  });
});

describe("composeSentinelConf", () => {
  const base =
    "port 26379\nsentinel monitor holdfast redis-0.h 6379 2\nsentinel down-after-milliseconds holdfast 5000\n";
  it("points the monitor line at the primary, keeps the quorum and everything else", () => {
    const conf = composeSentinelConf(
      base,
      "sentinel auth-pass holdfast x\n",
      "holdfast",
      a("redis-2.h"),
      a("s-1.h", 26379),
    );
    expect(conf).toContain("sentinel monitor holdfast redis-2.h 6379 2\n");
    expect(conf).toContain("sentinel down-after-milliseconds holdfast 5000\n");
    expect(conf).toContain(`sentinel myid ${sentinelId("holdfast", a("s-1.h", 26379))}\n`);
    expect(conf).toContain("sentinel announce-ip s-1.h\nsentinel announce-port 26379\n");
    expect(conf.trimEnd().endsWith("sentinel auth-pass holdfast x")).toBe(true);
    expect(monitoredAddress(base, "holdfast")).toEqual(a("redis-0.h"));
  });

  it("gives a pod the same 40-hex id across restarts and different pods different ids", () => {
    expect(sentinelId("m", a("s-0", 26379))).toMatch(/^[0-9a-f]{40}$/);
    expect(sentinelId("m", a("s-0", 26379))).toBe(sentinelId("m", a("S-0", 26379)));
    expect(sentinelId("m", a("s-0", 26379))).not.toBe(sentinelId("m", a("s-1", 26379)));
  });

  it("refuses a config without the monitor line", () => {
    expect(() => composeSentinelConf("port 1\n", "", "holdfast", a("x"), a("y"))).toThrow(
      /no "sentinel monitor holdfast" line/,
    );
  });
});

describe("readSentinelState", () => {
  it("keeps the primary, epochs, replicas and peers a sentinel rewrote into its config, nothing else", () => {
    const previous = [
      "port 26379",
      "sentinel monitor holdfast redis-2.h 6379 2",
      "sentinel auth-pass holdfast secret",
      "user sentinel on #abc &* +@all",
      "sentinel config-epoch holdfast 3",
      "sentinel leader-epoch holdfast 3",
      "sentinel known-replica holdfast redis-0.h 6379",
      "sentinel known-sentinel holdfast s-1.h 26379 0123",
      "sentinel current-epoch 3",
      "sentinel known-replica other redis-9.h 6379",
    ].join("\n");
    const state = readSentinelState(previous, "holdfast");
    expect(state.primary).toEqual(a("redis-2.h"));
    expect(state.lines).toEqual([
      "sentinel config-epoch holdfast 3",
      "sentinel leader-epoch holdfast 3",
      "sentinel known-replica holdfast redis-0.h 6379",
      "sentinel known-sentinel holdfast s-1.h 26379 0123",
      "sentinel current-epoch 3",
    ]);
    expect(readSentinelState(undefined, "holdfast")).toEqual({ lines: [] });
  });

  it("prefers peers and running data nodes over its own memory, and its memory over the bootstrap pod", () => {
    expect(choosePrimary([], [], bootstrap, a("redis-2"))).toMatchObject({
      primary: a("redis-2"),
      source: "own-state",
    });
    const running = [{ node: a("redis-1"), role: "master" as const, connectedReplicas: 1, offset: 1 }];
    expect(choosePrimary([], running, bootstrap, a("redis-2"))).toMatchObject({
      primary: a("redis-1"),
      source: "data-nodes",
    });
  });
});
