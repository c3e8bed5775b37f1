import { UNKNOWN, checkResource, secret } from "../evaluate/harness";
import { redisDefaultUserProtected as policy } from "./default-user-protected";
import {
  SAFE_ARGS,
  authSecret,
  configMap,
  elastiCacheUser,
  helmChart,
  redisStatefulSet,
  replicationGroup,
  safeChartValues,
} from "./fixtures";

const check = (f: Parameters<typeof checkResource>[1]) => checkResource(policy, f);

describe("redis-default-user-protected", () => {
  it("#1 passes Holdfast's Secret and ConfigMap: default off in users.acl and sentinel-auth.conf, redis.conf defers to its aclfile", async () => {
    expect((await check(authSecret())).messages).toEqual([]);
    expect((await check(configMap())).messages).toEqual([]);
  });

  it("#2 reports an ACL file whose default user is on with nopass", async () => {
    const { messages } = await check(authSecret({ "users.acl": "user default on nopass ~* -@all +ping\n" }));
    expect(messages).toEqual([
      expect.stringContaining('stringData["users.acl"]: the default user is on and needs no password'),
    ]);
  });

  it("#3 reports an ACL file without a default line", async () => {
    const { messages } = await check(authSecret({ "users.acl": "user app on >pw ~* +get\n" }));
    expect(messages).toEqual([expect.stringContaining("no `user default` line")]);
  });

  it("#4 reports a redis.conf without aclfile, users or requirepass, and passes one with requirepass", async () => {
    expect((await check(configMap({ "redis.conf": "port 6379\ndir /data\n" }))).messages).toHaveLength(1);
    expect(
      (await check(configMap({ "redis.conf": "port 6379\ndir /data\nrequirepass s3cret\n" }))).messages,
    ).toEqual([]);
  });

  it("#5 reports a sentinel config that declares its users with the default one open", async () => {
    const { messages } = await check(
      configMap({ "sentinel.conf": "sentinel monitor m h 6379 2\nuser default on nopass +@all\n" }),
    );
    expect(messages).toEqual([expect.stringContaining('data["sentinel.conf"]')]);
  });

  it("#6 reports a Redis container without a password, and passes one with --requirepass", async () => {
    expect((await check(redisStatefulSet({ args: SAFE_ARGS }))).messages).toEqual([]);
    expect((await check(redisStatefulSet({ args: ["--appendonly", "yes"] }))).messages).toEqual([
      expect.stringContaining('container "redis": the default user is on and needs no password'),
    ]);
  });

  it("#7 reports a Helm release with auth.enabled false", async () => {
    expect((await check(helmChart(safeChartValues()))).messages).toEqual([]);
    const { messages } = await check(helmChart({ ...safeChartValues(), auth: { enabled: false } }));
    expect(messages).toEqual([expect.stringContaining("values.auth.enabled is false")]);
  });

  it("#8 ElastiCache: a group needs an auth token or user groups, and transit encryption", async () => {
    expect((await check(replicationGroup())).messages).toEqual([]);
    expect(
      (await check(replicationGroup({ userGroupIds: [], authToken: secret("a-long-auth-token-1234") })))
        .messages,
    ).toEqual([]);
    expect((await check(replicationGroup({ userGroupIds: [], authToken: UNKNOWN }))).messages).toEqual([]);
    expect((await check(replicationGroup({ userGroupIds: [] }))).messages).toEqual([
      expect.stringContaining("without an auth token or user groups"),
    ]);
    expect((await check(replicationGroup({ transitEncryptionEnabled: false }))).messages).toEqual([
      expect.stringContaining("without transit encryption"),
    ]);
  });

  it("#9 ElastiCache: a user named default must not be on without a password", async () => {
    const open = elastiCacheUser({
      userName: "default",
      userId: "d",
      noPasswordRequired: true,
      accessString: "on ~* +@read",
    });
    expect((await check(open)).messages).toEqual([
      expect.stringContaining('ElastiCache user "default" is on'),
    ]);
    const off = elastiCacheUser({
      userName: "default",
      userId: "d",
      noPasswordRequired: true,
      accessString: "off ~* +@read",
    });
    expect((await check(off)).messages).toEqual([]);
  });

  it("#10 ElastiCache: a standalone Redis cluster cannot authenticate; a serverless cache needs a user group", async () => {
    const cluster = { type: "aws:elasticache/cluster:Cluster", props: { engine: "redis" } };
    expect((await check(cluster)).messages).toEqual([
      expect.stringContaining("outside a replication group cannot require authentication"),
    ]);
    const member = {
      type: "aws:elasticache/cluster:Cluster",
      props: { engine: "redis", replicationGroupId: "cache" },
    };
    expect((await check(member)).messages).toEqual([]);
    const serverless = {
      type: "aws:elasticache/serverlessCache:ServerlessCache",
      props: { engine: "valkey", name: "c" },
    };
    expect((await check(serverless)).messages).toEqual([
      expect.stringContaining("serverless cache without a user group"),
    ]);
    expect(
      (await check({ ...serverless, props: { ...serverless.props, userGroupId: "users" } })).messages,
    ).toEqual([]);
  });

  it('#11 reports an included fragment that clears the password with requirepass ""', async () => {
    expect(
      (await check(authSecret({ "overrides.conf": 'requirepass ""\nmaxmemory 1gb\n' }))).messages,
    ).toEqual([
      expect.stringContaining('stringData["overrides.conf"]: the default user is on and needs no password'),
    ]);
  });
});
