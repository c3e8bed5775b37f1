// Who may do what on the rendered dev set, checked on real Redis: the application user is refused the
// flushes with NOPERM, the default user cannot connect, the backup user can stream the replication data
// but not write, and the probes the pods declare tell a synced replica from one that is not.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type Redis from "ioredis";
import { RedisSet } from "../harness/redis-set";
import { DATA_LIVENESS, DATA_READINESS, REDIS_PORT } from "../../components/redis/spec";

jest.setTimeout(90_000);

let set: RedisSet;
beforeAll(async () => {
  set = await RedisSet.start({ agents: false });
});
afterAll(async () => {
  await set?.cleanup();
});

async function primaryAs(role: Parameters<RedisSet["connect"]>[1]): Promise<Redis> {
  const c = set.connect(await set.waitForHealthy(), role);
  await c.connect();
  return c;
}

describe("the application user", () => {
  it("gets NOPERM for FLUSHALL and FLUSHDB, in every form, and the data stays", async () => {
    const app = await primaryAs("app");
    await app.set("emotives:kb1", "joy");
    for (const command of [["FLUSHALL"], ["FLUSHALL", "ASYNC"], ["FLUSHDB"], ["FLUSHDB", "SYNC"]]) {
      await expect(app.call(command[0], ...command.slice(1))).rejects.toThrow(/^NOPERM/);
    }
    for (const command of [
      ["SWAPDB", "0", "1"],
      ["CONFIG", "SET", "appendonly", "no"],
      ["SHUTDOWN"],
      ["ACL", "SETUSER", "app", "+@all"],
      ["MIGRATE", "127.0.0.1", "1", "k", "0", "1000"],
    ]) {
      await expect(app.call(command[0], ...command.slice(1))).rejects.toThrow(/^NOPERM/);
    }
    expect(await app.get("emotives:kb1")).toBe("joy");
  });

  it("can use every data type, across databases", async () => {
    const app = await primaryAs("app");
    await app.hset("metadata:p1", { tag: "a" });
    await app.rpush("list:1", "x", "y");
    await app.sadd("set:1", "m");
    await app.zadd("freq:1", 3, "sym");
    await app.xadd("stream:1", "*", "f", "v");
    await app.select(3);
    await app.set("db3:key", "v", "EX", 100);
    expect(await app.ttl("db3:key")).toBeGreaterThan(90);
    await app.select(0);
    expect(await app.zscore("freq:1", "sym")).toBe("3");
  });
});

describe("the default user", () => {
  it("cannot run a command without authenticating, nor authenticate", async () => {
    const primary = await set.waitForHealthy();
    const cli = (...args: string[]) =>
      spawnSync("redis-cli", ["--no-auth-warning", "-p", String(primary.port), ...args], {
        encoding: "utf8",
        env: { PATH: process.env.PATH },
      });
    expect(cli("GET", "emotives:kb1").stdout).toMatch(/NOAUTH/);
    expect(cli("FLUSHALL").stdout).toMatch(/NOAUTH/);
    expect(cli("AUTH", "default", "anything").stdout).toMatch(/WRONGPASS/);
    expect(cli("--user", "default", "--pass", "", "PING").stdout).toMatch(/WRONGPASS|NOAUTH/);
  });
});

describe("the backup user", () => {
  it("streams the dataset over the replication protocol, and the RDB is valid", async () => {
    const primary = await set.waitForHealthy();
    const rdb = path.join(set.dir, "backup-user.rdb");
    const r = spawnSync(
      "redis-cli",
      [
        "--no-auth-warning",
        "-p",
        String(primary.port),
        "--user",
        "backup",
        "--pass",
        set.password("backup"),
        "--rdb",
        rdb,
      ],
      {
        encoding: "utf8",
        timeout: 30000,
      },
    );
    expect(r.status).toBe(0);
    expect(fs.statSync(rdb).size).toBeGreaterThan(20);
    const check = spawnSync("redis-check-rdb", [rdb], { encoding: "utf8" });
    expect(check.stdout).toMatch(/RDB looks OK/);
  });

  it("cannot write, delete, flush or reconfigure", async () => {
    const backup = await primaryAs("backup");
    expect(await backup.info("persistence")).toMatch(/aof_enabled:1/);
    for (const command of [
      ["SET", "x", "1"],
      ["DEL", "emotives:kb1"],
      ["FLUSHALL"],
      ["CONFIG", "SET", "save", ""],
      ["GET", "emotives:kb1"],
    ]) {
      await expect(backup.call(command[0], ...command.slice(1))).rejects.toThrow(/^NOPERM/);
    }
  });
});

describe("the other service users", () => {
  it("probe, replication and sentinel users cannot write data", async () => {
    for (const role of ["probe", "replication", "sentinel"] as const) {
      const c = await primaryAs(role);
      await expect(c.set("x", "1")).rejects.toThrow(/^NOPERM/);
      await expect(c.call("FLUSHALL")).rejects.toThrow(/^NOPERM/);
    }
  });
});

describe("the exporter user", () => {
  it("reads what redis_exporter reads on data nodes, never CONFIG GET (masterauth) or data", async () => {
    const exporter = await primaryAs("exporter");
    expect(await exporter.info()).toMatch(/# Replication/);
    expect(await exporter.call("SLOWLOG", "GET", "10")).toBeDefined();
    expect(await exporter.call("LATENCY", "LATEST")).toBeDefined();
    for (const command of [
      ["CONFIG", "GET", "masterauth"],
      ["SET", "x", "1"],
      ["GET", "emotives:kb1"],
      ["FLUSHALL"],
    ]) {
      await expect(exporter.call(command[0], ...command.slice(1))).rejects.toThrow(/^NOPERM/);
    }
  });

  it("reads the SENTINEL listings on sentinels, and cannot fail over or reconfigure them", async () => {
    const c = set.connect(set.sentinels[0], "exporter");
    await c.connect();
    expect(await c.info()).toMatch(/# Sentinel/);
    expect((await c.call("SENTINEL", "MASTERS")) as unknown[]).toHaveLength(1);
    // A sentinel may also list a replica it saw mid-handshake as 127.0.0.1:0 (disconnected): count the live ones.
    const replicas = (await c.call("SENTINEL", "SLAVES", set.masterName)) as string[][];
    const live = replicas.filter((r) => !r[r.indexOf("flags") + 1].includes("disconnected"));
    expect(live).toHaveLength(2);
    for (const command of [
      ["SENTINEL", "FAILOVER", set.masterName],
      ["SENTINEL", "SET", set.masterName, "quorum", "1"],
    ]) {
      await expect(c.call(command[0], ...command.slice(1))).rejects.toThrow(/^NOPERM/);
    }
  });
});

describe("the probes the data pods declare", () => {
  const probe = (command: string[], port: number) => {
    const [shell, flag, script] = command;
    return spawnSync(shell, [flag, script.replaceAll(`-p ${REDIS_PORT}`, `-p ${port}`)], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, REDISCLI_AUTH: set.password("probe") },
    });
  };

  it("are live and ready on the primary and on synced replicas; a replica that lost its primary is live but not ready", async () => {
    const primary = await set.waitForHealthy();
    for (const pod of set.data) {
      expect(probe(DATA_LIVENESS, pod.port).status).toBe(0);
      expect(probe(DATA_READINESS, pod.port).status).toBe(0);
    }
    const replica = set.data.find((d) => d !== primary)!;
    await set.kill(primary);
    // The replica notices the broken link within its repl-timeout; the probe must then report not ready.
    const started = Date.now();
    let ready = probe(DATA_READINESS, replica.port);
    while (ready.status === 0 && Date.now() - started < 20000) {
      await new Promise((r) => setTimeout(r, 200));
      ready = probe(DATA_READINESS, replica.port);
    }
    expect(ready.status).toBe(1);
    expect(ready.stdout).toMatch(/replica not in sync/);
    expect(probe(DATA_LIVENESS, replica.port).status).toBe(0);
    expect(probe(DATA_LIVENESS, primary.port).status).not.toBe(0);
  });
});
