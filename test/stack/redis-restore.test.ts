// `holdfast stack restore redis` against a stack "deployed" on this machine (harness/stack-cluster):
// the Kubernetes API stand-in with the dev stack's rendered objects, its Redis pods as real redis-server
// and sentinel processes on their claims' folders, every Job the restore creates run as a local process
// of this checkout's CLI, and s3rver as the bucket. The loss scenarios on a dataset of every Redis type
// and a few thousand emotives, metadata and frequency keys:
// - complete loss (FLUSHALL): --dry-run changes nothing; the real run executes exactly the printed plan
//   (the other volumes set aside only after pod 0's restore Job succeeded, the data pods started with the
//   sentinels), restores every key, verifies, and keeps what was there before (safety backup,
//   holdfast-aside/);
// - partial loss, with the restore Job of pod 0 killed half-way: the stack is left scaled down with a
//   message saying so and how to go on; the same command again finishes it, without a second safety
//   backup, and the data from before is still kept;
// - complete loss with the volumes gone (`down -v`): both StatefulSets at zero and every claim
//   deleted; the restore takes no safety backup of nothing, recreates pod 0's claim, and the set comes
//   back whole on new volumes.
import * as fs from "fs";
import * as path from "path";
import type Redis from "ioredis";
import { getJson } from "../../jobs/store/s3";
import type { RedisBackupManifest } from "../../jobs/redis-backup/manifest";
import type { Plan } from "../../jobs/stack/plan";
import type { RunOutcome } from "../../jobs/stack/execute";
import { jobName } from "../../jobs/stack/jobs";
import { holdfast } from "../backup/cli";
import {
  compareSnapshots,
  fillEveryType,
  snapshotDataset,
  type KeySnapshot,
} from "../../harness/redis-dataset";
import type { KubeObject } from "../../harness/kube-api";
import { StackCluster } from "../../harness/stack-cluster";

jest.setTimeout(300_000);

const DBS = [0, 1, 5, 15];
let c: StackCluster;
/** Jobs whose name matches get this environment (fault injection). */
let inject: { match: RegExp; env: Record<string, string> } | undefined;

beforeAll(async () => {
  c = await StackCluster.start({
    jobEnvFor: (job) => (inject && inject.match.test(job.metadata.name) ? inject.env : undefined),
  });
});
afterAll(async () => {
  await c?.cleanup();
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const stackArgs = () => ["--stack", "dev", "--outputs", c.outputsFile, "--poll-interval", "250ms"];
const run = (args: string[]) => holdfast(args, c.env);

/** An admin connection to the current primary (closed by the set's cleanup). */
async function primary(): Promise<Redis> {
  const admin = c.set.connect(await c.set.waitForHealthy(60_000), "admin");
  await admin.connect();
  return admin;
}

/** Application data: a few thousand emotives, metadata and pattern frequencies, beside every Redis type. */
async function fillAppKeys(r: Redis): Promise<void> {
  const p = r.pipeline();
  for (let i = 0; i < 1500; i++) {
    p.set(`kb${i % 30}:emotives:p${i}`, JSON.stringify({ joy: (i % 10) / 10, fear: (i % 7) / 7 }));
    p.hset(`kb${i % 30}:metadata:p${i}`, { tag: `t${i % 11}`, note: `pattern ${i}` });
    p.zadd(`kb${i % 30}:frequency`, i, `p${i}`);
    p.incrby(`kb${i % 30}:symbol:s${i % 400}`, i);
  }
  await p.exec();
}

/** Keys of every database (INFO keyspace). */
async function totalKeys(r: Redis): Promise<number> {
  const info = String(await r.info("keyspace"));
  return [...info.matchAll(/^db\d+:keys=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

async function dataset(): Promise<Map<string, KeySnapshot>> {
  return snapshotDataset(await primary(), DBS);
}

function statefulSet(name: string): Json {
  return c.objects("apps/v1", "StatefulSet").find((s) => s.metadata.name === name) as Json;
}

function jobs(): KubeObject[] {
  return c.objects("batch/v1", "Job");
}

async function manifest(id: string): Promise<RedisBackupManifest> {
  return getJson<RedisBackupManifest>(
    c.s3.client(),
    c.outputs.backup.bucket,
    `dev/redis/${id}/manifest.json`,
  );
}

async function backupIds(): Promise<string[]> {
  const r = await run(["stack", "list", ...stackArgs(), "--store", "redis", "--json"]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { id: string; reason: string }[]).map((b) => b.id).sort();
}

/**
 * Watches the stand-in's pods while a restore runs: when redis-0 was created again after the scale-down,
 * and when every sentinel was ready again.
 */
function watchBringBack(): { seen: { dataPodCreated?: number; sentinelsReady?: number }; stop(): void } {
  const seen: { dataPodCreated?: number; sentinelsReady?: number } = {};
  let dataGone = false;
  let sentinelsGone = false;
  const ready = (p: Json) =>
    (p.status?.conditions ?? []).some((x: Json) => x.type === "Ready" && x.status === "True");
  const timer = setInterval(() => {
    const pods = c.objects("v1", "Pod") as Json[];
    const data0 = pods.some((p) => p.metadata.name === "redis-0");
    const sentinels = pods.filter((p) => /^redis-sentinel-\d+$/.test(p.metadata.name));
    if (!data0) dataGone = true;
    else if (dataGone && seen.dataPodCreated === undefined) seen.dataPodCreated = Date.now();
    if (sentinels.length === 0) sentinelsGone = true;
    else if (
      sentinelsGone &&
      seen.sentinelsReady === undefined &&
      sentinels.length === 3 &&
      sentinels.every(ready)
    )
      seen.sentinelsReady = Date.now();
  }, 50);
  return { seen, stop: () => clearInterval(timer) };
}

let backupId: string;
let expected: Map<string, KeySnapshot>;
let snapshotAt: number;

describe("complete loss", () => {
  let dryPlan: Plan;
  let preRestoreKeys: number;

  beforeAll(async () => {
    const admin = await primary();
    await fillEveryType(admin);
    await fillAppKeys(admin);
    await c.set.waitForAofWritten();
    const r = await run([
      "stack",
      "backup",
      "redis",
      ...stackArgs(),
      "--reason",
      "pre-training",
      "--wait",
      "--timeout",
      "2m",
    ]);
    expect(r.stderr).toMatch(/succeeded/);
    expect(r.code).toBe(0);
    [backupId] = (await backupIds()).slice(-1);
    expected = await dataset();
    snapshotAt = Date.now();
    expect(expected.size).toBeGreaterThan(4000);
    // The loss: everything flushed, then a write that exists only in the data from before the restore.
    await admin.flushall();
    await admin.set("written-after-the-loss", "keep me");
    preRestoreKeys = 1;
  });

  test("--dry-run prints the plan and changes nothing", async () => {
    const requestsBefore = c.server.requests.length;
    const jobsBefore = jobs().map((j) => j.metadata.name);
    const backupsBefore = await backupIds();
    const r = await run([
      "stack",
      "restore",
      "redis",
      ...stackArgs(),
      "--backup",
      "latest",
      "--dry-run",
      "--json",
    ]);
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { dryRun: boolean; plan: Plan };
    expect(out.dryRun).toBe(true);
    dryPlan = out.plan;
    expect(dryPlan.backup).toMatchObject({ id: backupId, requested: "latest", reason: "pre-training" });
    expect(dryPlan.steps.map((s) => s.title)).toEqual([
      "preflight",
      "safety backup",
      "scale down",
      "restore volumes",
      "bring back and verify",
    ]);
    const restore = dryPlan.steps[3].actions[0] as Json;
    expect(restore.job.spec.template.spec.containers[0].command).toEqual([
      "holdfast",
      "restore",
      "redis",
      "--backup",
      backupId,
      "--data-dir",
      "/data",
      "--bucket",
      c.outputs.backup.bucket,
      "--prefix",
      "dev",
      "--json",
    ]);
    expect(restore.job.spec.template.spec).toMatchObject({
      serviceAccountName: "holdfast-restore",
      securityContext: { runAsUser: 999, fsGroup: 999, runAsNonRoot: true },
      volumes: expect.arrayContaining([
        { name: "data", persistentVolumeClaim: { claimName: "data-redis-0" } },
      ]),
    });
    expect(restore.job.spec.backoffLimit).toBe(0);
    // Only reads: no write reached the API, no Job, no backup, the data as it was.
    const writes = c.server.requests
      .slice(requestsBefore)
      .filter((q) => q.user === "operator" && !["get", "list", "watch"].includes(q.verb));
    expect(writes).toEqual([]);
    expect(jobs().map((j) => j.metadata.name)).toEqual(jobsBefore);
    expect(await backupIds()).toEqual(backupsBefore);
    expect(statefulSet("redis").spec.replicas).toBe(3);
    expect(statefulSet("redis").metadata.annotations?.["holdfast.dev/restore"]).toBeUndefined();
    expect(await (await primary()).get("written-after-the-loss")).toBe("keep me");
  });

  test("the restore runs the printed plan, brings every key back and verifies it", async () => {
    const watch = watchBringBack();
    const r = await run([
      "stack",
      "restore",
      "redis",
      ...stackArgs(),
      "--backup",
      "latest",
      "--json",
    ]).finally(() => watch.stop());
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; plan: Plan; outcome: RunOutcome };
    expect(out.ok).toBe(true);
    // The plan it ran is the plan --dry-run printed, and its Jobs are the Jobs that ran.
    expect(out.plan.steps).toEqual(dryPlan.steps);
    const ran = new Map(jobs().map((j) => [j.metadata.name, j as Json]));
    for (const a of out.plan.steps.flatMap((s) => s.actions) as Json[]) {
      if (!a.job) continue;
      const job = ran.get(a.job.metadata.name);
      expect(job).toBeDefined();
      expect(job!.spec.template.spec.containers[0].command).toEqual(
        a.job.spec.template.spec.containers[0].command,
      );
      expect(job!.spec.template.spec.volumes).toEqual(a.job.spec.template.spec.volumes);
      expect(job!.status.succeeded).toBe(1);
    }
    expect(
      out.outcome.actions
        .filter((a) => a.status === "done")
        .map((a) => a.key)
        .sort(),
    ).toEqual(
      out.plan.steps
        .flatMap((s) => s.actions)
        .map((a) => a.key)
        .sort(),
    );

    // What ran at once. No volume but pod 0's was touched before its restore Job (which verifies the
    // backup first) had succeeded; the data pods were created while the sentinels were still starting.
    const job = (claim: string) => ran.get(jobName("holdfast-restore", backupId, claim))!;
    const restored = Date.parse(job("data-redis-0").status.completionTime);
    for (const claim of ["data-redis-1", "data-redis-2", "state-redis-sentinel-0", "state-redis-sentinel-2"])
      expect(Date.parse(job(claim).metadata.creationTimestamp)).toBeGreaterThanOrEqual(restored);
    expect(watch.seen.dataPodCreated).toBeDefined();
    expect(watch.seen.sentinelsReady).toBeDefined();
    expect(watch.seen.dataPodCreated!).toBeLessThan(watch.seen.sentinelsReady!);

    // Every key, type, value and TTL of the backup.
    const after = await dataset();
    expect(compareSnapshots(expected, after, Date.now() - snapshotAt + 5000)).toEqual([]);
    expect(after.has(`0:${Buffer.from("written-after-the-loss").toString("base64")}`)).toBe(false);
    // The verification: the primary's counts against the manifest, pod 0 primary, sentinels clean.
    expect(out.outcome.checks.length).toBeGreaterThanOrEqual(6);
    expect(out.outcome.checks.every((x) => x.ok && x.actual === x.expected)).toBe(true);
    expect(out.outcome.after).toMatchObject({ healthy: true, primaryIndex: 0 });
    // Verified from the nodes themselves: pod 0 primary with both replicas online and counted for
    // writes, each replica's link up and sync done; every sentinel names pod 0 and lists no replica it
    // cannot reach. How many replicas each lists was not waited for; they list both within their 10 s
    // INFO period (waitForHealthy waits for that too: without it they could not fail over).
    const verified = out.outcome.after!;
    expect(verified.nodes[0]).toMatchObject({ role: "primary", onlineReplicas: 2, goodReplicas: 2 });
    for (const n of verified.nodes.slice(1)) expect(n).toMatchObject({ role: "replica", inSync: true });
    for (const s of verified.sentinels)
      expect(s).toMatchObject({ primary: verified.primary, staleReplicas: 0 });
    expect(await c.set.primaryNamedBySentinels()).toBe(c.set.data[0]);
    expect(await c.set.waitForHealthy(15_000)).toBe(c.set.data[0]);
    expect(out.outcome.before).toMatchObject({ keyspace: { "0": preRestoreKeys } });

    // Kept: a safety backup of the data from before, and each volume's previous content.
    const safety = await manifest(out.outcome.safetyBackup!);
    expect(safety).toMatchObject({ reason: "pre-restore", dataset: { keys: preRestoreKeys } });
    const kept = new Map(out.outcome.keptAside.map((k) => [k.claim, k.dir]));
    expect([...kept.keys()].sort()).toEqual([
      "data-redis-0",
      "data-redis-1",
      "data-redis-2",
      "state-redis-sentinel-0",
      "state-redis-sentinel-1",
      "state-redis-sentinel-2",
    ]);
    const aside0 = kept.get("data-redis-0")!.replace(/^\/data/, c.claimDir("data-redis-0"));
    const incr = fs
      .readdirSync(path.join(aside0, "appendonlydir"))
      .filter((f) => f.endsWith(".incr.aof"))
      .map((f) => fs.readFileSync(path.join(aside0, "appendonlydir", f), "utf8"))
      .join("");
    expect(incr).toContain("written-after-the-loss");
    const sentinelAside = kept
      .get("state-redis-sentinel-1")!
      .replace(/^\/data/, c.claimDir("state-redis-sentinel-1"));
    expect(fs.readFileSync(path.join(sentinelAside, "sentinel.conf"), "utf8")).toMatch(/^sentinel monitor /m);

    // The stack as it was, with the restore recorded as done.
    const sts = statefulSet("redis");
    expect(sts.spec.replicas).toBe(3);
    expect(statefulSet("redis-sentinel").spec.replicas).toBe(3);
    expect(sts.metadata.annotations["holdfast.dev/restore"]).toBeUndefined();
    expect(JSON.parse(sts.metadata.annotations["holdfast.dev/last-restore"])).toMatchObject({
      backup: backupId,
      safetyBackup: out.outcome.safetyBackup,
    });
  });
});

describe("partial loss, the restore Job killed half-way", () => {
  let lost: number;
  let preRestoreKeys: number;

  beforeAll(async () => {
    const admin = await primary();
    // The emotives of ten kb_ids are gone; a new write lands meanwhile.
    lost = 0;
    for (let kb = 0; kb < 10; kb++) {
      const keys = await admin.keys(`kb${kb}:emotives:*`);
      lost += await admin.del(...keys);
    }
    await admin.set("written-after-the-partial-loss", "keep me too");
    await c.set.waitForAofWritten();
    preRestoreKeys = await totalKeys(admin);
  });

  test("a failed restore Job leaves the stack scaled down and says so; the same command finishes it", async () => {
    expect(lost).toBeGreaterThanOrEqual(500);
    const backupsBefore = await backupIds();
    // SIGKILL in pod 0's restore Job right after it moved the current dataset aside.
    inject = { match: /-data-redis-0$/, env: { HOLDFAST_FAILPOINTS: "restore-aside" } };
    const args = ["stack", "restore", "redis", ...stackArgs(), "--backup", backupId];
    const failed = await run(args);
    inject = undefined;
    expect(failed.code).toBe(1);
    const lines = failed.stderr.split("\n").filter((l) => l.startsWith("holdfast: "));
    expect(lines[0]).toMatch(
      /^holdfast: the restore stopped at step 4 \(restore volumes\): Job holdfast-restore-\S+-data-redis-0 failed: Job has reached the specified backoff limit/,
    );
    const state = failed.stderr.slice(failed.stderr.indexOf(lines[1]));
    expect(state).toMatch(/Scaled down to 0: redis-sentinel \(was 3\), redis \(was 3\); nothing can write/);
    expect(state).toMatch(/data-redis-0: its Job stopped part-way/);
    expect(state).toMatch(
      /The data from before the restore is in safety backup \d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6};/,
    );
    expect(state).toContain(
      `Re-run to continue (finished steps are skipped): holdfast stack restore redis --stack dev --backup ${backupId}`,
    );
    expect(state).toMatch(
      /Or roll back to the data from before: holdfast stack restore redis --stack dev --backup \d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6} /,
    );

    // Scaled down, nothing running, the progress recorded.
    expect(statefulSet("redis").spec.replicas).toBe(0);
    expect(statefulSet("redis-sentinel").spec.replicas).toBe(0);
    const setPods = c
      .objects("v1", "Pod")
      .filter((p) => p.metadata.labels?.["statefulset.kubernetes.io/pod-name"]);
    expect(setPods.map((p) => p.metadata.name)).toEqual(["lancedb-0"]);
    const record = JSON.parse(statefulSet("redis").metadata.annotations["holdfast.dev/restore"]);
    expect(record).toMatchObject({
      backup: backupId,
      replicas: { redis: 3, "redis-sentinel": 3 },
      done: ["scale-down:redis-sentinel", "scale-down:redis"],
    });
    const safetyId = record.safetyBackup as string;
    expect((await backupIds()).filter((id) => !backupsBefore.includes(id))).toEqual([safetyId]);

    // The same command again: continues, takes no second safety backup, finishes, verifies.
    const again = await run([...args, "--json"]);
    expect(again.stderr).not.toMatch(/"level":"error"/);
    expect(again.code).toBe(0);
    const out = JSON.parse(again.stdout) as { plan: Plan; outcome: RunOutcome };
    expect(out.plan.resumes).toMatchObject({ backup: backupId, safetyBackup: safetyId });
    const skipped = Object.fromEntries(
      out.outcome.actions.filter((a) => a.status === "skipped").map((a) => [a.key, a.detail]),
    );
    expect(skipped).toEqual({
      preflight: "the set is down or half-restored by the interrupted restore",
      "safety-backup": `taken by the interrupted restore: ${safetyId}`,
    });
    expect(out.outcome.checks.every((x) => x.ok && x.actual === x.expected)).toBe(true);
    expect((await backupIds()).filter((id) => !backupsBefore.includes(id))).toEqual([safetyId]);
    expect(compareSnapshots(expected, await dataset(), Date.now() - snapshotAt + 5000)).toEqual([]);

    // The data from before is kept: in the safety backup, and on pod 0's volume where the killed Job put it.
    const safety = await manifest(safetyId);
    expect(safety.dataset.keys).toBe(preRestoreKeys);
    const backedUp = await manifest(backupId);
    expect(safety.dataset.patterns["*:emotives:*"]).toBe(backedUp.dataset.patterns["*:emotives:*"] - lost);
    const aside0 = out.outcome.keptAside
      .find((k) => k.claim === "data-redis-0")!
      .dir.replace(/^\/data/, c.claimDir("data-redis-0"));
    const incr = fs
      .readdirSync(path.join(aside0, "appendonlydir"))
      .filter((f) => f.endsWith(".incr.aof"))
      .map((f) => fs.readFileSync(path.join(aside0, "appendonlydir", f), "utf8"))
      .join("");
    expect(incr).toContain("written-after-the-partial-loss");
    const sts = statefulSet("redis");
    expect(sts.spec.replicas).toBe(3);
    expect(sts.metadata.annotations["holdfast.dev/restore"]).toBeUndefined();
  });
});

describe("complete loss with the volumes gone (`down -v`)", () => {
  const claims = [
    "data-redis-0",
    "data-redis-1",
    "data-redis-2",
    "state-redis-sentinel-0",
    "state-redis-sentinel-1",
    "state-redis-sentinel-2",
  ];
  const claimType = () => c.server.store.type("v1", "PersistentVolumeClaim");

  beforeAll(async () => {
    // Taken down as a bad script would: sentinels and data pods to zero, every claim deleted, its volume gone.
    for (const sts of ["redis-sentinel", "redis"])
      c.server.store.patch(
        c.server.store.type("apps/v1", "StatefulSet"),
        c.namespace,
        sts,
        "application/merge-patch+json",
        { spec: { replicas: 0 } },
      );
    const deadline = Date.now() + 60_000;
    const setPods = () =>
      c
        .objects("v1", "Pod")
        .filter((p) => /^redis-/.test(p.metadata.labels?.["statefulset.kubernetes.io/pod-name"] ?? ""));
    while (setPods().length > 0) {
      if (Date.now() > deadline) throw new Error("the Redis pods did not stop");
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const claim of claims) {
      const dir = c.claimDir(claim);
      c.server.store.delete(claimType(), c.namespace, claim);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the restore recreates pod 0's claim, takes no safety backup of nothing, and the set comes back whole", async () => {
    const backupsBefore = await backupIds();
    const args = ["stack", "restore", "redis", ...stackArgs(), "--backup", "latest"];
    const dry = await run([...args, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/skip: .*\(the set is scaled down: no Redis runs to back up/);
    expect(dry.stdout).toMatch(
      /create the lost claim data-redis-0 from the StatefulSet's volumeClaimTemplate/,
    );
    expect(dry.stdout).toContain(
      "WARNING: claim data-redis-1 does not exist: its pod starts on a new empty volume and resynchronises",
    );
    expect(c.objects("v1", "PersistentVolumeClaim").map((p) => p.metadata.name)).not.toContain(
      "data-redis-0",
    );

    const r = await run([...args, "--json"]);
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { plan: Plan; outcome: RunOutcome };
    expect(out.plan.backup.id).toBe(backupId);
    const done = out.outcome.actions.filter((a) => a.status === "done").map((a) => a.key);
    expect(done).toEqual([
      "record",
      "scale-down:redis-sentinel",
      "scale-down:redis",
      "claim:data-redis-0",
      "restore:data-redis-0",
      "scale-up:redis-sentinel",
      "scale-up:redis",
      "verify",
      "finish",
    ]);
    expect(out.outcome.safetyBackup).toBeUndefined();
    expect(await backupIds()).toEqual(backupsBefore);
    // New volumes held nothing to keep.
    expect(out.outcome.keptAside).toEqual([]);

    expect(compareSnapshots(expected, await dataset(), Date.now() - snapshotAt + 5000)).toEqual([]);
    expect(out.outcome.checks.every((x) => x.ok && x.actual === x.expected)).toBe(true);
    expect(out.outcome.after).toMatchObject({ healthy: true, primaryIndex: 0 });
    // Verified from the nodes themselves: pod 0 primary with both replicas online and counted for
    // writes, each replica's link up and sync done; every sentinel names pod 0 and lists no replica it
    // cannot reach. How many replicas each lists was not waited for; they list both within their 10 s
    // INFO period (waitForHealthy waits for that too: without it they could not fail over).
    const verified = out.outcome.after!;
    expect(verified.nodes[0]).toMatchObject({ role: "primary", onlineReplicas: 2, goodReplicas: 2 });
    for (const n of verified.nodes.slice(1)) expect(n).toMatchObject({ role: "replica", inSync: true });
    for (const s of verified.sentinels)
      expect(s).toMatchObject({ primary: verified.primary, staleReplicas: 0 });
    expect(await c.set.primaryNamedBySentinels()).toBe(c.set.data[0]);
    expect(await c.set.waitForHealthy(15_000)).toBe(c.set.data[0]);
    expect(
      c
        .objects("v1", "PersistentVolumeClaim")
        .map((p) => p.metadata.name)
        .filter((n) => claims.includes(n))
        .sort(),
    ).toEqual(claims);
    expect(statefulSet("redis").spec.replicas).toBe(3);
    expect(statefulSet("redis-sentinel").spec.replicas).toBe(3);
    expect(statefulSet("redis").metadata.annotations["holdfast.dev/restore"]).toBeUndefined();
  });
});
