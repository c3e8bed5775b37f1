// Benchmark of `holdfast backup redis` and `holdfast restore redis` against what a user would script by
// hand, all against one redis-server and one s3rver in the same run:
//   backup  (H) holdfast backup redis: replication stream -> sha256 + CRC-64 + scan -> multipart upload
//           (a) redis-cli --rdb FILE, then aws s3 cp FILE s3://...          goal: H <= 0.75 x (a)
//           (b) redis-cli --rdb - | aws s3 cp - s3://...                    goal: H <= 1.10 x (b)
//           Holdfast's peak RSS (VmHWM by /usr/bin/time)                    goal: < 150 MiB at 1 and 2 GiB
//   restore (H) holdfast restore redis (download, checks, verification load in a throw-away
//               redis-server, placement), then a stock redis-server loads the directory and serves
//           (r) aws s3 cp s3://.../dump.rdb DIR/, then a stock redis-server loads it and serves
//                                                                           goal: H <= 1.20 x (r)
// The dataset is values of 4 KiB of random bytes (incompressible), pipelined SETs, until the RDB holds
// --size-mib MiB; then more until --second-size-mib for the memory check at 2 GiB. The Redis server has
// the replication settings the stack renders (diskless sync, 1 s delay) and default rdbcompression;
// a sentinel monitors it so Holdfast finds it as in production (--source primary: it has no replica).
// Holdfast runs as the job image runs it: compiled with tsconfig.build.json. Times are medians of
// --rounds runs in rotating order. The AWS CLI is Debian's /usr/bin/aws (v2).
// The restore runs --rounds times each, alternating which goes first; the backup at the second size runs
// --second-rounds times. The results name the commit measured and whether jobs/ had uncommitted changes.
//   npm run bench:redis -- [--size-mib 1100] [--second-size-mib 2200] [--rounds 3] [--second-rounds 3]
import { spawn, spawnSync } from "child_process";
import { randomFillSync } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { S3Server } from "../harness/s3";
import { freePort, ProcessGroup, waitFor } from "../harness/processes";
import { compileCli, flag, version } from "./support";

const root = path.join(__dirname, "..");
const AWS = "/usr/bin/aws";
const MiB = 1024 * 1024;
const VALUE = 4096;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs a command to completion; resolves to seconds of wall time. Throws on a non-zero exit. */
function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ seconds, stdout, stderr });
    });
  });
}

/** Starts a stock redis-server on `dir` and resolves once it serves (dataset loaded); returns the seconds. */
async function serve(
  group: ProcessGroup,
  dir: string,
  appendonly: boolean,
  expectKeys: number,
): Promise<number> {
  const port = await freePort();
  const t0 = Date.now();
  const child = group.start(`serve-${port}`, "redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--appendonly",
    appendonly ? "yes" : "no",
    "--save",
    "",
  ]);
  const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on("error", () => undefined);
  try {
    await waitFor(
      "the restored redis-server to serve",
      async () => {
        if (c.status !== "ready") {
          c.disconnect();
          await c.connect();
        }
        return /^loading:0/m.test(String(await c.info("persistence")));
      },
      600_000,
      20,
    );
    const seconds = (Date.now() - t0) / 1000;
    const keys = await c.dbsize();
    if (keys !== expectKeys)
      throw new Error(`the restored server holds ${keys} keys, ${expectKeys} expected`);
    return seconds;
  } finally {
    c.disconnect();
    await group.stop(child, "SIGKILL");
  }
}

async function fill(c: Redis, from: number, toBytes: number): Promise<number> {
  let n = from;
  const value = Buffer.allocUnsafe(VALUE);
  while (n * (VALUE + 20) < toBytes) {
    const p = c.pipeline();
    for (let i = 0; i < 1000; i++) {
      randomFillSync(value);
      p.set(`bench:${n++}`, Buffer.from(value));
    }
    await p.exec();
  }
  return n;
}

/** What the phases of a run share. */
interface BenchContext {
  group: ProcessGroup;
  work: string;
  /** The compiled CLI. */
  cli: string;
  env: NodeJS.ProcessEnv;
  endpoint: string;
  rssFile: string;
}

/** The machine and versions a run is measured on. */
function machineInfo(): Record<string, unknown> {
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
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

/** The source: a redis-server with the stack's replication settings, and a sentinel watching it. */
async function startSource(
  group: ProcessGroup,
  work: string,
): Promise<{ port: number; sentinelPort: number; redis: Redis }> {
  const port = await freePort();
  const dataDir = path.join(work, "redis");
  fs.mkdirSync(dataDir);
  group.start("redis", "redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dataDir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--repl-diskless-sync",
    "yes",
    "--repl-diskless-sync-delay",
    "1",
  ]);
  const sentinelPort = await freePort();
  const sentinelConf = path.join(work, "sentinel.conf");
  fs.writeFileSync(
    sentinelConf,
    [
      `port ${sentinelPort}`,
      "bind 127.0.0.1",
      `dir ${work}`,
      `sentinel monitor bench 127.0.0.1 ${port} 1`,
      "",
    ].join("\n"),
  );
  group.start("sentinel", "redis-sentinel", [sentinelConf]);
  const redis = new Redis({ port, maxRetriesPerRequest: null });
  await waitFor("redis-server", async () => (await redis.ping()) === "PONG");
  return { port, sentinelPort, redis };
}

/**
 * Restore: Holdfast (with its verification) until a stock server serves the directory, against aws s3
 * cp + the same stock server.
 */
async function runRestores(ctx: BenchContext, id: string, keys: number, rounds: number): Promise<unknown> {
  const { group, work, cli, env, endpoint, rssFile } = ctx;
  const restoreTimes: Record<string, number[]> = { holdfast: [], "aws-cp-then-load": [] };
  const restoreRss: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 ? ["aws-cp-then-load", "holdfast"] : ["holdfast", "aws-cp-then-load"]) {
      const dir = path.join(work, `restore-${name}-${round}`);
      fs.mkdirSync(dir);
      let seconds: number;
      if (name === "holdfast") {
        const r = await timed(
          "/usr/bin/time",
          [
            "-f",
            "%M",
            "-o",
            rssFile,
            process.execPath,
            cli,
            "restore",
            "redis",
            "--backup",
            id,
            "--data-dir",
            dir,
            "--bucket",
            "bench-holdfast",
            "--prefix",
            "bench",
          ],
          env,
        );
        restoreRss.push(Number(fs.readFileSync(rssFile, "utf8").trim()) / 1024);
        const load = await serve(group, dir, true, keys);
        seconds = r.seconds + load;
        console.log(
          `restore round ${round + 1}: holdfast ${r.seconds.toFixed(1)} s + serving load ${load.toFixed(1)} s`,
        );
      } else {
        const r = await timed(
          AWS,
          [
            "--endpoint-url",
            endpoint,
            "s3",
            "cp",
            "s3://bench-aws/file/dump.rdb",
            path.join(dir, "dump.rdb"),
            "--only-show-errors",
          ],
          env,
        );
        const load = await serve(group, dir, false, keys);
        seconds = r.seconds + load;
        console.log(
          `restore round ${round + 1}: aws s3 cp ${r.seconds.toFixed(1)} s + serving load ${load.toFixed(1)} s`,
        );
      }
      restoreTimes[name].push(seconds);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const restore = {
    times: restoreTimes,
    median: {
      holdfast: median(restoreTimes.holdfast),
      "aws-cp-then-load": median(restoreTimes["aws-cp-then-load"]),
    },
    ratio: median(restoreTimes.holdfast) / median(restoreTimes["aws-cp-then-load"]),
    peakRssMiB: Math.max(...restoreRss),
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
  console.log(
    `restore: holdfast ${restore.median.holdfast.toFixed(1)} s, aws s3 cp + load ${restore.median["aws-cp-then-load"].toFixed(1)} s; ` +
      `ratio ${restore.ratio.toFixed(2)} (goal <= 1.20); peak RSS ${restore.peakRssMiB.toFixed(0)} MiB (with the throw-away redis-server)`,
  );
  return restore;
}

/** One backup by each method, timed. */
type BackupMethods = Record<string, () => Promise<{ seconds: number; rssMiB?: number; id?: string }>>;

/** Holdfast's backup, and the RDB to a file then aws s3 cp, and redis-cli's RDB piped into aws s3 cp. */
function backupMethods(
  ctx: BenchContext,
  source: { port: number; sentinelPort: number; rdbFile: string },
  expectedKeys: () => number,
): BackupMethods {
  const { cli, env, endpoint, rssFile } = ctx;
  const { port, sentinelPort, rdbFile } = source;
  return {
    holdfast: async () => {
      const r = await timed(
        "/usr/bin/time",
        [
          "-f",
          "%M",
          "-o",
          rssFile,
          process.execPath,
          cli,
          "backup",
          "redis",
          "--sentinel",
          `127.0.0.1:${sentinelPort}`,
          "--master-name",
          "bench",
          "--source",
          "primary",
          "--bucket",
          "bench-holdfast",
          "--prefix",
          "bench",
          "--reason",
          "benchmark",
          "--json",
        ],
        env,
      );
      const out = JSON.parse(r.stdout);
      if (out.keys !== expectedKeys())
        throw new Error(`holdfast backed up ${out.keys} keys, ${expectedKeys()} expected`);
      return {
        seconds: r.seconds,
        rssMiB: Number(fs.readFileSync(rssFile, "utf8").trim()) / 1024,
        id: out.id,
      };
    },
    "rdb-file-then-aws-cp": async () => {
      const r = await timed(
        "bash",
        [
          "-c",
          `set -e; redis-cli -p ${port} --rdb ${rdbFile} >/dev/null 2>&1; ${AWS} --endpoint-url ${endpoint} s3 cp ${rdbFile} s3://bench-aws/file/dump.rdb --only-show-errors; rm -f ${rdbFile}`,
        ],
        env,
      );
      return { seconds: r.seconds };
    },
    "rdb-pipe-aws-cp": async () => {
      const r = await timed(
        "bash",
        [
          "-c",
          `set -eo pipefail; redis-cli -p ${port} --rdb - 2>/dev/null | ${AWS} --endpoint-url ${endpoint} s3 cp - s3://bench-aws/pipe/dump.rdb --only-show-errors`,
        ],
        env,
      );
      return { seconds: r.seconds };
    },
  };
}

/** `n` rounds of every backup method, their medians and ratios. */
async function backupRounds(methods: BackupMethods, label: string, n: number) {
  const names = Object.keys(methods);
  const times: Record<string, number[]> = Object.fromEntries(names.map((m) => [m, []]));
  const rss: number[] = [];
  let id = "";
  for (let round = 0; round < n; round++) {
    // Rotate the order, so no method always runs first (cold caches) or last.
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length];
      const r = await methods[name]();
      times[name].push(r.seconds);
      if (r.rssMiB) rss.push(r.rssMiB);
      if (r.id) id = r.id;
      console.log(
        `${label} round ${round + 1}: ${name} ${r.seconds.toFixed(1)} s${r.rssMiB ? `, peak RSS ${r.rssMiB.toFixed(0)} MiB` : ""}`,
      );
    }
  }
  const med = Object.fromEntries(names.map((m) => [m, median(times[m])]));
  const summary = {
    times,
    median: med,
    ratioToFileThenCp: med.holdfast / med["rdb-file-then-aws-cp"],
    ratioToPipe: med.holdfast / med["rdb-pipe-aws-cp"],
    peakRssMiB: Math.max(...rss),
    id,
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
  console.log(
    `${label}: holdfast ${med.holdfast.toFixed(1)} s, (a) file+cp ${med["rdb-file-then-aws-cp"].toFixed(1)} s, (b) pipe ${med["rdb-pipe-aws-cp"].toFixed(1)} s; ` +
      `H/(a) ${summary.ratioToFileThenCp.toFixed(2)} (goal <= 0.75), H/(b) ${summary.ratioToPipe.toFixed(2)} (goal <= 1.10), ` +
      `peak RSS ${summary.peakRssMiB.toFixed(0)} MiB (goal < 150)`,
  );
  return summary;
}

async function main(): Promise<void> {
  const sizeMib = flag("size-mib", 1100);
  const secondMib = flag("second-size-mib", 2200);
  const rounds = flag("rounds", 3);
  const secondRounds = flag("second-rounds", 3);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-bench-redis-"));
  const group = new ProcessGroup(path.join(work, "logs"));
  const machine = machineInfo();
  console.log("machine", JSON.stringify(machine));
  const results: Record<string, unknown> = { machine, sizeMib, secondMib, rounds, secondRounds };
  let s3: S3Server | undefined;
  try {
    const cli = compileCli(work);

    const { port, sentinelPort, redis } = await startSource(group, work);

    let t0 = Date.now();
    let keys = await fill(redis, 0, sizeMib * MiB);
    console.log(
      `dataset: ${keys} keys of ${VALUE} random bytes in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );

    s3 = await S3Server.start();
    await s3.createBucket("bench-holdfast");
    await s3.createBucket("bench-aws");
    const { AWS_CA_BUNDLE: _bundle, ...inherited } = process.env;
    const env = { ...inherited, ...s3.env, AWS_PAGER: "" };
    const endpoint = s3.env.AWS_ENDPOINT_URL_S3;
    const rssFile = path.join(work, "rss");
    const rdbFile = path.join(work, "dump.rdb");
    const ctx: BenchContext = { group, work, cli, env, endpoint, rssFile };

    const methods = backupMethods(ctx, { port, sentinelPort, rdbFile }, () => keys);
    const runBackups = (label: string, n: number) => backupRounds(methods, label, n);

    /** Bytes of the RDB the server would send now (redis-cli --rdb into a file, measured, removed). */
    const rdbSize = async () =>
      (
        await timed(
          "bash",
          [
            "-c",
            `redis-cli -p ${port} --rdb ${rdbFile} >/dev/null 2>&1; stat -c %s ${rdbFile}; rm -f ${rdbFile}`,
          ],
          env,
        )
      ).stdout.trim();
    const rdbBytes = await rdbSize();
    results.rdbBytes = Number(rdbBytes);
    console.log(`RDB: ${(Number(rdbBytes) / 2 ** 30).toFixed(2)} GiB`);
    const backup1 = await runBackups(`backup ${(Number(rdbBytes) / 2 ** 30).toFixed(2)} GiB`, rounds);
    results.backup = backup1;

    results.restore = await runRestores(ctx, backup1.id, keys, rounds);

    if (secondMib > sizeMib) {
      t0 = Date.now();
      keys = await fill(redis, keys, secondMib * MiB);
      console.log(`dataset grown to ${keys} keys in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const bytes2 = await rdbSize();
      results.secondRdbBytes = Number(bytes2);
      results.backupSecond = await runBackups(
        `backup ${(Number(bytes2) / 2 ** 30).toFixed(2)} GiB`,
        secondRounds,
      );
    }
    redis.disconnect();
    results.loadavgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
    const out = path.join(
      root,
      "bench",
      "results",
      `redis-backup-${new Date().toISOString().replace(/[:.]/g, "")}.json`,
    );
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
    console.log(`results: ${path.relative(root, out)}`);
  } finally {
    await s3?.cleanup();
    await group.killAll();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
