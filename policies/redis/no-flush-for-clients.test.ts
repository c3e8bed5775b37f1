import { Buffer } from "buffer";
import { UNKNOWN, checkResource, clone } from "../evaluate/harness";
import { redisNoFlushForClients as policy } from "./no-flush-for-clients";
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

const check = (f: Parameters<typeof checkResource>[1], config?: Record<string, unknown>) =>
  checkResource(policy, f, config);

describe("redis-no-flush-for-clients", () => {
  describe("ACL files and configs in Secrets and ConfigMaps", () => {
    it("#1 passes Holdfast's Secret and ConfigMap (app user -@dangerous -flushall -flushdb, default off, admin)", async () => {
      expect((await check(authSecret())).messages).toEqual([]);
      expect((await check(configMap())).messages).toEqual([]);
    });

    it("#2 reports an app user with +@all, naming the rule", async () => {
      const { messages } = await check(
        authSecret({ "users.acl": "user default off\nuser app on >pw ~* +@all\n" }),
      );
      expect(messages).toEqual([
        'stringData["users.acl"]: user "app" can run FLUSHALL and FLUSHDB (allowed by +@all)',
      ]);
    });

    it("#3 reports an ACL file without a default line: Redis creates it on, nopass, +@all", async () => {
      const { messages } = await check(authSecret({ "users.acl": "user app on >pw ~* +@read\n" }));
      expect(messages).toEqual([expect.stringContaining('user "default" can run FLUSHALL and FLUSHDB')]);
    });

    it("#4 reads base64 data of a Secret", async () => {
      const acl = Buffer.from("user default off\nuser worker on >pw +@write\n").toString("base64");
      const f = { type: "kubernetes:core/v1:Secret", props: { data: { "users.acl": acl } } };
      expect((await check(f)).messages).toEqual([
        expect.stringContaining('data["users.acl"]: user "worker"'),
      ]);
    });

    it("#5 reports a redis.conf without users or renames (its default user has every command)", async () => {
      const f = configMap({ "redis.conf": "port 6379\ndir /data\nappendonly yes\nrequirepass x\n" });
      expect((await check(f)).messages).toEqual([
        expect.stringContaining('data["redis.conf"]: user "default"'),
      ]);
    });

    it("#6 passes a redis.conf that renames both commands away, and a user granted them by a selector fails", async () => {
      const renamed = configMap({
        "redis.conf":
          'port 6379\nrename-command FLUSHALL ""\nrename-command FLUSHDB ""\nuser app on >x +@all\n',
      });
      expect((await check(renamed)).messages).toEqual([]);
      const selector = authSecret({ "users.acl": "user default off\nuser app on >x -@all (~* +flushdb)\n" });
      expect((await check(selector)).messages).toEqual([
        expect.stringContaining("can run FLUSHDB (allowed by selector"),
      ]);
    });

    it("#7 ignores sentinel configs (Sentinel has no FLUSHALL), even with +@all users", async () => {
      expect(
        (
          await check(
            configMap({ "sentinel.conf": "sentinel monitor m h 6379 2\nuser ops on nopass +@all\n" }),
          )
        ).messages,
      ).toEqual([]);
    });

    it("#8 lets the configured admin users flush", async () => {
      const f = authSecret({ "users.acl": "user default off\nuser app on >pw ~* +@all\n" });
      expect((await check(f, { adminUsers: ["admin", "app"] })).messages).toEqual([]);
    });

    it("#9 cannot judge a Secret whose content is unknown during preview: advisory, as the runtime does", async () => {
      const f = { type: "kubernetes:core/v1:Secret", props: { stringData: UNKNOWN } };
      const { violations } = await check(f);
      expect(violations).toEqual([expect.objectContaining({ unknown: true, enforcementLevel: "advisory" })]);
    });
  });

  describe("container command lines", () => {
    it("#1 passes renames on the command line, a config file, and a sentinel", async () => {
      expect((await check(redisStatefulSet({ args: SAFE_ARGS }))).messages).toEqual([]);
      expect(
        (await check(redisStatefulSet({ command: ["redis-server", "/etc/redis/redis.conf"] }))).messages,
      ).toEqual([]);
      expect(
        (await check(redisStatefulSet({ command: ["redis-server", "/s.conf", "--sentinel"] }))).messages,
      ).toEqual([]);
    });

    it("#2 reports the image's default command (the default user, every command)", async () => {
      const { messages } = await check(redisStatefulSet({}));
      expect(messages).toEqual([
        'container "redis": user "default" can run FLUSHALL and FLUSHDB (allowed by +@all)',
      ]);
    });

    it("#3 reports a command line that renames only FLUSHALL, and one inside sh -c", async () => {
      const one = await check(
        redisStatefulSet({ command: ["redis-server", "--rename-command", "FLUSHALL", ""] }),
      );
      expect(one.messages).toEqual([expect.stringContaining('user "default" can run FLUSHDB (')]);
      const sh = await check(
        redisStatefulSet({ command: ["sh", "-c", "exec redis-server --requirepass x"] }),
      );
      expect(sh.messages).toEqual([expect.stringContaining("can run FLUSHALL and FLUSHDB")]);
    });
  });

  describe("Helm charts", () => {
    it("#1 passes Bitnami values that disable both commands for master and replica", async () => {
      expect((await check(helmChart(safeChartValues()))).messages).toEqual([]);
    });

    it("#2 reports a chart without disableCommands, per role", async () => {
      const values = safeChartValues();
      delete (values.master as Record<string, unknown>).disableCommands;
      delete (values.replica as Record<string, unknown>).disableCommands;
      const { messages } = await check(helmChart(values));
      expect(messages).toEqual([
        expect.stringContaining("values.master.disableCommands is not set"),
        expect.stringContaining("values.replica.disableCommands is not set"),
      ]);
    });

    it("#3 reports a disableCommands list without FLUSHALL, and only master for a standalone release", async () => {
      const values = safeChartValues();
      (values.master as Record<string, unknown>).disableCommands = ["FLUSHDB"];
      expect((await check(helmChart(values))).messages).toEqual([
        expect.stringContaining("values.master.disableCommands leaves FLUSHALL"),
      ]);
      const standalone = clone(safeChartValues());
      standalone.architecture = "standalone";
      delete (standalone.replica as Record<string, unknown>).disableCommands;
      expect((await check(helmChart(standalone))).messages).toEqual([]);
    });

    it("#4 reads a v3 Release the same way, and ignores charts that are not Redis", async () => {
      const release = {
        type: "kubernetes:helm.sh/v3:Release",
        props: { chart: "bitnami/redis", values: {} },
      };
      expect((await check(release)).messages).toHaveLength(2);
      const other = {
        type: "kubernetes:helm.sh/v3:Release",
        props: { chart: "bitnami/postgresql", values: {} },
      };
      expect((await check(other)).messages).toEqual([]);
    });
  });

  describe("ElastiCache", () => {
    it("#1 passes a user whose access string excludes @dangerous, an admin with +@all, and a group with RBAC", async () => {
      expect((await check(elastiCacheUser())).messages).toEqual([]);
      expect(
        (await check(elastiCacheUser({ userName: "admin", accessString: "on ~* +@all" }))).messages,
      ).toEqual([]);
      expect((await check(replicationGroup())).messages).toEqual([]);
      expect((await check(replicationGroup({ userGroupIds: [UNKNOWN] }))).messages).toEqual([]);
    });

    it("#2 reports a user with +@all", async () => {
      const { messages } = await check(elastiCacheUser({ accessString: "on ~* +@all" }));
      expect(messages).toEqual([
        expect.stringContaining('ElastiCache user "app" can run FLUSHALL and FLUSHDB'),
      ]);
    });

    it("#3 reports a replication group without user groups, and a standalone Redis cluster", async () => {
      expect((await check(replicationGroup({ userGroupIds: [] }))).messages).toEqual([
        expect.stringContaining("without RBAC user groups"),
      ]);
      const cluster = {
        type: "aws:elasticache/cluster:Cluster",
        props: { engine: "redis", nodeType: "cache.t4g.micro" },
      };
      expect((await check(cluster)).messages).toHaveLength(1);
      const memcached = { type: "aws:elasticache/cluster:Cluster", props: { engine: "memcached" } };
      expect((await check(memcached)).messages).toEqual([]);
    });
  });
});
