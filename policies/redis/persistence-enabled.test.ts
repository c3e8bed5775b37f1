import { checkResource } from "../evaluate/harness";
import { redisPersistenceEnabled as policy } from "./persistence-enabled";
import {
  SAFE_ARGS,
  authSecret,
  configMap,
  helmChart,
  redisStatefulSet,
  replicationGroup,
  safeChartValues,
} from "./fixtures";

const check = (f: Parameters<typeof checkResource>[1], config?: Record<string, unknown>) =>
  checkResource(policy, f, config);

describe("redis-persistence-enabled", () => {
  it("#1 passes Holdfast's redis.conf (AOF everysec, Holdfast's save rules) and its Secret's fragments", async () => {
    expect((await check(configMap())).messages).toEqual([]);
    expect((await check(authSecret())).messages).toEqual([]);
  });

  it("#2 reports a server config without appendonly, or with appendonly no", async () => {
    expect((await check(configMap({ "redis.conf": "port 6379\ndir /data\n" }))).messages).toEqual([
      'data["redis.conf"]: appendonly is not set: Redis\'s default is no AOF',
    ]);
    expect((await check(configMap({ "redis.conf": "port 6379\nappendonly no\n" }))).messages).toEqual([
      'data["redis.conf"]: appendonly is no: the AOF is off',
    ]);
  });

  it('#3 reports appendfsync no, and save "" (even in an included fragment)', async () => {
    expect(
      (await check(configMap({ "redis.conf": "port 6379\nappendonly yes\nappendfsync no\n" }))).messages,
    ).toEqual([expect.stringContaining("appendfsync is no")]);
    expect((await check(authSecret({ "overrides.conf": 'save ""\nmaxmemory 1gb\n' }))).messages).toEqual([
      expect.stringContaining('save "" turns RDB snapshots off'),
    ]);
  });

  it("#4 config can drop the RDB requirement (AOF only)", async () => {
    const f = configMap({ "redis.conf": 'port 6379\nappendonly yes\nsave ""\n' });
    expect((await check(f)).messages).toHaveLength(1);
    expect((await check(f, { requireRdb: false })).messages).toEqual([]);
  });

  it("#5 reports a container whose command line leaves the AOF off, or turns it off over a config file", async () => {
    expect((await check(redisStatefulSet({ args: SAFE_ARGS }))).messages).toEqual([]);
    expect((await check(redisStatefulSet({}))).messages).toEqual([
      expect.stringContaining("appendonly is not set"),
    ]);
    expect(
      (await check(redisStatefulSet({ command: ["redis-server", "/etc/r.conf", "--appendonly", "no"] })))
        .messages,
    ).toEqual([expect.stringContaining("appendonly is no")]);
    expect((await check(redisStatefulSet({ command: ["redis-server", "/etc/r.conf"] }))).messages).toEqual(
      [],
    );
  });

  it("#6 Helm: reports persistence.enabled false, and config values without save rules", async () => {
    expect((await check(helmChart(safeChartValues()))).messages).toEqual([]);
    const noVolume = safeChartValues();
    (noVolume.replica as Record<string, unknown>).persistence = { enabled: false };
    expect((await check(helmChart(noVolume))).messages).toEqual([
      expect.stringContaining("values.replica.persistence.enabled is false"),
    ]);
    const bitnamiDefault = { ...safeChartValues(), commonConfiguration: 'appendonly yes\nsave ""\n' };
    expect((await check(helmChart(bitnamiDefault))).messages).toEqual([
      expect.stringContaining('(master): save "" turns RDB snapshots off'),
      expect.stringContaining('(replica): save "" turns RDB snapshots off'),
    ]);
    const none = { ...safeChartValues(), commonConfiguration: undefined };
    expect((await check(helmChart(none))).messages).toHaveLength(4);
  });

  it("#7 ElastiCache: snapshots retained at least minimumSnapshotRetention days", async () => {
    expect((await check(replicationGroup())).messages).toEqual([]);
    expect((await check(replicationGroup({ snapshotRetentionLimit: 0 }))).messages).toEqual([
      expect.stringContaining("snapshotRetentionLimit is 0"),
    ]);
    expect((await check(replicationGroup(), { minimumSnapshotRetention: 14 })).messages).toHaveLength(1);
  });
});
