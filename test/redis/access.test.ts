// Who may do what on the rendered dev set, checked on real Redis: the application user is refused the
// flushes (of keys, functions and scripts) with NOPERM and runs only read-only scripts, the default user
// cannot connect, the backup user can stream the replication data but not write nor pass for a replica
// the primary counts, and the probes the pods declare tell a synced replica from one that is not.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type Redis from "ioredis";
import { RedisSet } from "../../harness/redis-set";
import { waitFor } from "../../harness/processes";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { ReplicationStream } from "../../jobs/redis-backup/replication/stream";
import { DATA_LIVENESS, DATA_READINESS } from "../../components/redis/spec";
import { REDIS_PORT } from "../../core/redis-set";

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

  it("gets NOPERM for FUNCTION FLUSH, DELETE, RESTORE and LOAD and for SCRIPT FLUSH, and the functions stay", async () => {
    const admin = await primaryAs("admin");
    const library =
      "#!lua name=counts\nredis.register_function{function_name='kb_count', callback=function(keys) return redis.call('DBSIZE') end, flags={'no-writes'}}";
    await admin.call("FUNCTION", "LOAD", "REPLACE", library);
    const dump = (await admin.callBuffer("FUNCTION", "DUMP")) as Buffer;
    const app = await primaryAs("app");
    for (const command of [
      ["FUNCTION", "FLUSH"],
      ["FUNCTION", "FLUSH", "ASYNC"],
      ["FUNCTION", "DELETE", "counts"],
      ["FUNCTION", "RESTORE", dump, "FLUSH"],
      ["FUNCTION", "RESTORE", dump, "REPLACE"],
      ["FUNCTION", "LOAD", "REPLACE", library],
      ["SCRIPT", "FLUSH"],
      ["SCRIPT", "FLUSH", "SYNC"],
    ] as [string, ...(string | Buffer)[]][]) {
      await expect(app.call(command[0], ...command.slice(1))).rejects.toThrow(/^NOPERM/);
    }
    expect(await admin.callBuffer("FUNCTION", "DUMP")).toEqual(dump);
    // What reads stay open: the libraries' list, read-only functions and scripts, cached scripts.
    expect(JSON.stringify(await app.call("FUNCTION", "LIST"))).toMatch(/kb_count/);
    expect(await app.call("FCALL_RO", "kb_count", "0")).toBe(await admin.dbsize());
    const sha = (await app.call("SCRIPT", "LOAD", "return redis.call('GET', KEYS[1])")) as string;
    await app.set("emotives:kb2", "calm");
    expect(await app.call("EVALSHA_RO", sha, "1", "emotives:kb2")).toBe("calm");
    expect(await app.call("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "emotives:kb2")).toBe("calm");
  });

  it("cannot run a script that writes: EVAL, EVALSHA and FCALL get NOPERM, a read-only script's write is refused", async () => {
    const admin = await primaryAs("admin");
    await admin.call(
      "FUNCTION",
      "LOAD",
      "REPLACE",
      "#!lua name=writes\nredis.register_function('set_it', function(keys, args) return redis.call('SET', keys[1], args[1]) end)",
    );
    const app = await primaryAs("app");
    const write = "return redis.call('SET', KEYS[1], ARGV[1])";
    const sha = (await app.call("SCRIPT", "LOAD", write)) as string;
    await expect(app.call("EVAL", write, "1", "script:key", "v")).rejects.toThrow(/^NOPERM/);
    await expect(app.call("EVALSHA", sha, "1", "script:key", "v")).rejects.toThrow(/^NOPERM/);
    await expect(app.call("FCALL", "set_it", "1", "script:key", "v")).rejects.toThrow(/^NOPERM/);
    await expect(app.call("EVAL_RO", write, "1", "script:key", "v")).rejects.toThrow(
      /Write commands are not allowed/,
    );
    await expect(app.call("FCALL_RO", "set_it", "1", "script:key", "v")).rejects.toThrow(
      /script with write flag using \*_ro/,
    );
    expect(await admin.exists("script:key")).toBe(0);
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
  it("streams a full snapshot over the replication protocol (PSYNC ?), and the RDB is valid", async () => {
    const primary = await set.waitForHealthy();
    const rdb = path.join(set.dir, "backup-user.rdb");
    const stream = await ReplicationStream.open(set.address(primary), {
      username: "backup",
      password: set.password("backup"),
    });
    const fd = fs.openSync(rdb, "w");
    try {
      await stream.pipe({
        write: (chunk) => (fs.writeSync(fd, chunk), true),
        drained: async () => undefined,
      });
    } finally {
      fs.closeSync(fd);
      stream.destroy();
    }
    expect(fs.statSync(rdb).size).toBeGreaterThan(20);
    const check = spawnSync("redis-check-rdb", [rdb], { encoding: "utf8" });
    expect(check.stdout).toMatch(/RDB looks OK/);
  });

  it("is refused what would make it a lasting replica: SYNC, a partial PSYNC and REPLCONF ACK", async () => {
    const backup = await primaryAs("backup");
    for (const command of [
      ["SYNC"],
      ["PSYNC", "8de1787ba490483314a4d30f1c628bc5025eb761", "1"],
      ["REPLCONF", "ACK", "0"],
      ["REPLCONF", "LISTENING-PORT", "6380"],
    ]) {
      await expect(backup.call(command[0], ...command.slice(1))).rejects.toThrow(/^NOPERM/);
    }
  });

  it("cannot pass for a replica the primary counts: with the real replicas frozen, min-replicas-to-write refuses writes", async () => {
    const primary = await set.waitForHealthy();
    const replicas = set.data.filter((d) => d !== primary);
    const admin = await primaryAs("admin");
    await admin.set("impostor:probe", "synced");
    // A real redis-server replicating from the primary as the backup user, acknowledging as replicas do.
    const impostor = await StandaloneRedis.start([
      `replicaof 127.0.0.1 ${primary.port}`,
      "masteruser backup",
      `masterauth ${set.password("backup")}`,
    ]);
    try {
      // It holds the data once its first full resynchronisation is done.
      await waitFor(
        "the backup user's replica to load the primary's data",
        async () => (await impostor.client().get("impostor:probe")) === "synced",
      );
      for (const r of replicas) r.server!.kill("SIGSTOP");
      const lag = Number(
        /^min-replicas-max-lag (\d+)$/m.exec(
          fs.readFileSync(path.join(primary.dir, "config", "redis.conf"), "utf8"),
        )![1],
      );
      await new Promise((r) => setTimeout(r, (lag + 2) * 1000));
      const app = set.connect(primary, "app");
      await app.connect();
      const outcomes: string[] = [];
      for (let i = 0; i < 20; i++) {
        outcomes.push(await app.set(`frozen:${i}`, "v").then(String, (e: Error) => e.message.split(" ")[0]));
        await new Promise((r) => setTimeout(r, 100));
      }
      expect([...new Set(outcomes)]).toEqual(["NOREPLICAS"]);
      expect(await admin.info("replication")).toMatch(/^min_slaves_good_slaves:0/m);
    } finally {
      for (const r of replicas) r.server!.kill("SIGCONT");
      await impostor.cleanup();
    }
    await set.waitForHealthy(60_000);
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
