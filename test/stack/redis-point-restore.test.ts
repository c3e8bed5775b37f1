// `holdfast stack restore redis --to-time` against the dev stack "deployed" on this machine
// (harness/stack-cluster: the Kubernetes API stand-in, the Redis pods as real processes, every Job run as
// a local process of this checkout's CLI, s3rver as the bucket), with `stream redis` shipping the set's
// replication stream to the stack's prefix. An admin's FLUSHALL is undone to the moment before it: the
// dry run names the base and segments and changes nothing; the real run's Job restores the point into
// pod 0, the set comes back whole, and its counts match what the Job replayed: every key written before
// the moment, none after. `stack status` reports the stream.
import type Redis from "ioredis";
import type { Plan } from "../../jobs/stack/plan";
import type { RunOutcome } from "../../jobs/stack/execute";
import { holdfast } from "../backup/cli";
import type { CliRun } from "../backup/cli";
import { StackCluster } from "../../harness/stack-cluster";
import { startStream, streamEnv, waitDurable } from "../redis-stream/support";

jest.setTimeout(300_000);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let c: StackCluster;
let stream: CliRun;
let streamEnvVars: Record<string, string>;
let moment: string;
const BEFORE = 600;

const stackArgs = () => ["--stack", "dev", "--outputs", c.outputsFile, "--poll-interval", "250ms"];
const run = (args: string[]) => holdfast(args, c.env);

async function primary(): Promise<Redis> {
  const admin = c.set.connect(await c.set.waitForHealthy(60_000), "admin");
  await admin.connect();
  return admin;
}

beforeAll(async () => {
  c = await StackCluster.start();
  streamEnvVars = {
    ...streamEnv(c.set, c.s3.env, c.outputs.backup.prefix),
    HOLDFAST_BUCKET: c.outputs.backup.bucket,
  };
  stream = startStream(streamEnvVars);
  await waitDurable(streamEnvVars, 0, 60_000);
  const admin = await primary();
  for (let batch = 0; batch < 6; batch++) {
    const p = admin.pipeline();
    for (let i = 0; i < BEFORE / 6; i++) p.set(`before:${batch}:${i}`, String(i));
    await p.exec();
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 100));
  moment = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 100));
  await admin.flushall();
  await admin.set("written-after-the-loss", "gone after the restore");
  await waitDurable(streamEnvVars, Date.now(), 60_000);
  // The stream stops before the set goes down (its Deployment would rejoin the restored set as a new chain).
  stream.child.kill("SIGTERM");
  await stream.done;
});
afterAll(async () => {
  stream?.child.kill("SIGKILL");
  await c?.cleanup();
});

test("stack status reports the stream beside the newest backup", async () => {
  const r = await run(["stack", "status", ...stackArgs(), "--store", "redis", "--json"]);
  expect(r.code).toBe(0);
  const [redis] = JSON.parse(r.stdout) as Json[];
  expect(redis.stream).toMatchObject({ chain: 1, ok: true, gaps: [] });
  expect(Date.parse(redis.stream.newest)).toBeGreaterThan(Date.parse(moment));
});

describe("a FLUSHALL undone to the moment before it", () => {
  let dryPlan: Plan;

  test("--dry-run names the base and segments, renders the Job with --to-time, changes nothing", async () => {
    const requestsBefore = c.server.requests.length;
    const r = await run([
      "stack",
      "restore",
      "redis",
      ...stackArgs(),
      "--to-time",
      moment,
      "--dry-run",
      "--json",
    ]);
    expect(r.code).toBe(0);
    dryPlan = (JSON.parse(r.stdout) as { plan: Plan }).plan;
    expect(dryPlan.backup.id).toBe(`to-time ${moment}`);
    expect(dryPlan.point).toMatchObject({ chain: 1 });
    expect(dryPlan.point!.segments.length).toBeGreaterThan(0);
    expect(dryPlan.point!.base).toMatch(/^\d{8}T/);
    expect(Date.parse(dryPlan.point!.lastCommandAt)).toBeLessThanOrEqual(Date.parse(moment));
    const restore = dryPlan.steps[3].actions[0] as Json;
    const command = restore.job.spec.template.spec.containers[0].command as string[];
    expect(command.slice(0, 5)).toEqual(["holdfast", "restore", "redis", "--to-time", moment]);
    expect(command).not.toContain("--backup");
    expect(restore.job.metadata.labels["holdfast.dev/backup"]).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/);
    const writes = c.server.requests
      .slice(requestsBefore)
      .filter((q) => q.user === "operator" && !["get", "list", "watch"].includes(q.verb));
    expect(writes).toEqual([]);
    const text = await run(["stack", "restore", "redis", ...stackArgs(), "--to-time", moment, "--dry-run"]);
    expect(text.stdout).toMatch(new RegExp(`^point to-time ${moment}: base ${dryPlan.point!.base} `, "m"));
    expect(text.stdout).toMatch(/checked: stream chain 1: \d+ segments from offset/);
    expect(await (await primary()).get("written-after-the-loss")).toBe("gone after the restore");
  });

  test("--backup with --to-time is bad input (exit 2)", async () => {
    const r = await run([
      "stack",
      "restore",
      "redis",
      ...stackArgs(),
      "--backup",
      "latest",
      "--to-time",
      moment,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give one of --backup, --to-time, --to-offset/);
  });

  test("the restore runs the printed plan; the set holds every key written before the moment, none after", async () => {
    const r = await run(["stack", "restore", "redis", ...stackArgs(), "--to-time", moment, "--json"]);
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; plan: Plan; outcome: RunOutcome };
    expect(out.ok).toBe(true);
    expect(out.plan.steps).toEqual(dryPlan.steps);
    expect(out.outcome.checks.length).toBeGreaterThan(0);
    expect(out.outcome.checks.every((x) => x.ok && x.actual === x.expected)).toBe(true);
    expect(out.outcome.checks.find((x) => x.name === "DBSIZE db0")).toMatchObject({ actual: BEFORE });
    const admin = await primary();
    expect(await admin.dbsize()).toBe(BEFORE);
    expect(await admin.get("before:5:99")).toBe("99");
    expect(await admin.get("written-after-the-loss")).toBeNull();
    expect(out.outcome.after).toMatchObject({ healthy: true, primaryIndex: 0 });
    const sts = c.objects("apps/v1", "StatefulSet").find((s) => s.metadata.name === "redis") as Json;
    expect(JSON.parse(sts.metadata.annotations["holdfast.dev/last-restore"])).toMatchObject({
      backup: `to-time ${moment}`,
    });
  });
});
