// The pack's ACL rule evaluator against a real redis-server: for each rule list, what the evaluator says a
// user may flush is what `ACL DRYRUN` answers, and an ACL file's users (the default user included, named
// or not) are what Redis loads from it.
import * as fs from "fs";
import * as path from "path";
import Redis from "ioredis";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { ProcessGroup, freePort, waitFor } from "../../harness/processes";
import {
  FLUSH_COMMANDS,
  aclRules,
  applyAclRules,
  flushCommandsOf,
  newUser,
  requiresPassword,
  usersOf,
} from "../../policies/lib/redis-acl";
import { parseConfig, viewOf } from "../../policies/lib/redis-conf";

const RULE_LISTS = [
  "+@all",
  "allcommands",
  "+@all -@dangerous",
  "+@all -@dangerous +flushall",
  "-flushall +@all",
  "+@all -flushall -flushdb",
  "+@keyspace",
  "+@write",
  "+@slow",
  "+@dangerous",
  "+@read +@admin",
  "+@all -@write",
  "+@all -@keyspace +flushdb",
  "nocommands",
  "+@all nocommands +flushdb",
  "+flushall|async",
  "+@all reset on",
  "(~* +flushall)",
  "-@all +multi +exec +slaveof +replicaof +ping +config|rewrite +role +info",
  "~* &* +@all -@dangerous +info +role +keys +sort +sort_ro -flushall -flushdb -swapdb",
  "~* &* +@all -@dangerous -@scripting +eval_ro +evalsha_ro +fcall_ro +script|load +script|exists +function|list +info +role +keys +sort +sort_ro -flushall -flushdb -swapdb",
  "-@all +psync|? +replconf|capa +replconf|rdb-only +ping +info +role",
  "+@all -@scripting",
];

describe("ACL evaluator against redis-server (ACL DRYRUN)", () => {
  let redis: StandaloneRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await StandaloneRedis.start();
    client = redis.client();
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.cleanup();
  });

  /** Whether Redis lets `user` run `command` in any of its forms (bare, ASYNC, SYNC). */
  async function redisAllows(c: Redis, user: string, command: string): Promise<boolean> {
    for (const args of [[command], [command, "ASYNC"], [command, "SYNC"]]) {
      try {
        if ((await c.call("ACL", "DRYRUN", user, ...args)) === "OK") return true;
      } catch {
        // NOPERM for this form; try the next
      }
    }
    return false;
  }

  it.each(RULE_LISTS.map((r, i) => [i, r]))("rule list %i: %s", async (i, rules) => {
    const name = `u${i}`;
    const words = (rules as string).split(" ");
    // Redis takes a selector as one argument; the evaluator gets words as an ACL file line gives them.
    await client.call("ACL", "SETUSER", name, "reset", "on", ...aclRules(words));
    const user = applyAclRules(newUser(name), aclRules(["on", ...words]));
    const evaluated = flushCommandsOf(user).map((c) => c.command);
    const real: string[] = [];
    for (const cmd of FLUSH_COMMANDS) if (await redisAllows(client, name, cmd)) real.push(cmd);
    expect(evaluated).toEqual(real);
  });

  it("reads an ACL file as Redis loads it: a named default line starts from a reset user, a missing one is on nopass +@all", async () => {
    const files: Record<string, string> = {
      named: "user admin on >adm ~* &* +@all\nuser default on >pw ~*\nuser app on >x ~* +@all -@dangerous\n",
      unnamed: "user admin on >adm ~* &* +@all\nuser app on >x ~* +@write\n",
    };
    for (const [label, text] of Object.entries(files)) {
      const file = path.join(redis.dir, `${label}.acl`);
      fs.writeFileSync(file, text);
      // Its own server: the default user of these files cannot even PING, so connect as admin.
      const port = await freePort();
      const processes = new ProcessGroup(path.join(redis.dir, `logs-${label}`));
      processes.start("redis", "redis-server", [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        redis.dir,
        "--aclfile",
        file,
      ]);
      const admin = new Redis({
        host: "127.0.0.1",
        port,
        username: "admin",
        password: "adm",
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
        lazyConnect: true,
        retryStrategy: () => 100,
      });
      admin.on("error", () => undefined);
      try {
        await waitFor(`redis-server with ${label}.acl`, async () => (await admin.ping()) === "PONG");
        const evaluated = usersOf(viewOf(parseConfig(text)).users);
        for (const user of evaluated) {
          const real: string[] = [];
          for (const cmd of FLUSH_COMMANDS) if (await redisAllows(admin, user.name, cmd)) real.push(cmd);
          expect([
            label,
            user.name,
            flushCommandsOf({ ...user, enabled: true }).map((c) => c.command),
          ]).toEqual([label, user.name, real]);
          const flags = ((await admin.call("ACL", "GETUSER", user.name)) as unknown[])[1] as string[];
          const realRequires = !flags.includes("on") || !flags.includes("nopass");
          expect([label, user.name, requiresPassword(user)]).toEqual([label, user.name, realRequires]);
        }
      } finally {
        admin.disconnect();
        await processes.killAll();
      }
    }
  });
});
