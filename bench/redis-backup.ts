// Benchmark of `holdfast backup redis` and `holdfast restore redis` against the production limit and
// what a user would script by hand, all against one redis-server and one s3rver in the same run:
//   backup  (L) redis-cli --rdb - >/dev/null: the time the source takes to produce the RDB, the limit of a
//               backup whose upload is fully overlapped with production      goal: H <= 1.05 x (L)
//           (H) holdfast backup redis: replication stream -> sha256 + CRC-64 + scan -> multipart upload
//           (a) redis-cli --rdb FILE, then aws s3 cp FILE s3://...          goal: H <= 0.75 x (a)
//           (b) redis-cli --rdb - | aws s3 cp - s3://...                    goal: H <= 1.10 x (b)
//           Holdfast's peak RSS (VmHWM by /usr/bin/time)                    goal: < 150 MiB at 1 and 2 GiB
//   restore (H) holdfast restore redis (download, checks, verification load in a throw-away
//               redis-server, placement), then a stock redis-server loads the directory and serves
//           (S) holdfast restore redis --verify serving (download, checks, placement, the serving
//               redis-server's own load checked on a private socket, then its port opened): until the
//               command exits and the server answers DBSIZE on its port
//           (r) aws s3 cp s3://.../dump.rdb DIR/, then a stock redis-server loads it and serves
//                                                                           goal: S <= 1.10 x (r)
// The dataset is values of 4 KiB of random bytes (incompressible), pipelined SETs, until the RDB holds
// --size-mib MiB; then more until --second-size-mib for the memory check at 2 GiB. The Redis server has
// the replication settings the stack renders (components/redis/conf.ts: diskless sync and its delay) and
// default rdbcompression; a sentinel monitors it so Holdfast finds it as in production (--source
// primary: it has no replica). Every replication client, redis-cli's included, waits for the diskless
// sync delay before the source forks: with --delay-zero 1 (default) the backup rounds run a second time
// with `repl-diskless-sync-delay 0` set on the same server, which measures what that wait costs; and
// --wait-rounds transfers from an empty server with the same settings measure the wait alone.
// Each backup round also prints the CPU seconds it cost the source (its forked RDB production included),
// s3rver and the client side (holdfast, redis-cli or aws), from /proc, and each restore round those of
// s3rver and of the client with the redis-servers that load (the throw-away one and the serving one): on
// a machine of few cores, where the bucket's stand-in shares the cores, they say which work the wall
// time is made of.
// Holdfast runs as the job image runs it: compiled with tsconfig.build.json. Times are medians of
// --rounds runs in rotating order. The AWS CLI is Debian's /usr/bin/aws (v2).
// The restore runs --restore-rounds times each at both sizes (default --rounds; 0 skips it), in rotating
// order; the backup at the second size runs --second-rounds times (--second-size-mib 0 skips it).
// --restore-only 1 skips the backup comparison: one Holdfast backup and one `aws s3 cp` upload per size,
// then the restore rounds. The results name the commit measured and whether jobs/ had uncommitted changes.
//   npm run bench:redis -- [--size-mib 1100] [--second-size-mib 2200] [--rounds 3] [--second-rounds 3]
//                          [--restore-rounds 3] [--delay-zero 1] [--wait-rounds 10] [--restore-only 0]
// HOLDFAST_BENCH_CPU_PROF=<dir>: the --verify serving restores write a V8 CPU profile there (--cpu-prof).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { compiledCli } from "../harness/holdfast-cli";
import { S3Server } from "../harness/s3";
import { freePort, ProcessGroup, waitFor } from "../harness/processes";
import { renderRedisConf } from "../components/redis/conf";
import {
  cpuSeconds,
  fillRandomValues as fill,
  flag,
  median,
  runTimed,
  serveDir,
  version,
  VALUE,
  watchedSource,
  writeResults,
} from "./support";

const root = path.join(__dirname, "..");
const AWS = "/usr/bin/aws";
const MiB = 1024 * 1024;

const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

/** The replication settings of the redis.conf the stack renders, as redis-server arguments. */
export function renderedReplicationArgs(): string[] {
  const conf = renderRedisConf({
    port: 6379,
    bind: "*",
    dataDir: "/data",
    aclFile: "/auth/users.acl",
    includes: [],
    maxmemoryBytes: 0,
    minReplicasToWrite: 0,
    minReplicasMaxLag: 10,
    busyReplyThresholdMs: 5000,
  });
  return conf
    .split("\n")
    .filter((l) => /^repl-diskless-sync/.test(l))
    .flatMap((l) => {
      const [name, ...value] = l.split(" ");
      return [`--${name}`, value.join(" ")];
    });
}

/** What the run needs: the source, its sentinel, the bucket, the CLI and the scratch paths. */
interface Bench {
  work: string;
  group: ProcessGroup;
  cli: string;
  port: number;
  sentinelPort: number;
  redis: Redis;
  env: NodeJS.ProcessEnv;
  endpoint: string;
  rssFile: string;
  rdbFile: string;
  keys: number;
  /** The source redis-server's and s3rver's process ids, for the CPU each method costs them. */
  sourcePid?: number;
  s3Pid?: number;
}

/** Starts the source (the stack's replication settings) and a sentinel watching it. */
async function startSource(
  work: string,
  group: ProcessGroup,
): Promise<Pick<Bench, "port" | "sentinelPort" | "redis" | "sourcePid">> {
  const port = await freePort();
  const dataDir = path.join(work, "redis");
  fs.mkdirSync(dataDir);
  const replication = renderedReplicationArgs();
  console.log(`source replication settings (rendered): ${replication.join(" ")}`);
  const source = group.start("redis", "redis-server", [
    ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dataDir],
    ...["--save", "", "--appendonly", "no"],
    ...replication,
  ]);
  return { ...(await watchedSource(work, group, port)), sourcePid: source.pid };
}

/** The source's repl-diskless-sync-delay now. */
async function diskSyncDelay(redis: Redis): Promise<string> {
  return ((await redis.config("GET", "repl-diskless-sync-delay")) as string[])[1];
}

type Method = () => Promise<{ seconds: number; rssMiB?: number; id?: string }>;

/** The backup methods, by name: the limit, Holdfast and the two hand-run ways. */
function backupMethods(b: Bench): Record<string, Method> {
  const shell = async (script: string) => ({
    seconds: (await runTimed("bash", ["-c", script], b.env)).seconds,
  });
  return {
    // `--rdb /dev/null` exits 1 after the transfer (redis-cli 7.0 fsyncs the file: EINVAL on /dev/null);
    // `--rdb -` into /dev/null is the same transfer without the fsync.
    limit: () =>
      shell(
        `set -eo pipefail; redis-cli -p ${b.port} --rdb - 2>&1 >/dev/null | grep -q "finished with success"`,
      ),
    holdfast: async () => {
      const r = await runTimed(
        "/usr/bin/time",
        [
          ...["-f", "%M", "-o", b.rssFile, process.execPath, b.cli, "backup", "redis"],
          ...["--sentinel", `127.0.0.1:${b.sentinelPort}`, "--master-name", "bench", "--source", "primary"],
          ...["--bucket", "bench-holdfast", "--prefix", "bench", "--reason", "benchmark", "--json"],
        ],
        b.env,
      );
      const out = JSON.parse(r.stdout);
      if (out.keys !== b.keys) throw new Error(`holdfast backed up ${out.keys} keys, ${b.keys} expected`);
      return {
        seconds: r.seconds,
        rssMiB: Number(fs.readFileSync(b.rssFile, "utf8").trim()) / 1024,
        id: out.id,
      };
    },
    "rdb-file-then-aws-cp": () =>
      shell(
        `set -e; redis-cli -p ${b.port} --rdb ${b.rdbFile} >/dev/null 2>&1; ${AWS} --endpoint-url ${b.endpoint} s3 cp ${b.rdbFile} s3://bench-aws/file/dump.rdb --only-show-errors; rm -f ${b.rdbFile}`,
      ),
    "rdb-pipe-aws-cp": () =>
      shell(
        `set -eo pipefail; redis-cli -p ${b.port} --rdb - 2>/dev/null | ${AWS} --endpoint-url ${b.endpoint} s3 cp - s3://bench-aws/pipe/dump.rdb --only-show-errors`,
      ),
  };
}

/**
 * CPU seconds a method cost: the source (with its forked RDB production), s3rver, and the client side
 * (the benchmark's commands: holdfast, redis-cli, aws, with their children).
 */
interface CpuShare {
  source: number;
  s3rver: number;
  client: number;
}

function cpuNow(b: Bench): CpuShare {
  return {
    source: cpuSeconds(b.sourcePid),
    s3rver: cpuSeconds(b.s3Pid),
    client: cpuSeconds(process.pid, true),
  };
}

/** Waits (up to 5 s) until the source has no RDB-producing child left to reap, so its CPU is counted. */
async function childReaped(b: Bench): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const info = String(await b.redis.info("persistence"));
    if (/^rdb_bgsave_in_progress:0/m.test(info) && /^current_fork_perc:0/m.test(info)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function cpuSince(b: Bench, before: CpuShare): Promise<CpuShare> {
  await childReaped(b);
  const now = cpuNow(b);
  return {
    source: now.source - before.source,
    s3rver: now.s3rver - before.s3rver,
    client: now.client - before.client,
  };
}

/** Runs every backup method `n` times in rotating order; prints and returns the medians and ratios. */
async function runBackups(b: Bench, label: string, n: number) {
  const methods = backupMethods(b);
  const names = Object.keys(methods);
  const times: Record<string, number[]> = Object.fromEntries(names.map((m) => [m, []]));
  const cpu: Record<string, CpuShare[]> = Object.fromEntries(names.map((m) => [m, []]));
  const rss: number[] = [];
  let id = "";
  for (let round = 0; round < n; round++) {
    // Rotate the order, so no method always runs first (cold caches) or last.
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length];
      const before = cpuNow(b);
      const r = await methods[name]();
      const used = await cpuSince(b, before);
      times[name].push(r.seconds);
      cpu[name].push(used);
      if (r.rssMiB) rss.push(r.rssMiB);
      if (r.id) id = r.id;
      console.log(
        `${label} round ${round + 1}: ${name} ${r.seconds.toFixed(2)} s${r.rssMiB ? `, peak RSS ${r.rssMiB.toFixed(0)} MiB` : ""}; ` +
          `CPU s: source ${used.source.toFixed(1)}, s3rver ${used.s3rver.toFixed(1)}, client ${used.client.toFixed(1)}, ` +
          `${((used.source + used.s3rver + used.client) / r.seconds).toFixed(2)} cores busy`,
      );
    }
  }
  const med = Object.fromEntries(names.map((m) => [m, median(times[m])]));
  const summary = {
    delay: Number(await diskSyncDelay(b.redis)),
    times,
    median: med,
    ratioToLimit: med.holdfast / med.limit,
    ratioToFileThenCp: med.holdfast / med["rdb-file-then-aws-cp"],
    ratioToPipe: med.holdfast / med["rdb-pipe-aws-cp"],
    peakRssMiB: Math.max(...rss),
    cpuSeconds: cpu,
    id,
    loadavg: loadavg(),
  };
  console.log(
    `${label} (repl-diskless-sync-delay ${summary.delay}): limit ${med.limit.toFixed(2)} s, holdfast ${med.holdfast.toFixed(2)} s, ` +
      `(a) file+cp ${med["rdb-file-then-aws-cp"].toFixed(2)} s, (b) pipe ${med["rdb-pipe-aws-cp"].toFixed(2)} s; ` +
      `H/L ${summary.ratioToLimit.toFixed(2)} (goal <= 1.05), H/(a) ${summary.ratioToFileThenCp.toFixed(2)} (goal <= 0.75), ` +
      `H/(b) ${summary.ratioToPipe.toFixed(2)} (goal <= 1.10), peak RSS ${summary.peakRssMiB.toFixed(0)} MiB (goal < 150)`,
  );
  return summary;
}

/** The backup rounds at the rendered delay, then (if asked) again with the delay set to 0. */
async function runBackupsAtDelays(b: Bench, label: string, n: number, delayZero: boolean) {
  const rendered = await diskSyncDelay(b.redis);
  const atRendered = await runBackups(b, label, n);
  if (!delayZero || rendered === "0") return { atRendered };
  await b.redis.config("SET", "repl-diskless-sync-delay", "0");
  try {
    return { atRendered, atZero: await runBackups(b, label, n) };
  } finally {
    await b.redis.config("SET", "repl-diskless-sync-delay", rendered);
  }
}

/** Bytes of the RDB the server would send now (redis-cli --rdb into a file, measured, removed). */
async function rdbSize(b: Bench): Promise<number> {
  const script = `redis-cli -p ${b.port} --rdb ${b.rdbFile} >/dev/null 2>&1; stat -c %s ${b.rdbFile}; rm -f ${b.rdbFile}`;
  return Number((await runTimed("bash", ["-c", script], b.env)).stdout.trim());
}

/** The RESTORE_METHODS, by name: how each restores backup `id` into `dir` until a server serves it. */
const RESTORE_METHODS = ["holdfast", "holdfast-serving", "aws-cp-then-load"] as const;
type RestoreMethod = (typeof RESTORE_METHODS)[number];

/** Waits until the server on `port` serves and holds `keys` keys. */
async function servedOn(port: number, keys: number): Promise<void> {
  const c = new Redis({
    port,
    host: "127.0.0.1",
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  c.on("error", () => undefined);
  try {
    if (!/^loading:0/m.test(String(await c.info("persistence"))))
      throw new Error("the restored server is still loading");
    const n = await c.dbsize();
    if (n !== keys) throw new Error(`the restored server holds ${n} keys, ${keys} expected`);
  } finally {
    c.disconnect();
  }
}

/** One restore into an empty directory until a server serves it; resolves to the seconds. */
async function restoreOnce(
  b: Bench,
  name: RestoreMethod,
  id: string,
  dir: string,
): Promise<{ seconds: number; rssMiB?: number; serverCpu?: number }> {
  const prof = name === "holdfast-serving" ? process.env.HOLDFAST_BENCH_CPU_PROF : undefined;
  const holdfast = [
    process.execPath,
    ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
    ...[b.cli, "restore", "redis", "--backup", id],
  ];
  const where = ["--data-dir", dir, "--bucket", "bench-holdfast", "--prefix", "bench"];
  if (name === "holdfast") {
    const r = await runTimed("/usr/bin/time", ["-f", "%M", "-o", b.rssFile, ...holdfast, ...where], b.env);
    const load = await serveDir(b.group, dir, b.keys, true);
    const took = /took (.*)/.exec(r.stdout)?.[1] ?? "";
    console.log(`restore: holdfast ${r.seconds.toFixed(1)} s (${took}) + serving load ${load.toFixed(1)} s`);
    return { seconds: r.seconds + load, rssMiB: Number(fs.readFileSync(b.rssFile, "utf8").trim()) / 1024 };
  }
  if (name === "holdfast-serving") {
    const port = await freePort();
    const t0 = process.hrtime.bigint();
    const r = await runTimed(
      "/usr/bin/time",
      [
        "-f",
        "%M",
        "-o",
        b.rssFile,
        ...holdfast,
        ...where,
        "--verify",
        "serving",
        "--serve-port",
        String(port),
      ],
      b.env,
    );
    const pid = Number(/pid (\d+) on port/.exec(r.stdout)?.[1]);
    let serverCpu = NaN;
    try {
      await servedOn(port, b.keys);
    } finally {
      // The serving server is not this process's child: its CPU is read before it is ended.
      serverCpu = cpuSeconds(pid);
      if (pid) process.kill(pid, "SIGKILL");
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const took = /took (.*)/.exec(r.stdout)?.[1] ?? "";
    console.log(
      `restore: holdfast --verify serving ${seconds.toFixed(1)} s (serving when it exits; ${took})`,
    );
    return {
      seconds,
      rssMiB: Number(fs.readFileSync(b.rssFile, "utf8").trim()) / 1024,
      serverCpu,
    };
  }
  const r = await runTimed(
    AWS,
    [
      ...["--endpoint-url", b.endpoint, "s3", "cp", "s3://bench-aws/file/dump.rdb"],
      ...[path.join(dir, "dump.rdb"), "--only-show-errors"],
    ],
    b.env,
  );
  const load = await serveDir(b.group, dir, b.keys, false);
  console.log(`restore: aws s3 cp ${r.seconds.toFixed(1)} s + serving load ${load.toFixed(1)} s`);
  return { seconds: r.seconds + load };
}

/** Restores Holdfast's backup `id` both ways and the (a) copy `n` times each, in rotating order. */
async function runRestores(b: Bench, id: string, n: number, label: string) {
  const times: Record<string, number[]> = Object.fromEntries(RESTORE_METHODS.map((m) => [m, []]));
  const rss: Record<string, number[]> = { holdfast: [], "holdfast-serving": [] };
  const cpu: Record<string, CpuShare[]> = Object.fromEntries(RESTORE_METHODS.map((m) => [m, []]));
  const load: number[][] = [];
  for (let round = 0; round < n; round++) {
    for (let k = 0; k < RESTORE_METHODS.length; k++) {
      const name = RESTORE_METHODS[(round + k) % RESTORE_METHODS.length];
      const dir = path.join(b.work, `restore-${name}-${round}`);
      fs.mkdirSync(dir);
      const before = cpuNow(b);
      const r = await restoreOnce(b, name, id, dir);
      const used = await cpuSince(b, before);
      // The client side: holdfast (with a throw-away server) or aws, and the server that loads and serves.
      const client = used.client + (r.serverCpu ?? 0);
      cpu[name].push({ ...used, client });
      console.log(
        `${label} restore round ${round + 1}: ${name} ${r.seconds.toFixed(1)} s; CPU s: s3rver ${used.s3rver.toFixed(1)}, ` +
          `client and server ${client.toFixed(1)}, ${((used.s3rver + client) / r.seconds).toFixed(2)} cores busy`,
      );
      times[name].push(r.seconds);
      if (r.rssMiB) rss[name].push(r.rssMiB);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    load.push(loadavg());
    console.log(`${label} restore round ${round + 1}: load ${load[load.length - 1].join(" ")}`);
  }
  const median_ = Object.fromEntries(RESTORE_METHODS.map((m) => [m, median(times[m])]));
  const base = median_["aws-cp-then-load"];
  const restore = {
    times,
    median: median_,
    ratio: median_.holdfast / base,
    ratioServing: median_["holdfast-serving"] / base,
    peakRssMiB: Math.max(...rss.holdfast),
    peakRssMiBServing: Math.max(...rss["holdfast-serving"]),
    cpuSeconds: cpu,
    loadavgPerRound: load,
    loadavg: loadavg(),
  };
  console.log(
    `${label} restore: holdfast ${median_.holdfast.toFixed(1)} s, --verify serving ${median_["holdfast-serving"].toFixed(1)} s, ` +
      `aws s3 cp + load ${base.toFixed(1)} s; ratios ${restore.ratio.toFixed(2)} and ${restore.ratioServing.toFixed(2)} (goal <= 1.10); ` +
      `peak RSS ${restore.peakRssMiB.toFixed(0)} MiB (with the throw-away redis-server), ${restore.peakRssMiBServing.toFixed(0)} MiB (serving)`,
  );
  return restore;
}

/** --restore-only: one Holdfast backup and one `aws s3 cp` upload of the dataset as it is; the backup id. */
async function backupOnce(b: Bench): Promise<string> {
  const methods = backupMethods(b);
  const r = await methods.holdfast();
  await methods["rdb-file-then-aws-cp"]();
  console.log(`backup for the restore rounds: holdfast ${r.seconds.toFixed(1)} s, id ${r.id}`);
  return r.id!;
}

function machineInfo() {
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavgAtStart: loadavg(),
    node: process.version,
    redis: version("redis-server", ["--version"]),
    aws: version(AWS, ["--version"]),
    s3rver: JSON.parse(fs.readFileSync(path.join(root, "node_modules/s3rver/package.json"), "utf8")).version,
    commit: version("git", ["-C", root, "rev-parse", "HEAD"]),
    jobsUncommitted: spawnSync("git", ["-C", root, "status", "--porcelain", "--", "jobs"], {
      encoding: "utf8",
    })
      .stdout.split("\n")
      .filter(Boolean),
  };
}

/**
 * The wait alone: `n` rounds of `redis-cli --rdb -` against an empty server with the rendered settings,
 * at the rendered delay and at 0, alternating; the medians, in seconds. With nothing to send, what is
 * left is the time from SYNC to the fork (the diskless delay, counted in whole seconds by the
 * replication cron) plus a fork of an empty server.
 */
async function measureSyncWait(work: string, group: ProcessGroup, n: number) {
  const port = await freePort();
  const dir = path.join(work, "wait-probe");
  fs.mkdirSync(dir);
  const child = group.start("wait-probe", "redis-server", [
    ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
    ...renderedReplicationArgs(),
  ]);
  const redis = new Redis({ port, maxRetriesPerRequest: null });
  try {
    await waitFor("the probe redis-server", async () => (await redis.ping()) === "PONG");
    const rendered = await diskSyncDelay(redis);
    const times: Record<string, number[]> = { [rendered]: [], "0": [] };
    for (let i = 0; i < n; i++) {
      for (const delay of i % 2 ? ["0", rendered] : [rendered, "0"]) {
        await redis.config("SET", "repl-diskless-sync-delay", delay);
        const script = `set -eo pipefail; redis-cli -p ${port} --rdb - 2>&1 >/dev/null | grep -q "finished with success"`;
        times[delay].push((await runTimed("bash", ["-c", script], process.env)).seconds);
      }
    }
    const medians = Object.fromEntries(Object.entries(times).map(([d, t]) => [d, median(t)]));
    console.log(
      `the wait before the fork (empty server, ${n} rounds): ` +
        Object.entries(medians)
          .map(([d, m]) => `delay ${d}: median ${m.toFixed(3)} s`)
          .join(", "),
    );
    return { times, medians };
  } finally {
    redis.disconnect();
    await group.stop(child, "SIGKILL");
  }
}

async function main(): Promise<void> {
  const sizeMib = flag("size-mib", 1100);
  const secondMib = flag("second-size-mib", 2200);
  const rounds = flag("rounds", 3);
  const secondRounds = flag("second-rounds", 3);
  const restoreRounds = flag("restore-rounds", rounds);
  const restoreOnly = flag("restore-only", 0) !== 0;
  const delayZero = flag("delay-zero", 1) !== 0;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-bench-redis-"));
  const group = new ProcessGroup(path.join(work, "logs"));
  const machine = machineInfo();
  console.log("machine", JSON.stringify(machine));
  const results: Record<string, unknown> = {
    machine,
    sizeMib,
    secondMib,
    rounds,
    secondRounds,
    restoreRounds,
    restoreOnly,
  };
  let s3: S3Server | undefined;
  let source: Awaited<ReturnType<typeof startSource>> | undefined;
  try {
    // The CLI as the job image runs it (compiled, not tsx): the tests' cached build of this checkout.
    const cli = compiledCli().bin;
    source = await startSource(work, group);
    let t0 = Date.now();
    const keys = await fill(source.redis, 0, sizeMib * MiB);
    console.log(
      `dataset: ${keys} keys of ${VALUE} random bytes in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );

    s3 = await S3Server.start();
    await s3.createBucket("bench-holdfast");
    await s3.createBucket("bench-aws");
    const { AWS_CA_BUNDLE: _bundle, ...inherited } = process.env;
    const b: Bench = {
      ...source,
      work,
      group,
      cli,
      env: { ...inherited, ...s3.env, AWS_PAGER: "" },
      endpoint: s3.env.AWS_ENDPOINT_URL_S3,
      rssFile: path.join(work, "rss"),
      rdbFile: path.join(work, "dump.rdb"),
      keys,
      s3Pid: s3.pid,
    };
    results.replicationArgs = renderedReplicationArgs();
    if (!restoreOnly) results.syncWait = await measureSyncWait(work, group, flag("wait-rounds", 10));
    results.rdbBytes = await rdbSize(b);
    const gib = (bytes: unknown) => (Number(bytes) / 2 ** 30).toFixed(2);
    console.log(`RDB: ${gib(results.rdbBytes)} GiB`);
    let backupId: string;
    if (restoreOnly) backupId = await backupOnce(b);
    else {
      const first = await runBackupsAtDelays(b, `backup ${gib(results.rdbBytes)} GiB`, rounds, delayZero);
      results.backup = first.atRendered;
      results.backupDelayZero = first.atZero;
      backupId = first.atRendered.id;
    }

    // Restore: Holdfast (with its verification) until a stock server serves the directory, and Holdfast
    // --verify serving until the server it started serves, against aws s3 cp + the same stock server.
    if (restoreRounds > 0)
      results.restore = await runRestores(b, backupId, restoreRounds, `${gib(results.rdbBytes)} GiB`);

    if (secondMib > sizeMib) {
      t0 = Date.now();
      b.keys = await fill(b.redis, b.keys, secondMib * MiB);
      console.log(`dataset grown to ${b.keys} keys in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      results.secondRdbBytes = await rdbSize(b);
      if (restoreOnly) backupId = await backupOnce(b);
      else {
        const second = await runBackupsAtDelays(
          b,
          `backup ${gib(results.secondRdbBytes)} GiB`,
          secondRounds,
          delayZero,
        );
        results.backupSecond = second.atRendered;
        results.backupSecondDelayZero = second.atZero;
        backupId = second.atRendered.id;
      }
      if (restoreRounds > 0)
        results.restoreSecond = await runRestores(
          b,
          backupId,
          restoreRounds,
          `${gib(results.secondRdbBytes)} GiB`,
        );
    }
    results.loadavgAtEnd = loadavg();
    writeResults("redis-backup", results);
  } finally {
    // A client left connected would retry the stopped server for ever and keep the process alive.
    source?.redis.disconnect();
    await s3?.cleanup();
    await group.killAll();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
