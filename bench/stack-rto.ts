// Recovery time of a whole stack: `holdfast stack restore redis|lancedb` against the manual procedure an
// operator would follow, both scripted in the same run against the same stand-in of a deployed stack
// (harness/stack-cluster: the Kubernetes API stand-in with the dev stack's rendered objects, its kubelet
// running the Redis pods (3 data pods, 3 sentinels) as real redis-server and sentinel processes on their
// claims' folders and every Job as a local process, s3rver as the bucket).
//
// Redis (--size of 4 KiB random values, default 1 GiB): a backup through `stack backup redis`, then
// per round the loss (FLUSHALL on the primary, replicated), and in alternating order
//   (H) holdfast stack restore redis --backup ID --json, timed from the command to a verified, writable
//       primary (pod 0 takes a SET, DBSIZE is the backup's) with both replicas online at its offset;
//       its steps from its own report (outcome.steps), the restore Job's download/verify/place timings
//   (M) the manual procedure: aws s3 cp the backup's dump.rdb down; scale the sentinels and the data
//       pods to 0 (kubectl patch's merge patch); move pod 0's files aside and copy the RDB in as dump.rdb; set
//       `appendonly no` in the pods' redis.conf (the ConfigMap's mounted file, which the kubelet stand-in
//       reads at pod start); scale up and wait for the same verified, writable, in-sync state; turn the
//       AOF back on (CONFIG SET appendonly yes on every node, wait for the rewrites) and put the
//       setting back; each step timed.
// LanceDB (--size of the LanceDB benchmark's dataset): a snapshot through `stack backup lancedb` and
// an `aws s3 sync` of the same directory to the bucket (an operator's copy), then per round the loss (the
// volume emptied), and in alternating order
//   (H) holdfast stack restore lancedb --backup latest --no-safety-backup --json (the volume is empty:
//       nothing to back up first), and its steps
//   (M) scale the application to 0, aws s3 sync the copy down into the volume, scale back to 1, open
//       every table and count its rows.
// The application pod of the stand-in runs no process, so its restart costs only the API round trips.
// The data pods' maxmemory is raised to hold --size (the dev stack's is 192 MiB) in their redis.conf
// and on the running pods. With --diskless-delay N the data pods' redis.conf gets `repl-diskless-sync-delay N` before the rounds
// (every pod start reads it), to measure what the rendered delay costs or saves when the replicas
// resynchronise. The CLI runs compiled, as the job image runs it, for the operator's command, the Jobs
// and the pods' init containers and sidecars. Results to bench/results/stack-rto-<time>.json.
// At the end it prints each store's RTO table (markdown: the steps of (H) beside those of (M), medians over
// the rounds with their range, the totals, when the set served, the ratio), also kept in the JSON.
//   npm run bench:rto -- --size 1GiB --rounds 3          # both stores, the RTO tables of RESULTS.md
//   npm run bench:rto -- [--size 1GiB | --size-mib 1024] [--rounds 3] [--store redis|lancedb|both]
//                        [--diskless-delay N] [--poll-interval 1s]
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Redis from "ioredis";
import * as lancedb from "@lancedb/lancedb";
import { compiledCli } from "../harness/holdfast-cli";
import type { StackCluster } from "../harness/stack-cluster";
import { generate } from "./lancedb-dataset";
import { fillRandomValues, flag, median, runTimed as run, sizeMib as sizeFlag, version } from "./support";

const root = path.join(__dirname, "..");
const AWS = "/usr/bin/aws";
const MiB = 1024 * 1024;

const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));
const since = (t0: number) => (Date.now() - t0) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The value after `--name`, or `fallback`. */
function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** What every part of the run shares. */
interface Bench {
  c: StackCluster;
  /** node + the compiled CLI. */
  holdfast: (args: string[]) => Promise<{ seconds: number; stdout: string; stderr: string }>;
  env: NodeJS.ProcessEnv;
  stackArgs: string[];
  /** The AWS CLI's endpoint arguments (2.9 reads no endpoint from the environment). */
  aws: string[];
  work: string;
  /** Names the run's files in bench/results/. */
  runId: string;
}

/** Steps of one recovery, in seconds, in order. */
type Steps = [string, number][];

/** What a stack restore's --json outcome says of its time. */
interface RestoreTimes {
  steps: { n: number; title: string; ms: number }[];
  preparation?: { startMs: number; openMs: number; planMs: number };
}

/** The steps of a stack restore: its start and planning (step 0, before the run), then each step run. */
function restoreSteps(o: RestoreTimes): Steps {
  const p = o.preparation;
  return [
    ...(p
      ? ([
          ["0 command start (node, modules)", p.startMs / 1000],
          ["0 stack opened (outputs, client, bucket)", p.openMs / 1000],
          ["0 planned (preflight reads)", p.planMs / 1000],
        ] as Steps)
      : []),
    ...o.steps.map((s): [string, number] => [`${s.n} ${s.title}`, s.ms / 1000]),
  ];
}

/** Times `fn` as step `name` of `steps`. */
async function step<T>(steps: Steps, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    steps.push([name, since(t0)]);
  }
}

/**
 * Scales StatefulSets and waits until their pods are gone (0) or all ready: the merge patch `kubectl patch
 * statefulset S -p '{"spec":{"replicas":N}}'` sends, applied to the stand-in's store (kubectl itself
 * needs API discovery, which the stand-in does not serve).
 */
async function scale(b: Bench, sets: string[], replicas: number): Promise<void> {
  for (const sts of sets)
    b.c.server.store.patch(
      b.c.server.store.type("apps/v1", "StatefulSet"),
      b.c.namespace,
      sts,
      "application/merge-patch+json",
      { spec: { replicas } },
    );
  // The StatefulSets' own pods (`<set>-<ordinal>`), not the pods of Jobs named after them.
  const own = new RegExp(`^(${sets.join("|")})-\\d+$`);
  const pods = () => b.c.objects("v1", "Pod").filter((p) => own.test(p.metadata.name));
  for (;;) {
    const now = pods();
    const ready = now.filter((p) =>
      ((p as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? []).some(
        (x) => x.type === "Ready" && x.status === "True",
      ),
    );
    if (replicas === 0 ? now.length === 0 : ready.length === sets.length * replicas) return;
    await sleep(100);
  }
}

/** Keeps the log of a stack restore (its stderr) in bench/results/, named by the run and the store. */
function keepLog(b: Bench, store: string, text: string): void {
  const file = path.join(root, "bench", "results", `${b.runId}-${store}-${Date.now()}.log`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** Removes what a previous round kept aside in a claim (bench housekeeping, not timed). */
function clearAside(b: Bench, kept: { claim: string; dir: string }[] = []): void {
  for (const { claim, dir } of kept) {
    const local = b.c.claimDir(claim);
    const resolved = dir.startsWith(local)
      ? dir
      : dir.replace(/^\/[^/]+(\/[^/]+)?(?=\/holdfast-aside)/, local);
    if (resolved.startsWith(local + path.sep)) fs.rmSync(resolved, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------- Redis

/** An admin connection to data pod `i`. */
async function admin(b: Bench, i: number): Promise<Redis> {
  const r = b.c.set.connect(b.c.set.data[i], "admin");
  await r.connect();
  return r;
}

/**
 * Whether pod 0 is a primary holding `keys` keys in db 0 with both replicas online at its offset, and
 * takes writes: with `write`, a SET and DEL of a probe key succeed; without (while a restore's own
 * verification may be counting keys), min-replicas-to-write is met (min_slaves_good_slaves).
 */
async function servingInSync(b: Bench, keys: number, write = true): Promise<boolean> {
  if (!b.c.set.data[0].server) return false;
  const r = await admin(b, 0).catch(() => undefined);
  if (!r) return false;
  try {
    const info = String(await r.info("replication"));
    if (!/^role:master/m.test(info) || /^loading:1/m.test(String(await r.info("persistence")))) return false;
    const offset = Number(/^master_repl_offset:(\d+)/m.exec(info)?.[1]);
    const replicas = [...info.matchAll(/^slave\d+:.*state=(\w+),offset=(\d+)/gm)];
    if (replicas.length !== 2 || replicas.some((m) => m[1] !== "online" || Number(m[2]) !== offset))
      return false;
    if ((await r.dbsize()) !== keys) return false;
    if (!write) {
      const good = /^min_slaves_good_slaves:(\d+)/m.exec(info);
      const min = ((await r.config("GET", "min-replicas-to-write")) as string[])[1];
      return !good || Number(good[1]) >= Number(min);
    }
    return (
      (await r.set("bench:rto-probe", String(Date.now()))) === "OK" && (await r.del("bench:rto-probe")) === 1
    );
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function waitServing(b: Bench, keys: number): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  while (!(await servingInSync(b, keys))) {
    if (Date.now() > deadline) throw new Error("the set did not come back serving and in sync in 30 min");
    await sleep(100);
  }
}

/** The loss: FLUSHALL on the primary (replicated), each node's AOF rewritten small; asides removed. */
async function redisLoss(b: Bench, kept: { claim: string; dir: string }[]): Promise<void> {
  const p = await admin(b, 0);
  try {
    await p.flushall();
    await waitServing(b, 0);
  } finally {
    p.disconnect();
  }
  for (let i = 0; i < 3; i++) {
    const r = await admin(b, i);
    try {
      // A node back from a restore may be rewriting its AOF already; that rewrite does as well.
      await r.bgrewriteaof().catch((err: Error) => {
        if (!/already in progress/.test(err.message)) throw err;
      });
      while (/^aof_rewrite_(in_progress|scheduled):1/m.test(String(await r.info("persistence"))))
        await sleep(100);
    } finally {
      r.disconnect();
    }
  }
  clearAside(b, kept);
  for (let i = 0; i < 3; i++)
    fs.rmSync(path.join(b.c.claimDir(`data-redis-${i}`), "manual-aside"), { recursive: true, force: true });
}

/** The restore Job's own timings (download, verify, place), from its log. */
function restoreJobTimings(b: Bench, since0: number): Record<string, number> | undefined {
  const logs = path.join(b.c.dir, "kubelet", "logs");
  for (const f of fs.readdirSync(logs).filter((n) => /restore.*data-redis-0/.test(n))) {
    const file = path.join(logs, f);
    if (fs.statSync(file).mtimeMs < since0) continue;
    for (const line of fs.readFileSync(file, "utf8").split("\n").reverse()) {
      const m = /"timings":(\{[^}]*\})/.exec(line);
      if (m) return JSON.parse(m[1]) as Record<string, number>;
    }
  }
  return undefined;
}

/** (H) holdfast stack restore redis, to a verified, writable, in-sync set. */
async function holdfastRedis(b: Bench, id: string, keys: number) {
  const t0 = Date.now();
  // Meanwhile, when pod 0 first serves the backup's keys, writable, with both replicas in sync.
  let serving: number | undefined;
  let done = false;
  const watch = (async () => {
    while (!done && serving === undefined) {
      if (await servingInSync(b, keys, false)) serving = since(t0);
      else await sleep(250);
    }
  })();
  const r = await b
    .holdfast(["stack", "restore", "redis", ...b.stackArgs, "--backup", id, "--json"])
    .finally(() => {
      done = true;
    });
  await watch;
  const command = since(t0);
  keepLog(b, "redis", r.stderr);
  const t1 = Date.now();
  await waitServing(b, keys);
  const out = JSON.parse(r.stdout) as {
    outcome: RestoreTimes & {
      actions: { key: string; ms: number; status: string }[];
      keptAside: { claim: string; dir: string }[];
    };
  };
  const steps: Steps = restoreSteps(out.outcome);
  steps.push(["after the command: serving and in sync", since(t1)]);
  return {
    seconds: since(t0),
    command,
    serving,
    steps,
    actions: out.outcome.actions.filter((a) => a.status === "done").map((a) => [a.key, a.ms / 1000]),
    restoreJob: restoreJobTimings(b, t0),
    kept: out.outcome.keptAside,
  };
}

/** Sets `appendonly` in every data pod's redis.conf (the ConfigMap edit, as the pods mount it). */
function setAppendonly(b: Bench, value: "yes" | "no"): void {
  for (const pod of b.c.set.data) {
    const file = path.join(pod.dir, "config", "redis.conf");
    fs.writeFileSync(
      file,
      fs.readFileSync(file, "utf8").replace(/^appendonly (yes|no)$/m, `appendonly ${value}`),
    );
  }
}

/** (M) the manual procedure, each step timed. */
async function manualRedis(b: Bench, id: string, keys: number) {
  const steps: Steps = [];
  const t0 = Date.now();
  const rdb = path.join(b.work, "manual", "dump.rdb");
  fs.mkdirSync(path.dirname(rdb), { recursive: true });
  const { bucket, prefix } = b.c.outputs.backup;
  await step(steps, "aws s3 cp the RDB down", () =>
    run(
      AWS,
      [...b.aws, "s3", "cp", `s3://${bucket}/${prefix}/redis/${id}/dump.rdb`, rdb, "--only-show-errors"],
      b.env,
    ),
  );
  const { statefulSet, sentinelStatefulSet } = b.c.outputs.redis;
  await step(steps, "scale down (sentinels, data pods)", () =>
    scale(b, [sentinelStatefulSet, statefulSet], 0),
  );
  await step(steps, "move pod 0's files aside, copy the RDB in", async () => {
    const data = b.c.claimDir("data-redis-0");
    const aside = path.join(data, "manual-aside");
    fs.mkdirSync(aside, { recursive: true });
    for (const f of ["dump.rdb", "appendonlydir"])
      if (fs.existsSync(path.join(data, f))) fs.renameSync(path.join(data, f), path.join(aside, f));
    await run("cp", [rdb, path.join(data, "dump.rdb")], b.env);
  });
  await step(steps, "appendonly no in redis.conf", async () => setAppendonly(b, "no"));
  let serving = 0;
  await step(steps, "scale up, wait: serving and in sync", async () => {
    await scale(b, [sentinelStatefulSet, statefulSet], 3);
    await waitServing(b, keys);
    serving = since(t0);
  });
  await step(steps, "AOF back on (CONFIG SET, rewrites), setting back", async () => {
    await Promise.all(
      [0, 1, 2].map(async (i) => {
        const r = await admin(b, i);
        try {
          await r.config("SET", "appendonly", "yes");
          for (;;) {
            const p = String(await r.info("persistence"));
            if (/^aof_enabled:1/m.test(p) && !/^aof_rewrite_(in_progress|scheduled):1/m.test(p)) break;
            await sleep(100);
          }
        } finally {
          r.disconnect();
        }
      }),
    );
    setAppendonly(b, "yes");
  });
  fs.rmSync(rdb, { force: true });
  return { seconds: since(t0), serving, steps };
}

/** Sets repl-diskless-sync-delay in every data pod's redis.conf (read at the pod's next start). */
function setDisklessDelay(b: Bench, seconds: number): void {
  for (const pod of b.c.set.data) {
    const file = path.join(pod.dir, "config", "redis.conf");
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, "utf8")
        .replace(/^repl-diskless-sync-delay \d+$/m, `repl-diskless-sync-delay ${seconds}`),
    );
  }
}

/**
 * Raises the data pods' maxmemory (the dev stack renders 75% of a small memory limit) to hold `bytes`
 * with room to spare: CONFIG SET on the running pods and in their redis.conf for the next start.
 */
async function makeRoom(b: Bench, bytes: number): Promise<void> {
  const room = Math.ceil(bytes * 1.5) + 64 * MiB;
  for (let i = 0; i < b.c.set.data.length; i++) {
    const file = path.join(b.c.set.data[i].dir, "config", "redis.conf");
    const conf = fs.readFileSync(file, "utf8");
    if (Number(/^maxmemory (\d+)$/m.exec(conf)?.[1] ?? 0) >= room) continue;
    fs.writeFileSync(file, conf.replace(/^maxmemory \d+$/m, `maxmemory ${room}`));
    const r = await admin(b, i);
    try {
      await r.config("SET", "maxmemory", String(room));
    } finally {
      r.disconnect();
    }
  }
}

async function redisRto(b: Bench, sizeMib: number, rounds: number) {
  await makeRoom(b, sizeMib * MiB);
  const p = await admin(b, 0);
  const t0 = Date.now();
  const keys = await fillRandomValues(p, 0, sizeMib * MiB);
  p.disconnect();
  console.log(`redis: ${keys} keys of random values in ${since(t0).toFixed(0)} s`);
  await waitServing(b, keys);
  const delay = flag("diskless-delay", -1);
  if (delay >= 0) setDisklessDelay(b, delay);
  const conf = fs.readFileSync(path.join(b.c.set.data[0].dir, "config", "redis.conf"), "utf8");
  const replication = conf.split("\n").filter((l) => /^repl-diskless/.test(l));
  console.log(`redis: the data pods' ${replication.join(", ")}`);
  const backup = await b.holdfast([
    "stack",
    "backup",
    "redis",
    ...b.stackArgs,
    "--reason",
    "benchmark",
    "--wait",
    "60m",
  ]);
  console.log(`redis: stack backup in ${backup.seconds.toFixed(1)} s`);
  const list = await b.holdfast(["stack", "list", ...b.stackArgs, "--store", "redis", "--json"]);
  const id = (JSON.parse(list.stdout) as { id: string }[])
    .map((x) => x.id)
    .sort()
    .slice(-1)[0];
  const out = { keys, backup: id, replication, holdfast: [] as unknown[], manual: [] as unknown[] };
  let kept: { claim: string; dir: string }[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 ? ["manual", "holdfast"] : ["holdfast", "manual"]) {
      await redisLoss(b, kept);
      if (name === "holdfast") {
        const r = await holdfastRedis(b, id, keys);
        kept = r.kept;
        out.holdfast.push({ ...r, kept: undefined, loadavg: loadavg() });
        console.log(
          `redis round ${round + 1}: holdfast ${r.seconds.toFixed(1)} s (command ${r.command.toFixed(1)} s, serving and in sync at ${r.serving?.toFixed(1)} s) ${JSON.stringify(r.steps)} job ${JSON.stringify(r.restoreJob)}`,
        );
      } else {
        const r = await manualRedis(b, id, keys);
        out.manual.push({ ...r, loadavg: loadavg() });
        console.log(
          `redis round ${round + 1}: manual ${r.seconds.toFixed(1)} s (serving and in sync at ${r.serving.toFixed(1)} s) ${JSON.stringify(r.steps)}`,
        );
      }
    }
  }
  return summarize("redis", sizeMib, out);
}

// -------------------------------------------------------------------------------------------- LanceDB

async function countRows(dir: string): Promise<Record<string, number>> {
  const db = await lancedb.connect(dir);
  try {
    const counts: Record<string, number> = {};
    for (const name of await db.tableNames()) {
      const t = await db.openTable(name);
      counts[name] = await t.countRows();
      t.close();
    }
    return counts;
  } finally {
    db.close();
  }
}

async function lancedbRto(b: Bench, sizeMib: number, rounds: number) {
  const dir = b.c.claimDir("data-lancedb-0");
  let t0 = Date.now();
  await generate(dir, sizeMib);
  const expected = await countRows(dir);
  console.log(`lancedb: ${JSON.stringify(expected)} rows written in ${since(t0).toFixed(0)} s`);
  const { bucket, prefix } = b.c.outputs.backup;
  const copy = `s3://${bucket}/operator-copy/lancedb/`;
  const backup = await b.holdfast([
    "stack",
    "backup",
    "lancedb",
    ...b.stackArgs,
    "--reason",
    "benchmark",
    "--wait",
    "60m",
  ]);
  await run(AWS, [...b.aws, "s3", "sync", dir, copy, "--only-show-errors"], b.env);
  console.log(
    `lancedb: stack backup in ${backup.seconds.toFixed(1)} s; operator's copy at ${copy} (prefix ${prefix})`,
  );
  const out = { rows: expected, holdfast: [] as unknown[], manual: [] as unknown[] };
  let kept: { claim: string; dir: string }[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 ? ["manual", "holdfast"] : ["holdfast", "manual"]) {
      // The loss: the volume emptied (and what an earlier round kept aside removed).
      clearAside(b, kept);
      for (const e of fs.readdirSync(dir)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
      t0 = Date.now();
      if (name === "holdfast") {
        const r = await b.holdfast([
          "stack",
          "restore",
          "lancedb",
          ...b.stackArgs,
          "--backup",
          "latest",
          // An emptied volume has nothing to back up first (the safety backup refuses an empty one).
          "--no-safety-backup",
          "--json",
        ]);
        keepLog(b, "lancedb", r.stderr);
        const o = JSON.parse(r.stdout) as {
          outcome: RestoreTimes & {
            actions: { key: string; ms: number; status: string; detail?: string }[];
            keptAside: { claim: string; dir: string }[];
          };
        };
        kept = o.outcome.keptAside;
        const steps: Steps = restoreSteps(o.outcome);
        const job = o.outcome.actions.find((a) => a.key.startsWith("restore:"));
        if (job)
          console.log(
            `lancedb round ${round + 1}: restore Job ${(job.ms / 1000).toFixed(1)} s, ${job.detail}`,
          );
        out.holdfast.push({
          seconds: since(t0),
          steps,
          restoreJob: job ? { seconds: job.ms / 1000, detail: job.detail } : undefined,
          loadavg: loadavg(),
        });
        console.log(
          `lancedb round ${round + 1}: holdfast ${since(t0).toFixed(1)} s ${JSON.stringify(steps)}`,
        );
      } else {
        const steps: Steps = [];
        await step(steps, "scale down", () => scale(b, ["lancedb"], 0));
        await step(steps, "aws s3 sync down", () =>
          run(AWS, [...b.aws, "s3", "sync", copy, dir, "--only-show-errors"], b.env),
        );
        await step(steps, "scale up", () => scale(b, ["lancedb"], 1));
        await step(steps, "open and count every table", () => countRows(dir));
        out.manual.push({ seconds: since(t0), steps, loadavg: loadavg() });
        console.log(`lancedb round ${round + 1}: manual ${since(t0).toFixed(1)} s ${JSON.stringify(steps)}`);
      }
      const got = await countRows(dir);
      if (JSON.stringify(got) !== JSON.stringify(expected))
        throw new Error(
          `lancedb after ${name}: ${JSON.stringify(got)}, ${JSON.stringify(expected)} expected`,
        );
    }
  }
  return summarize("lancedb", sizeMib, out);
}

/** Seconds as the table shows them: `12.3 s`, with the rounds' range when there are several. */
function cell(values: number[]): string {
  const m = `${median(values).toFixed(1)} s`;
  if (values.length < 2) return m;
  return `${m} (${Math.min(...values).toFixed(1)} – ${Math.max(...values).toFixed(1)})`;
}

/** One recovery of the table: its steps and total, and when it was serving, writable and in sync. */
interface Recovery {
  seconds: number;
  serving?: number;
  steps: Steps;
}

/**
 * The RTO table of one store (markdown): each step of (H) beside each step of (M), medians over the
 * rounds with their range, then the totals, the serving time (Redis) and the ratio.
 */
function rtoTable(store: string, sizeMib: number, holdfast: Recovery[], manual: Recovery[]): string {
  const steps = (rs: Recovery[]) =>
    (rs[0]?.steps.map(([n]) => n) ?? []).map((n) => ({
      name: n,
      cell: cell(rs.map((r) => r.steps.find(([x]) => x === n)?.[1] ?? 0)),
    }));
  const h = steps(holdfast);
  const m = steps(manual);
  const command = store === "redis" ? "holdfast stack restore redis" : "holdfast stack restore lancedb";
  const rows: string[][] = [[`(H) \`${command}\``, "median (range)", "(M) manual", "median (range)"]];
  for (let i = 0; i < Math.max(h.length, m.length); i++)
    rows.push([h[i]?.name ?? "", h[i]?.cell ?? "", m[i]?.name ?? "", m[i]?.cell ?? ""]);
  const total = (rs: Recovery[]) => `**${cell(rs.map((r) => r.seconds))}**`;
  rows.push(["**total**", total(holdfast), "**total**", total(manual)]);
  const serving = (rs: Recovery[]) => rs.map((r) => r.serving).filter((x): x is number => x !== undefined);
  if (serving(holdfast).length || serving(manual).length)
    rows.push([
      "serving, writable, in sync",
      serving(holdfast).length ? cell(serving(holdfast)) : "not seen",
      "serving, writable, in sync",
      serving(manual).length ? cell(serving(manual)) : "not seen",
    ]);
  const widths = rows[0].map((_, c) => Math.max(3, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
  const ratio = median(holdfast.map((r) => r.seconds)) / median(manual.map((r) => r.seconds));
  return [
    `${store}, ${sizeMib >= 1024 ? `${sizeMib / 1024} GiB` : `${sizeMib} MiB`}, ${holdfast.length} + ${manual.length} rounds: ratio (H) / (M) of the medians ${ratio.toFixed(2)}`,
    "",
    line(rows[0]),
    `| ${widths.map((w, c) => (c % 2 ? "-".repeat(w - 1) + ":" : "-".repeat(w))).join(" | ")} |`,
    ...rows.slice(1).map(line),
  ].join("\n");
}

/** Medians of the totals and of each step, and the store's RTO table, printed; the rounds kept as they were. */
function summarize<T extends { holdfast: unknown[]; manual: unknown[] }>(
  store: string,
  sizeMib: number,
  out: T,
) {
  const h = out.holdfast as Recovery[];
  const m = out.manual as Recovery[];
  const table = rtoTable(store, sizeMib, h, m);
  console.log(`\n${table}\n`);
  const medians = (rs: Recovery[]) => ({
    seconds: median(rs.map((r) => r.seconds)),
    steps: (rs[0]?.steps ?? []).map(
      ([n]) => [n, median(rs.map((r) => r.steps.find(([x]) => x === n)?.[1] ?? 0))] as [string, number],
    ),
  });
  const ratio = median(h.map((r) => r.seconds)) / median(m.map((r) => r.seconds));
  return { ...out, median: { holdfast: medians(h), manual: medians(m), ratio }, table };
}

// ----------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const sizeMib = sizeFlag(1024);
  const rounds = flag("rounds", 3);
  const store = option("store", "both");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-bench-rto-"));
  const runId = `stack-rto-${new Date().toISOString().replace(/[:.]/g, "")}`;
  const machine = {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavgAtStart: loadavg(),
    node: process.version,
    redis: version("redis-server", ["--version"]),
    aws: version(AWS, ["--version"]),
    commit: version("git", ["-C", root, "rev-parse", "HEAD"]),
    uncommitted: spawnSync("git", ["-C", root, "status", "--porcelain"], { encoding: "utf8" })
      .stdout.split("\n")
      .filter(Boolean),
  };
  console.log("machine", JSON.stringify(machine));
  const results: Record<string, unknown> = { machine, sizeMib, rounds };
  try {
    // The CLI as the job image runs it (compiled, not tsx): the tests' cached build of this checkout. The
    // pods' init containers and sidecars and the Jobs run it too (HOLDFAST_BIN, read when the harness loads).
    const cli = compiledCli().bin;
    process.env.HOLDFAST_BIN = cli;
    const { StackCluster } = await import("../harness/stack-cluster");
    const out = path.join(root, "bench", "results", `${runId}.json`);
    const pollArgs = option("poll-interval", "") ? ["--poll-interval", option("poll-interval", "")] : [];
    for (const which of store === "both" ? ["redis", "lancedb"] : [store]) {
      const c = await StackCluster.start({ redis: which === "redis", dir: path.join(work, which) });
      try {
        const { AWS_CA_BUNDLE: _bundle, ...inherited } = process.env;
        const env = { ...inherited, ...c.env, AWS_PAGER: "" };
        const b: Bench = {
          c,
          env,
          work,
          runId,
          aws: ["--endpoint-url", c.s3.env.AWS_ENDPOINT_URL_S3],
          stackArgs: ["--stack", "dev", "--outputs", c.outputsFile, ...pollArgs],
          holdfast: (args) => run(process.execPath, [cli, ...args], env),
        };
        results[which] =
          which === "redis" ? await redisRto(b, sizeMib, rounds) : await lancedbRto(b, sizeMib, rounds);
      } finally {
        await c.cleanup();
      }
      // Written after each store, so a failure in the next one keeps what was measured.
      results.loadavgAtEnd = loadavg();
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
    }
    // Both stores' tables together, as RESULTS.md shows them.
    for (const which of ["redis", "lancedb"])
      if (results[which]) console.log(`\n${(results[which] as { table: string }).table}`);
    console.log(`\nresults: ${path.relative(root, out)}`);
  } finally {
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
