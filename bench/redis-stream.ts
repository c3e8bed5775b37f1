// Benchmark of continuous protection (`holdfast stream redis`, jobs/redis-stream/) against its goals,
// each side by side with its baseline in the same run, on one redis-server (the redis.conf the stack
// renders: AOF everysec, RDB saves, diskless sync), one sentinel and one s3rver:
//   recovery point (1) p99 of (segment durable in the bucket - write acknowledged) for writes of
//                      --value-bytes (100) at --rate (20,000) writes/s          goal <= 2 s
//                      the stream's peak RSS (VmHWM from /proc)                   goal <= 150 MiB
//   replay         (2) holdfast restore redis --to-offset / --to-time of the chain (base + every write of
//                      the phase), until a stock redis-server serves the result; and --to-offset with
//                      --verify serving (no replay: base and stream placed as the AOF of the redis-server
//                      the restore starts, whose one load is the verification) until it serves; against
//                  (A) a stock redis-server loading the same writes from an AOF: the chain's base RDB as
//                      the AOF's base, the stream's bytes as its incremental file   goal: speed >= 50% of A
//   the primary    (3) p99 write latency at --rate with the stream running, against the same load
//                      without it                                                  (reported as a ratio)
// When a segment is durable: the stream logs `segment durable` the moment the bucket answered its
// create-only PUT, with `lagMs` = that moment - the segment's `firstAt`; durableAt = firstAt + lagMs. A
// write's segment is the one whose payload holds its key (each write's key is unique). The write is
// acknowledged when its reply reaches the client (ioredis, pipelined). Cross-check: s3rver's own file of
// each segment has an mtime (when it stored the bytes), which must be within a few ms before durableAt.
// The machine has the client, the primary, the stream and s3rver on the same cores: the stream's CPU
// competes with the primary's here, where a cluster runs it on another node.
// Each round: FLUSHALL, the stream started on a fresh prefix (its base is the empty dataset), the load
// with the stream, the stream stopped once all is durable, FLUSHALL, the same load without it (the order
// of the two phases alternates by round), then the replays of that round's chain. Medians of --rounds.
// Holdfast runs as the job image runs it: compiled with tsconfig.build.json.
//   npm run bench:stream -- [--rate 20000] [--seconds 30] [--value-bytes 100] [--rounds 3]
//                           [--replay-rounds 1]   (per round: each replay method this many times)
//                           [--replay-methods aof,to-offset,to-time,serving,from-base]   (the replays to run)
//                           [--backup-at S]   (a backup S seconds into the streamed phase; see below)
// Each serving replay and AOF load prints its processes' CPU seconds and page faults (fresh pages the kernel
// handed them: a cost of their own on a VM that gives memory lazily).
// HOLDFAST_BENCH_CPU_PROF=<dir>: the serving restores write a V8 CPU profile there (node --cpu-prof).
// --backup-at S: `holdfast backup redis` runs S seconds into the streamed phase (from the primary: the
// bench has no replica, so its fork is in that phase's latencies), and the serving replay runs twice on
// the same point: from that backup inside the chain (`serving`), and with its manifest set aside so
// the restore starts from the chain's base (`from-base`). (A) stays the chain's base and every write.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { renderRedisConf } from "../components/redis/conf";
import { compiledCli } from "../harness/holdfast-cli";
import { S3Server } from "../harness/s3";
import { freePort, ProcessGroup, waitFor } from "../harness/processes";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { getBytes, getJson, listObjects } from "../jobs/store/s3";
import { type ChainRecord, decodeSegment } from "../jobs/redis-stream/segment";
import {
  processUsage,
  flag,
  median,
  percentile,
  runTimed,
  serveDir,
  version,
  watchedSource,
  writeResults,
} from "./support";
import { RateWriter } from "./rate-writer";

const root = path.join(__dirname, "..");
const BUCKET = "bench-stream";
const MiB = 1024 * 1024;
/** The largest of `xs` (a spread of hundreds of thousands overflows the stack). */
function maxOf(xs: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) if (xs[i] > m) m = xs[i];
  return m;
}
const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

/** The set: one primary with the rendered redis.conf, a sentinel watching it, the bucket and the CLI. */
interface Bench {
  work: string;
  group: ProcessGroup;
  cli: string;
  port: number;
  sentinelPort: number;
  redis: Redis;
  s3: S3Server;
  env: NodeJS.ProcessEnv;
}

/** The redis.conf the stack renders, on loopback and without the ACL file (the default user). */
function renderedConf(port: number, dir: string): string {
  return renderRedisConf({
    port,
    bind: "127.0.0.1",
    dataDir: dir,
    aclFile: "/unused",
    includes: [],
    maxmemoryBytes: 0,
    minReplicasToWrite: 0,
    minReplicasMaxLag: 10,
    busyReplyThresholdMs: 5000,
  })
    .split("\n")
    .filter((l) => !/^aclfile /.test(l))
    .join("\n");
}

async function startSet(
  work: string,
  group: ProcessGroup,
): Promise<Pick<Bench, "port" | "sentinelPort" | "redis">> {
  const port = await freePort();
  const dir = path.join(work, "primary");
  fs.mkdirSync(dir);
  const conf = path.join(work, "redis.conf");
  fs.writeFileSync(conf, renderedConf(port, dir));
  group.start("primary", "redis-server", [conf]);
  return watchedSource(work, group, port);
}

/** A running stream: its process, metrics port and log. */
interface StreamRun {
  child: ReturnType<ProcessGroup["start"]>;
  log: string;
  prefix: string;
}

async function startStream(b: Bench, prefix: string): Promise<StreamRun> {
  const metricsPort = await freePort();
  const name = `stream-${prefix}`;
  const child = b.group.start(
    name,
    process.execPath,
    [
      ...[b.cli, "stream", "redis", "--sentinel", `127.0.0.1:${b.sentinelPort}`, "--master-name", "bench"],
      ...["--bucket", BUCKET, "--prefix", prefix, "--metrics-port", String(metricsPort)],
    ],
    { env: b.env },
  );
  const log = path.join(b.work, "logs", `${name}.log`);
  await waitFor(
    "the stream to begin its chain",
    () => {
      if (child.exitCode !== null) throw new Error(`the stream exited ${child.exitCode}: see ${log}`);
      return fs.existsSync(log) && fs.readFileSync(log, "utf8").includes('"chain begun"');
    },
    120_000,
    100,
  );
  return { child, log, prefix };
}

/** The stream's peak RSS so far (VmHWM), MiB. */
function peakRssMiB(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** What the stream logged of each segment: its key and when it became durable (firstAt + lagMs, later). */
function durableLog(log: string): Map<string, number> {
  const lagByKey = new Map<string, number>();
  for (const line of fs.readFileSync(log, "utf8").split("\n")) {
    if (!line.includes('"segment durable"')) continue;
    const e = JSON.parse(line) as { key: string; lagMs: number };
    lagByKey.set(e.key, e.lagMs);
  }
  return lagByKey;
}

/** A round's chain as stored: base, segments with their durable moments, and which write is in which. */
interface StoredRun {
  base: string;
  /** The backup taken inside the chain (--backup-at), if any. */
  inside?: string;
  endOffset: number;
  lastCommandAt: number;
  payloads: Buffer[];
  /** durableAt of the segment holding write n (NaN: in none). */
  durableAtOf: Float64Array;
  /** s3rver's stored-file mtime minus durableAt, per segment (ms). */
  mtimeMinusDurable: number[];
  segments: number;
  streamBytes: number;
}

async function readStored(b: Bench, run: StreamRun, keyPrefix: string, writes: number): Promise<StoredRun> {
  const client = b.s3.client();
  const chainDir = `${run.prefix}/redis/stream/000001/`;
  const record = await getJson<ChainRecord>(client, BUCKET, `${chainDir}chain.json`);
  const lags = durableLog(run.log);
  const keys: string[] = [];
  for await (const o of listObjects(client, BUCKET, chainDir)) if (o.key.endsWith(".seg")) keys.push(o.key);
  keys.sort();
  const durableAtOf = new Float64Array(writes).fill(NaN);
  const payloads: Buffer[] = [];
  const mtimeMinusDurable: number[] = [];
  const keyRe = new RegExp(`\\r\\n${keyPrefix}(\\d+)\\r\\n`, "g");
  let endOffset = record.offset;
  let lastCommandAt = 0;
  for (const key of keys) {
    const s = decodeSegment(await getBytes(client, BUCKET, key), key);
    const lag = lags.get(key);
    if (lag === undefined) throw new Error(`the stream logged no durable moment for ${key}`);
    const durableAt = s.header.firstAt + lag;
    const file = path.join(b.s3.dataDir, BUCKET, `${key}._S3rver_object`);
    mtimeMinusDurable.push(fs.statSync(file).mtimeMs - durableAt);
    for (const m of s.payload.toString("latin1").matchAll(keyRe)) durableAtOf[Number(m[1])] = durableAt;
    payloads.push(s.payload);
    endOffset = s.header.end;
    const marks = s.header.marks;
    if (marks.count > 0) lastCommandAt = s.header.firstAt + marks.at(marks.count - 1);
  }
  return {
    base: String(record.base),
    endOffset,
    lastCommandAt,
    payloads,
    durableAtOf,
    mtimeMinusDurable,
    segments: keys.length,
    streamBytes: payloads.reduce((n, p) => n + p.length, 0),
  };
}

/** The recovery points (ms) of the acknowledged writes: durableAt - ackedAt. */
function recoveryPoints(w: RateWriter, stored: StoredRun): { values: number[]; missing: number } {
  const values: number[] = [];
  let missing = 0;
  for (let n = 0; n < w.sent; n++) {
    if (!(w.ackedAt[n] > 0)) continue;
    const d = stored.durableAtOf[n];
    if (Number.isNaN(d)) missing++;
    else values.push(d - w.ackedAt[n]);
  }
  return { values, missing };
}

/** One phase of writes at the rate, with or without a stream; returns the writer. */
async function loadPhase(b: Bench, keyPrefix: string, rate: number, seconds: number, valueBytes: number) {
  const client = new Redis({ port: b.port, maxRetriesPerRequest: null });
  try {
    const w = new RateWriter(client, { rate, seconds, valueBytes, keyPrefix });
    await w.run();
    return w;
  } finally {
    client.disconnect();
  }
}

/** The phase with the stream: starts it, writes, waits until all is durable, stops it, reads the bucket. */
async function streamedPhase(b: Bench, round: number, o: PhaseOptions) {
  await b.redis.flushall();
  const prefix = `round${round}`;
  const run = await startStream(b, prefix);
  const keyPrefix = `s${round}:`;
  const backup = o.backupAt > 0 ? backupAfter(b, prefix, o.backupAt) : undefined;
  const w = await loadPhase(b, keyPrefix, o.rate, o.seconds, o.valueBytes);
  const inside = await backup;
  // Every write made durable by the stream's own timer, not by the flush a stop does.
  const until = Date.now() + 3000;
  await new Promise((r) => setTimeout(r, until - Date.now()));
  const rssMiB = peakRssMiB(run.child.pid!);
  await b.group.stop(run.child, "SIGTERM", 30_000);
  const stored = { ...(await readStored(b, run, keyPrefix, w.sent)), inside };
  const rpo = recoveryPoints(w, stored);
  return { w, stored, rpo, rssMiB, prefix };
}

/** `holdfast backup redis` of the set, `seconds` from now, as the CronJob runs it; its id. */
async function backupAfter(b: Bench, prefix: string, seconds: number): Promise<string> {
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const r = await runTimed(
    process.execPath,
    [
      ...[b.cli, "backup", "redis", "--sentinel", `127.0.0.1:${b.sentinelPort}`, "--master-name", "bench"],
      ...["--bucket", BUCKET, "--prefix", prefix, "--json"],
    ],
    b.env,
  );
  const id = (JSON.parse(r.stdout) as { id: string }).id;
  console.log(`backup ${id} taken ${seconds} s into the phase, in ${r.seconds.toFixed(2)} s`);
  return id;
}

interface PhaseOptions {
  rate: number;
  seconds: number;
  valueBytes: number;
  /** Seconds into the streamed phase to take a backup (0: none). */
  backupAt: number;
}

/** Latency and rate of a phase, for the results. */
function phaseSummary(w: RateWriter) {
  const lat = w.latencies();
  return {
    sent: w.sent,
    acked: lat.length,
    errors: w.errors,
    achievedRate: Math.round(w.acknowledgedRate()),
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    p999Ms: percentile(lat, 99.9),
    maxMs: maxOf(lat),
  };
}

/** The AOF of the same writes: the chain's base RDB as the base, the stream's bytes as the increment. */
async function writeAof(b: Bench, prefix: string, stored: StoredRun, dir: string): Promise<void> {
  const aofDir = path.join(dir, "appendonlydir");
  fs.mkdirSync(aofDir, { recursive: true });
  const rdb = await getBytes(b.s3.client(), BUCKET, `${prefix}/redis/${stored.base}/dump.rdb`);
  fs.writeFileSync(path.join(aofDir, "appendonly.aof.1.base.rdb"), rdb);
  fs.writeFileSync(path.join(aofDir, "appendonly.aof.1.incr.aof"), Buffer.concat(stored.payloads));
  fs.writeFileSync(
    path.join(aofDir, "appendonly.aof.manifest"),
    "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
  );
}

type ReplayMethod = "aof" | "to-offset" | "to-time" | "serving" | "from-base";
const METHODS: ReplayMethod[] = ["aof", "to-offset", "to-time", "serving", "from-base"];

/** The replay methods --replay-methods names (default all four, and from-base with --backup-at). */
function replayMethods(): ReplayMethod[] {
  const i = process.argv.indexOf("--replay-methods");
  if (i < 0) return flag("backup-at", 0) > 0 ? METHODS : METHODS.filter((m) => m !== "from-base");
  const asked = (process.argv[i + 1] ?? "").split(",") as ReplayMethod[];
  const unknown = asked.filter((m) => !METHODS.includes(m));
  if (unknown.length > 0) throw new Error(`--replay-methods: unknown ${unknown.join(", ")}`);
  return asked;
}

/** Seconds to the hundredth (what /proc's clock ticks give). */
const hundredths = (s: number) => Math.round(s * 100) / 100;

/** `restore --to-offset --verify serving`: seconds until the server it started serves, checked, stopped. */
async function servingRestore(b: Bench, prefix: string, stored: StoredRun, dir: string, keys: number) {
  const port = await freePort();
  const prof = process.env.HOLDFAST_BENCH_CPU_PROF;
  // CPU seconds and page faults: the restore (a child, counted once reaped), s3rver, the serving
  // server it started.
  const usage = () => ({ restore: processUsage(process.pid, true), s3rver: processUsage(b.s3.pid) });
  const before = usage();
  const r = await runTimed(
    process.execPath,
    [
      ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
      ...[b.cli, "restore", "redis", "--to-offset", String(stored.endOffset), "--data-dir", dir],
      ...["--bucket", BUCKET, "--prefix", prefix, "--verify", "serving", "--serve-port", String(port)],
      "--json",
    ],
    b.env,
  );
  const out = JSON.parse(r.stdout) as {
    base: string;
    serving: { pid: number };
    took?: Record<string, number>;
  };
  const after = usage();
  const server = processUsage(out.serving.pid);
  const cpu = {
    restore: hundredths(after.restore.cpuSeconds - before.restore.cpuSeconds),
    s3rver: hundredths(after.s3rver.cpuSeconds - before.s3rver.cpuSeconds),
    server: hundredths(server.cpuSeconds),
  };
  const faults = {
    restore: after.restore.pageFaults - before.restore.pageFaults,
    s3rver: after.s3rver.pageFaults - before.s3rver.pageFaults,
    server: server.pageFaults,
  };
  const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await c.connect();
    const held = await c.dbsize();
    if (held !== keys) throw new Error(`the serving restore holds ${held} keys, ${keys} expected`);
  } finally {
    c.disconnect();
    process.kill(out.serving.pid, "SIGKILL");
  }
  // The restore's own split (ms by step, from its start); `exit` is what its clock does not see.
  // (A CLI from before `took` reports none: only the wall time is known.)
  const took = out.took ?? {};
  const inside = Object.values(took).reduce((n, ms) => n + ms, 0);
  const ms = { ...took, exit: Math.round(r.seconds * 1000 - inside) };
  return { seconds: r.seconds, base: out.base, took: ms, cpu, faults };
}

/**
 * The serving restore with the backup inside the chain hidden (its manifest moved to another key, put
 * back after): the restore starts from the chain's base.
 */
async function fromChainBase(b: Bench, prefix: string, stored: StoredRun, dir: string, keys: number) {
  if (!stored.inside) throw new Error("--replay-methods from-base needs --backup-at");
  const client = b.s3.client();
  const key = `${prefix}/redis/${stored.inside}/manifest.json`;
  const manifest = await getBytes(client, BUCKET, key);
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  try {
    return await servingRestore(b, prefix, stored, dir, keys);
  } finally {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: manifest }));
  }
}

/** One replay into a fresh directory until a stock redis-server serves it; seconds (replay, serving). */
async function replayOnce(b: Bench, method: ReplayMethod, prefix: string, stored: StoredRun, keys: number) {
  const dir = fs.mkdtempSync(path.join(b.work, `replay-${method}-`));
  try {
    let replay = 0;
    let took: Record<string, number> | undefined;
    if (method === "aof") await writeAof(b, prefix, stored, dir);
    else if (method === "serving" || method === "from-base") {
      const restore = method === "serving" ? servingRestore : fromChainBase;
      const { seconds, base, took, cpu, faults } = await restore(b, prefix, stored, dir, keys);
      return { replay: seconds, serving: 0, total: seconds, base, took, cpu, faults };
    } else {
      const point =
        method === "to-offset"
          ? ["--to-offset", String(stored.endOffset)]
          : ["--to-time", new Date(stored.lastCommandAt).toISOString()];
      const run = await runTimed(
        process.execPath,
        [b.cli, "restore", "redis", ...point, "--data-dir", dir, "--bucket", BUCKET, "--prefix", prefix],
        b.env,
      );
      replay = run.seconds;
      // The restore's own split: the plan, and the replay's base, stream, SAVE and scan (ms).
      const line = run.stderr.split("\n").find((l) => l.includes('"msg":"replayed"'));
      if (line) {
        const { planMs, base, stream, save, scan } = JSON.parse(line) as Record<string, number>;
        took = { planMs, base, stream, save, scan };
      }
    }
    let cpu: Record<string, number> | undefined;
    let faults: Record<string, number> | undefined;
    const serving = await serveDir(b.group, dir, keys, true, (u) => {
      cpu = { server: hundredths(u.cpuSeconds) };
      faults = { server: u.pageFaults };
    });
    return { replay, serving, total: replay + serving, took, cpu, faults };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Each replay method `n` times on a round's chain, in rotating order. */
async function replays(b: Bench, round: number, prefix: string, stored: StoredRun, keys: number, n: number) {
  const methods = replayMethods();
  const times: Record<ReplayMethod, Awaited<ReturnType<typeof replayOnce>>[]> = {
    aof: [],
    "to-offset": [],
    "to-time": [],
    serving: [],
    "from-base": [],
  };
  for (let i = 0; i < n; i++)
    for (let k = 0; k < methods.length; k++) {
      const m = methods[(round + i + k) % methods.length];
      const t = await replayOnce(b, m, prefix, stored, keys);
      times[m].push(t);
      console.log(
        `round ${round + 1} replay ${m}: ${t.total.toFixed(2)} s` +
          (m === "aof"
            ? ` (redis-server loading the AOF; CPU s ${JSON.stringify(t.cpu)}; page faults ${JSON.stringify(t.faults)})`
            : m === "serving" || m === "from-base"
              ? ` (restore --verify serving from base ${t.base}: staged, placed, loaded once, serving; ms by step ${JSON.stringify(t.took)}; CPU s ${JSON.stringify(t.cpu)}; page faults ${JSON.stringify(t.faults)})`
              : ` (restore ${t.replay.toFixed(2)} s + serving ${t.serving.toFixed(2)} s; ms ${JSON.stringify(t.took)})`),
      );
    }
  return times;
}

/** One round: the phases in alternating order, then the replays of the round's chain. */
async function runRound(b: Bench, round: number, o: PhaseOptions, replayRounds: number) {
  let without: RateWriter | undefined;
  let streamed: Awaited<ReturnType<typeof streamedPhase>> | undefined;
  for (const phase of round % 2 ? ["without", "with"] : ["with", "without"]) {
    if (phase === "with") streamed = await streamedPhase(b, round, o);
    else {
      await b.redis.flushall();
      without = await loadPhase(b, `n${round}:`, o.rate, o.seconds, o.valueBytes);
    }
    console.log(
      `round ${round + 1} ${phase} the stream: ${JSON.stringify(phaseSummary(phase === "with" ? streamed!.w : without!))}`,
    );
  }
  const s = streamed!;
  const rpo = {
    p50Ms: percentile(s.rpo.values, 50),
    p99Ms: percentile(s.rpo.values, 99),
    maxMs: maxOf(s.rpo.values),
    writes: s.rpo.values.length,
    missing: s.rpo.missing,
  };
  console.log(
    `round ${round + 1} recovery point: p50 ${rpo.p50Ms.toFixed(0)} ms, p99 ${rpo.p99Ms.toFixed(0)} ms, max ${rpo.maxMs.toFixed(0)} ms ` +
      `over ${rpo.writes} writes (${rpo.missing} in no segment); ${s.stored.segments} segments, ` +
      `${(s.stored.streamBytes / MiB).toFixed(1)} MiB; stream peak RSS ${s.rssMiB.toFixed(0)} MiB; ` +
      `s3rver mtime - durableAt median ${median(s.stored.mtimeMinusDurable).toFixed(1)} ms`,
  );
  // The replays need the round's writes on a server: the stream's chain holds them, the set does not.
  const keys = s.stored.durableAtOf.reduce((n, d) => (Number.isNaN(d) ? n : n + 1), 0);
  console.log(
    `round ${round + 1} replays of ${keys} writes (${(s.stored.streamBytes / MiB).toFixed(1)} MiB of stream) on the chain's base`,
  );
  const replay = await replays(b, round, s.prefix, s.stored, keys, replayRounds);
  return {
    with: phaseSummary(s.w),
    without: phaseSummary(without!),
    recoveryPoint: rpo,
    streamPeakRssMiB: s.rssMiB,
    segments: s.stored.segments,
    streamBytes: s.stored.streamBytes,
    mtimeMinusDurableMedianMs: median(s.stored.mtimeMinusDurable),
    mtimeMinusDurableMaxMs: Math.max(...s.stored.mtimeMinusDurable),
    replayedWrites: keys,
    replay,
    loadavg: loadavg(),
  };
}

function machineInfo() {
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavgAtStart: loadavg(),
    node: process.version,
    redis: version("redis-server", ["--version"]),
    s3rver: JSON.parse(fs.readFileSync(path.join(root, "node_modules/s3rver/package.json"), "utf8")).version,
    commit: version("git", ["-C", root, "rev-parse", "HEAD"]),
    jobsUncommitted: spawnSync("git", ["-C", root, "status", "--porcelain", "--", "jobs"], {
      encoding: "utf8",
    })
      .stdout.split("\n")
      .filter(Boolean),
  };
}

/** The medians over rounds and the ratios against the goals. */
function summarize(rounds: Awaited<ReturnType<typeof runRound>>[]) {
  const med = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f));
  const replayMed = (m: ReplayMethod) => median(rounds.flatMap((r) => r.replay[m].map((t) => t.total)));
  const aof = replayMed("aof");
  const s = {
    recoveryPointP99Ms: med((r) => r.recoveryPoint.p99Ms),
    streamPeakRssMiB: Math.max(...rounds.map((r) => r.streamPeakRssMiB)),
    replaySeconds: {
      aof,
      "to-offset": replayMed("to-offset"),
      "to-time": replayMed("to-time"),
      serving: replayMed("serving"),
      "from-base": replayMed("from-base"),
    },
    replaySpeedToOffset: aof / replayMed("to-offset"),
    replaySpeedToTime: aof / replayMed("to-time"),
    replaySpeedServing: aof / replayMed("serving"),
    p99WithMs: med((r) => r.with.p99Ms),
    p99WithoutMs: med((r) => r.without.p99Ms),
    p99Ratio: med((r) => r.with.p99Ms) / med((r) => r.without.p99Ms),
  };
  console.log(
    `recovery point p99 ${(s.recoveryPointP99Ms / 1000).toFixed(2)} s (goal <= 2 s: ${(s.recoveryPointP99Ms / 2000).toFixed(2)} of it); ` +
      `stream peak RSS ${s.streamPeakRssMiB.toFixed(0)} MiB (goal <= 150: ${(s.streamPeakRssMiB / 150).toFixed(2)} of it)`,
  );
  console.log(
    `replay until serving: AOF ${aof.toFixed(2)} s, --to-offset ${s.replaySeconds["to-offset"].toFixed(2)} s, ` +
      `--to-time ${s.replaySeconds["to-time"].toFixed(2)} s; speed vs AOF ${(100 * s.replaySpeedToOffset).toFixed(0)}% / ` +
      `${(100 * s.replaySpeedToTime).toFixed(0)}% (goal >= 50%); --to-offset --verify serving ` +
      `${s.replaySeconds.serving.toFixed(2)} s, ${(100 * s.replaySpeedServing).toFixed(0)}% of AOF speed`,
  );
  if (rounds.some((r) => r.replay["from-base"].length > 0))
    console.log(
      `the same point from the backup inside the chain ${s.replaySeconds.serving.toFixed(2)} s, ` +
        `from the chain's base ${s.replaySeconds["from-base"].toFixed(2)} s ` +
        `(${(s.replaySeconds["from-base"] / s.replaySeconds.serving).toFixed(2)}x)`,
    );
  console.log(
    `primary p99 write latency: with the stream ${s.p99WithMs.toFixed(2)} ms, without ${s.p99WithoutMs.toFixed(2)} ms; ratio ${s.p99Ratio.toFixed(2)}`,
  );
  return s;
}

async function main(): Promise<void> {
  // The AWS SDK's notice that it will need Node.js 22 from 2027 says nothing about the benchmark.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const o: PhaseOptions = {
    rate: flag("rate", 20000),
    seconds: flag("seconds", 30),
    valueBytes: flag("value-bytes", 100),
    backupAt: flag("backup-at", 0),
  };
  const rounds = flag("rounds", 3);
  const replayRounds = flag("replay-rounds", 1);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-bench-stream-"));
  const group = new ProcessGroup(path.join(work, "logs"));
  const machine = machineInfo();
  console.log("machine", JSON.stringify(machine));
  const results: Record<string, unknown> = { machine, ...o, rounds, replayRounds };
  let s3: S3Server | undefined;
  let set: Awaited<ReturnType<typeof startSet>> | undefined;
  try {
    // The CLI as the job image runs it (compiled, not tsx): the tests' cached build of this checkout.
    const cli = compiledCli().bin;
    set = await startSet(work, group);
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    const { AWS_CA_BUNDLE: _bundle, ...inherited } = process.env;
    const b: Bench = { ...set, work, group, cli, s3, env: { ...inherited, ...s3.env } };
    const done: Awaited<ReturnType<typeof runRound>>[] = [];
    for (let round = 0; round < rounds; round++) done.push(await runRound(b, round, o, replayRounds));
    results.rounds = done;
    results.summary = summarize(done);
    results.loadavgAtEnd = loadavg();
    writeResults("redis-stream", results);
  } finally {
    set?.redis.disconnect();
    await s3?.cleanup();
    await group.killAll();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
