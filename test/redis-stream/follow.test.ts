// The stream over a write load on the harness's Sentinel set: killed (SIGKILL) and started again it
// continues its chain from the last durable segment; the primary killed, it continues on the promoted
// replica by PSYNC continuation (the load paused at the kill, so the promoted replica holds every byte the
// stream does). The timeline is one chain without a gap, and a restore to its newest
// moment holds exactly what the set holds, key by key.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RedisSet } from "../../harness/redis-set";
import { S3Server } from "../../harness/s3";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { BUCKET, type CliRun } from "../backup/cli";
import { freePort, waitFor } from "../../harness/processes";
import { restoreAndServe, startStream, streamEnv, timeline, waitDurable, WriteLoad } from "./support";

jest.setTimeout(300_000);

let set: RedisSet;
let s3: S3Server;
let work: string;
let env: Record<string, string>;
const runs: CliRun[] = [];
const servers: StandaloneRedis[] = [];

beforeAll(async () => {
  [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-stream-follow-"));
  env = streamEnv(set, s3.env, "follow");
});
afterAll(async () => {
  for (const r of runs) r.child.kill("SIGKILL");
  await Promise.all(servers.map((s) => s.cleanup()));
  await Promise.all([set?.cleanup(), s3?.cleanup()]);
  if (work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("keeps one gap-free chain across its own SIGKILL and a primary's death, and restores what the set holds", async () => {
  runs.push(startStream(env));
  await waitDurable(env, 0);
  const load = new WriteLoad(set.appClient());
  load.start();
  await pause(1500);

  // Killed mid-load and started again: it continues its chain from the last durable segment.
  runs[0].child.kill("SIGKILL");
  await runs[0].done;
  await pause(1000);
  const metricsPort = await freePort();
  runs.push(startStream(env, ["--metrics-port", String(metricsPort)]));
  // Back on its link before the failover (a stream away longer than the primary's backlog covers
  // cannot continue: that is a gap, and not what this test is about).
  await waitDurable(env, Date.now(), 60_000);
  await pause(500);

  // The primary dies: the sentinels promote a replica, the stream continues on it. The load pauses for
  // the kill until every replica, the stream too, has all the primary sent: with writes in flight, the
  // stream may hold bytes the promoted replica never got (its output buffer died with the primary), and
  // then no PSYNC can continue: a real gap, recorded as one, and not what this test is about.
  const old = await set.waitForHealthy();
  load.pause(true);
  await waitFor(
    "every replica of the primary, the stream too, at its offset",
    async () => {
      const info = await set.replication(old);
      const offset = Number(info.master_repl_offset);
      const replicas = Object.entries(info).filter(([k]) => /^slave\d+$/.test(k));
      return replicas.length > 0 && replicas.every(([, v]) => Number(/offset=(\d+)/.exec(v)?.[1]) === offset);
    },
    15_000,
    50,
  );
  await set.kill(old);
  await set.waitForPromotion(old, 60_000);
  load.pause(false);
  await pause(2000);
  await load.stop();
  const primary = await set.waitForHealthy(60_000).catch(() => set.primaryNamedBySentinels());
  await pause(500);
  const end = Date.now();
  await waitDurable(env, end);

  // Its metrics: the link up, nothing waiting long, the durable offset where the timeline ends.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toMatch(/^holdfast_stream_link_up 1$/m);
  expect(Number(/^holdfast_stream_lag_seconds (\S+)$/m.exec(metrics)![1])).toBeLessThan(5);
  if (!/^holdfast_stream_gaps_total 0$/m.test(metrics))
    throw new Error(`the stream began a new chain; its log since the restart:\n${runs[1].stderr()}`);
  const durableOffset = Number(/^holdfast_stream_durable_offset (\d+)$/m.exec(metrics)![1]);

  const t = await timeline(env);
  // Read after the metrics: the primary's pings may have made a little more durable since.
  expect((t.chains[0] as { endOffset?: number }).endOffset).toBeGreaterThanOrEqual(durableOffset);
  expect(t.chains.length).toBe(1);
  expect(t.gaps).toEqual([]);
  const restartLog = runs[1].stderr();
  expect(restartLog).toMatch(/"msg":"stream starting","continuesChain":1/);
  expect(restartLog).toMatch(/"msg":"continuing on a new primary"/);
  expect(restartLog).not.toMatch(/"msg":"gap/);

  // Everything the set holds now, and nothing else, is in the restore to the newest moment.
  const live = set.connect(primary!, "admin");
  await live.connect();
  const r = await restoreAndServe(env, work, "newest", ["--to-time", t.newest!], servers);
  expect(r.stderr).not.toMatch(/"level":"error"/);
  expect(r.code).toBe(0);
  const restored = r.client!;
  const keys = load.acked.map((a) => `w:${a.n}`);
  const want = await live.mget(...keys);
  const got = await restored.mget(...keys);
  expect(got.filter((v, i) => v !== want[i])).toEqual([]);
  expect(await restored.dbsize()).toBe(await live.dbsize());
  // The writes acknowledged while the stream was down and while the set failed over are all there.
  expect(want.filter((v) => v !== null).length).toBeGreaterThan(load.acked.length * 0.9);
});
