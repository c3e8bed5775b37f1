// The data pods' start-up logic on the rendered dev set: a primary that comes back with a damaged AOF is
// repaired with the original kept and lets a replica with the whole dataset take over; an AOF that cannot
// be fixed stops the pod; a pod that holds data never becomes primary without the sentinels; a primary
// whose volume was lost waits for a replica to be promoted instead of serving an empty dataset.
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { PodProcess, RedisSet } from "../../harness/redis-set";
import { waitFor } from "../../harness/processes";
import { ASIDE_DIR } from "../../jobs/redis-pod/aside";

// A repaired primary waits for the sentinels to promote a replica: slow on a loaded two-core machine.
jest.setTimeout(180_000);

jest.setTimeout(180_000);

let set: RedisSet;
beforeAll(async () => {
  set = await RedisSet.start({ agents: false });
});
afterAll(async () => {
  await set?.cleanup();
});

const KEYS = 3000;

/** Writes KEYS keys through the primary, each batch acknowledged by both replicas. */
async function writeDataset(prefix: string): Promise<string[]> {
  const primary = await set.waitForHealthy();
  const c = set.connect(primary, "app");
  await c.connect();
  const keys: string[] = [];
  for (let b = 0; b < KEYS / 500; b++) {
    const p = c.pipeline();
    for (let i = 0; i < 500; i++) {
      const k = `${prefix}:emotives:${b * 500 + i}`;
      p.set(k, `value-${k}`);
      keys.push(k);
    }
    p.call("WAIT", "2", "5000");
    const replies = (await p.exec())!;
    expect(replies[replies.length - 1][1]).toBe(2);
  }
  return keys;
}

async function missingKeys(keys: string[]): Promise<string[]> {
  const primary = await set.waitForHealthy();
  const c = set.connect(primary, "app");
  await c.connect();
  const values = await c.mget(...keys);
  return keys.filter((k, i) => values[i] !== `value-${k}`);
}

function incrFile(pod: PodProcess): string {
  const dir = path.join(pod.dir, "data", "appendonlydir");
  return path.join(
    dir,
    fs.readdirSync(dir).find((f) => f.endsWith(".incr.aof"))!,
  );
}

const sha = (file: string) => spawnSync("sha256sum", [file], { encoding: "utf8" }).stdout.split(" ")[0];

/** Kills every data pod, damages the primary's AOF with `damage`, restarts them all as Kubernetes would. */
async function restartWithDamagedPrimary(damage: (incr: string) => void) {
  const primary = await set.waitForHealthy();
  await set.waitForAofWritten();
  await Promise.all(set.data.map((d) => set.kill(d)));
  const incr = incrFile(primary);
  damage(incr);
  const damaged = sha(incr);
  const [primaryInit] = await Promise.all([
    set.runDataInit(primary.ordinal, "150s").then(async (r) => {
      if (r.code === 0) await set.startData(primary.ordinal);
      return r;
    }),
    ...set.data.filter((d) => d !== primary).map((d) => set.startData(d.ordinal)),
  ]);
  return { primary, incr, damaged, primaryInit };
}

function keptCopies(pod: PodProcess, reason: string): string[] {
  const dir = path.join(pod.dir, "data", ASIDE_DIR);
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((d) => d.endsWith(`-${reason}`))
        .map((d) => path.join(dir, d))
    : [];
}

describe("start-up repair of the AOF", () => {
  it("repairs a primary's AOF cut short by a crash mid-write, keeps the original, and lets a replica holding every write take over", async () => {
    const keys = await writeDataset("truncated");
    const { primary, incr, damaged, primaryInit } = await restartWithDamagedPrimary((f) =>
      fs.truncateSync(f, fs.statSync(f).size - 5),
    );
    expect({ code: primaryInit.code, stderr: primaryInit.stderr }).toEqual({
      code: 0,
      stderr: expect.any(String),
    });
    expect(primaryInit.stderr).toMatch(/repaired the AOF.*an incomplete last write/);
    expect(primaryInit.stderr).toMatch(/AOF was repaired and may lack writes/);
    const [kept] = keptCopies(primary, "aof-repair");
    expect(sha(path.join(kept, "appendonlydir", path.basename(incr)))).toBe(damaged);
    // The cut tail held a write its replicas acknowledged: they take over, and nothing is missing.
    expect(await set.waitForHealthy(60000)).not.toBe(primary);
    expect(await missingKeys(keys)).toEqual([]);
  });

  it("repairs a primary's AOF damaged in the middle, keeps the original, and lets a replica holding every write take over", async () => {
    const keys = await writeDataset("corrupted");
    const { primary, incr, damaged, primaryInit } = await restartWithDamagedPrimary((f) => {
      const bytes = fs.readFileSync(f);
      bytes.write("GARBAGE!", bytes.indexOf("*3\r\n$3\r\nset", Math.floor(bytes.length / 2)));
      fs.writeFileSync(f, bytes);
    });
    expect({ code: primaryInit.code, stderr: primaryInit.stderr }).toEqual({
      code: 0,
      stderr: expect.any(String),
    });
    expect(primaryInit.stderr).toMatch(/repaired the AOF.*commands after damage/);
    expect(primaryInit.stderr).toMatch(/AOF was repaired and may lack writes/);
    const kept = keptCopies(primary, "aof-repair");
    expect(kept.map((k) => sha(path.join(k, "appendonlydir", path.basename(incr))))).toContain(damaged);
    const newPrimary = await set.waitForHealthy(60000);
    expect(newPrimary).not.toBe(primary);
    expect(await missingKeys(keys)).toEqual([]);
  });

  it("stops a pod whose AOF cannot be fixed, with a clear message and its files untouched", async () => {
    const primary = await set.waitForHealthy();
    const replica = set.data.find((d) => d !== primary)!;
    await set.kill(replica);
    const dir = path.join(replica.dir, "data", "appendonlydir");
    const base = path.join(
      dir,
      fs.readdirSync(dir).find((f) => f.includes(".base."))!,
    );
    const bytes = fs.readFileSync(base);
    bytes.write("XX", 30);
    fs.writeFileSync(base, bytes);
    const before = sha(base);
    const init = await set.runDataInit(replica.ordinal, "10s");
    expect(init.code).toBe(1);
    expect(init.stderr).toMatch(/corrupt and redis-check-aof cannot fix it/);
    expect(init.stderr).toMatch(/Redis was not started/);
    expect(init.stderr).not.toMatch(/\n\s+at /); // one message, no stack trace
    expect(sha(base)).toBe(before);
    // The operator's way out: set the damaged files aside and let the pod resynchronise from the primary.
    fs.renameSync(dir, path.join(replica.dir, "data", "appendonlydir.damaged"));
    await set.startData(replica.ordinal);
    await set.waitForHealthy();
  });
});

describe("the role at start", () => {
  it("a pod holding data that cannot reach a sentinel majority waits and never becomes a second primary", async () => {
    const primary = await set.waitForHealthy();
    const replica = set.data.find((d) => d !== primary)!;
    await set.kill(replica);
    await Promise.all(set.sentinels.slice(0, 2).map((s) => set.kill(s)));
    const roleConf = path.join(replica.dir, "run", "role.conf");
    const roleBefore = fs.readFileSync(roleConf, "utf8");
    const init = await set.runDataInit(replica.ordinal, "5s");
    expect(init.code).toBe(1);
    expect(init.stderr).toMatch(/only 1 of 3 sentinels reachable \(need 2\).*holding this pod's data/);
    // It asked quickly at first (100 ms, doubling to 2 s: seven looks in 5 s, where a fixed 2 s pause
    // makes four) and gave up at its timeout, not a pause later.
    const [, looks, waited] = /asking the sentinels (\d+) times in ([\d.]+) s/.exec(init.stderr) ?? [];
    expect(Number(looks)).toBeGreaterThanOrEqual(6);
    expect(Number(looks)).toBeLessThanOrEqual(9);
    expect(Number(waited)).toBeGreaterThanOrEqual(5);
    expect(Number(waited)).toBeLessThan(5.8);
    expect(fs.readFileSync(roleConf, "utf8")).toBe(roleBefore); // no role was written
    expect((await set.replication(primary)).role).toBe("master");

    await Promise.all(set.sentinels.slice(0, 2).map((s) => set.startSentinel(s.ordinal)));
    await set.startData(replica.ordinal);
    expect((await set.replication(replica)).role).toBe("slave");
    await set.waitForHealthy();
  });

  it("a primary that lost its volume waits for a replica to be promoted, then resynchronises from it", async () => {
    const keys = await writeDataset("volume-lost");
    const primary = await set.waitForHealthy();
    await set.kill(primary);
    fs.rmSync(path.join(primary.dir, "data"), { recursive: true });
    fs.mkdirSync(path.join(primary.dir, "data"));
    const restart = set.startData(primary.ordinal, "60s");
    const newPrimary = await set.waitForHealthy(60000).catch(() => undefined);
    await restart;
    expect(newPrimary).toBeDefined();
    expect(newPrimary).not.toBe(primary);
    expect((await set.replication(primary)).role).toBe("slave");
    await waitFor(
      "the old primary to resynchronise",
      async () => (await set.replication(primary)).master_link_status === "up",
    );
    expect(await missingKeys(keys)).toEqual([]);
  });
});
