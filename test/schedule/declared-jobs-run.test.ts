// The declared jobs run for real: every CronJob the dev stack renders (with a Pushgateway configured) is
// fired once as the CronJob controller would, as a Job on the Kubernetes API stand-in, and the kubelet
// runs its container's command, args and environment as a local process of the CLI. Only endpoints and
// paths move: the sentinels' host names to the harness's Sentinel set started from the same rendering,
// the bucket to s3rver, the Pushgateway to a receiver in this test, the mounts (the LanceDB claim,
// /scratch, /tmp) to folders. A CronJob whose command, flags or environment break fails here:
// - redis-backup commits a backup with its manifest, reason scheduled, every key and pattern counted;
// - lancedb-backup commits a snapshot of the application's claim;
// - prune, over 40 days of older backups, deletes exactly what the configured retention drops;
// - restore-drill passes;
// and the backups and the drill push what the alerts read: the metric names of JOB_METRICS, labelled
// stack, store and database, with the drill's database labels equal to the backups'.
import { CopyObjectCommand } from "@aws-sdk/client-s3";
import * as lancedb from "@lancedb/lancedb";
import * as fs from "fs";
import { backupStoreLayout } from "../../core/store-layout";
import { JOB_METRIC_LABELS, JOB_METRICS } from "../../core/metrics";
import { backupIdAt, backupTime } from "../../jobs/store/backup-id";
import type { StoreLocation } from "../../jobs/store/catalog";
import { getJson, listObjects, putJson } from "../../jobs/store/s3";
import { committedBackups } from "../../jobs/redis-backup/store";
import { manifestKey, objectKey, readManifest, writeManifest } from "../../jobs/redis-backup/manifest";
import { listSnapshotIds, recordKey } from "../../jobs/lancedb/backup/records";
import type { SnapshotRecord } from "../../jobs/lancedb/backup/record";
import type { KubeObject } from "../../harness/kube-api";
import { renderedObjects } from "../../harness/rendered";
import { StackCluster } from "../../harness/stack-cluster";
import { range, rowsFor } from "../lancedb/support";
import { type Push, PushReceiver } from "../support/push-receiver";

jest.setTimeout(120_000);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The Pushgateway the rendering is given, as prod's stack file names it. */
const PUSHGATEWAY = "http://prometheus-pushgateway.monitoring.svc.cluster.local:9091";
const JOBS = ["redis-backup", "lancedb-backup", "prune", "restore-drill"];

let c: StackCluster;
let receiver: PushReceiver;
let cronJobs: Record<string, Json>;
let at: StoreLocation;
let lanceDir: string;
const KEYS = { "user:1:emotives:joy": 3, "user:1:metadata:name": 2, "other:key": 5 };

/** A container's env as name -> entry. */
const envOf = (cj: Json): Record<string, Json> =>
  Object.fromEntries(
    (cj.spec.jobTemplate.spec.template.spec.containers[0].env as Json[]).map((e) => [e.name, e]),
  );

beforeAll(async () => {
  const [withPush, plain, r] = await Promise.all([
    renderedObjects("dev", { "holdfast:pushgatewayUrl": PUSHGATEWAY }),
    renderedObjects("dev"),
    PushReceiver.start(),
  ]);
  receiver = r;
  cronJobs = Object.fromEntries(
    withPush.filter((o) => o.kind === "CronJob").map((o) => [o.metadata.name, o as unknown as Json]),
  );
  // The Pushgateway setting changes the CronJobs by the one variable that names it, nothing else.
  const plainCronJobs = plain.filter((o) => o.kind === "CronJob") as unknown as Json[];
  expect(Object.keys(cronJobs).sort()).toEqual([...JOBS].sort());
  for (const p of plainCronJobs) {
    const cj = structuredClone(cronJobs[p.metadata.name]);
    const container = cj.spec.jobTemplate.spec.template.spec.containers[0];
    expect(envOf(cj).HOLDFAST_PUSHGATEWAY).toEqual({ name: "HOLDFAST_PUSHGATEWAY", value: PUSHGATEWAY });
    container.env = (container.env as Json[]).filter((e) => e.name !== "HOLDFAST_PUSHGATEWAY");
    expect(cj).toEqual(p);
  }

  c = await StackCluster.start({
    // The Pushgateway's address moved onto the receiver, as the kubelet moves the pods' host names.
    jobEnvFor: (job) => {
      const env = (job as Json).spec.template.spec.containers[0].env as Json[];
      const url = env.find((e) => e.name === "HOLDFAST_PUSHGATEWAY")?.value as string | undefined;
      return url
        ? { HOLDFAST_PUSHGATEWAY: url.replace(new URL(PUSHGATEWAY).origin, receiver.url) }
        : undefined;
    },
  });
  const { bucket, prefix } = c.outputs.backup;
  at = { client: c.s3.client(), bucket, prefix, layout: backupStoreLayout(prefix) };

  // What there is to back up: keys in Redis (some matching the stack's patterns), a LanceDB table on
  // the application's claim.
  const app = c.set.appClient();
  for (const [prefixKey, n] of Object.entries(KEYS))
    for (let i = 0; i < n; i++) await app.set(`${prefixKey}:${i}`, `value ${i}`);
  const claim = cronJobs["lancedb-backup"].spec.jobTemplate.spec.template.spec.volumes.find(
    (v: Json) => v.persistentVolumeClaim,
  ).persistentVolumeClaim.claimName as string;
  lanceDir = c.claimDir(claim);
  const db = await lancedb.connect(lanceDir);
  try {
    await db.createTable("proposals", rowsFor(range(0, 200)));
  } finally {
    db.close();
  }
});
afterAll(async () => {
  at?.client.destroy();
  await c?.cleanup();
  await receiver?.close();
});

/** Fires a CronJob now, as the CronJob controller does: a Job of its jobTemplate, unchanged. */
async function fire(name: string): Promise<{ succeeded: boolean; log: string; pushes: Push[] }> {
  const cj = cronJobs[name];
  const ns = c.namespace;
  const store = c.server.store;
  const owner = store.get(store.type("batch/v1", "CronJob"), ns, name);
  const jobName = `${name}-${Math.floor(Date.now() / 60000)}`;
  const firstPush = receiver.pushes.length;
  store.create(store.type("batch/v1", "Job"), ns, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName,
      labels: cj.spec.jobTemplate.metadata?.labels,
      annotations: { "batch.kubernetes.io/cronjob-scheduled-timestamp": new Date().toISOString() },
      ownerReferences: [
        { apiVersion: "batch/v1", kind: "CronJob", name, uid: owner.metadata.uid, controller: true },
      ],
    },
    spec: structuredClone(cj.spec.jobTemplate.spec),
  } as KubeObject);
  const deadline = Date.now() + 90_000;
  let job: Json;
  for (;;) {
    job = store.get(store.type("batch/v1", "Job"), ns, jobName) as Json;
    const conditions = (job.status?.conditions ?? []) as Json[];
    if (conditions.some((x) => (x.type === "Complete" || x.type === "Failed") && x.status === "True")) break;
    if (Date.now() > deadline) throw new Error(`${jobName} did not finish in 90 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const pods = store.list(store.type("v1", "Pod"), ns, { labelSelector: `job-name=${jobName}` }).items;
  const log = pods
    .map((p) => c.kubelet.podLog(p.metadata.name))
    .map((f) => (f && fs.existsSync(f) ? fs.readFileSync(f, "utf8") : ""))
    .join("\n---\n");
  return { succeeded: job.status?.succeeded === 1, log, pushes: receiver.pushes.slice(firstPush) };
}

/** Checks a run succeeded, showing its pod's log when it did not. */
function expectSucceeded(run: { succeeded: boolean; log: string }): void {
  if (!run.succeeded) throw new Error(`the job failed; its log:\n${run.log}`);
}

/** Every push carries the labels the alerts aggregate by and only metric names they know. */
function expectAlertShape(p: Push): void {
  expect(p.method).toBe("POST");
  expect(Object.keys(p.group).sort()).toEqual(["job", ...JOB_METRIC_LABELS].sort());
  expect(p.group).toMatchObject({ job: "holdfast", stack: "dev" });
  for (const series of Object.keys(p.metrics)) {
    const name = series.replace(/\{.*$/, "");
    expect(Object.values(JOB_METRICS)).toContain(name);
    expect(p.types[name]).toBe("gauge");
  }
}

/** A timestamp pushed by a run that started at `from` (seconds, as Prometheus takes them). */
function expectRecent(seconds: number, from: number, p: Push): void {
  expect(seconds).toBeGreaterThanOrEqual(Math.floor(from / 1000));
  expect(seconds).toBeLessThanOrEqual(p.receivedAt / 1000);
}

let redisLabel: Record<string, string>;
let lanceLabel: Record<string, string>;

test("redis-backup commits a backup of every key and pushes its success", async () => {
  const t0 = Date.now();
  const run = await fire("redis-backup");
  expectSucceeded(run);

  const ids = await committedBackups(at);
  expect(ids).toHaveLength(1);
  const m = await readManifest(at.client, at.bucket, at.layout, ids[0]);
  const total = Object.values(KEYS).reduce((a, b) => a + b, 0);
  // The stack backs up from a replica; the job's log says why it passed one over.
  if (m.source.role !== "replica")
    throw new Error(`the backup came from the ${m.source.role}; the job's log:\n${run.log}`);
  expect(m).toMatchObject({ reason: "scheduled", source: { masterName: c.set.masterName, role: "replica" } });
  expect(m.dataset.keys).toBe(total);
  expect(m.dataset.patterns).toEqual({ "*:emotives:*": 3, "*:metadata:*": 2 });

  expect(run.pushes).toHaveLength(1);
  const p = run.pushes[0];
  expectAlertShape(p);
  redisLabel = { store: "redis", database: c.set.masterName };
  expect(p.group).toMatchObject(redisLabel);
  expect(Object.keys(p.metrics).sort()).toEqual(
    [
      JOB_METRICS.backupLastSuccess,
      JOB_METRICS.backupDuration,
      JOB_METRICS.backupSize,
      JOB_METRICS.backupUploaded,
      JOB_METRICS.backupKeys,
    ].sort(),
  );
  expectRecent(p.metrics[JOB_METRICS.backupLastSuccess], t0, p);
  expect(p.metrics[JOB_METRICS.backupDuration]).toBeGreaterThan(0);
  expect(p.metrics[JOB_METRICS.backupDuration]).toBeLessThanOrEqual((p.receivedAt - t0) / 1000);
  expect(p.metrics[JOB_METRICS.backupSize]).toBe(m.objects["dump.rdb"].size);
  expect(p.metrics[JOB_METRICS.backupKeys]).toBe(total);
  // A Redis backup sends its whole RDB.
  expect(p.metrics[JOB_METRICS.backupUploaded]).toBe(m.objects["dump.rdb"].size);
});

test("lancedb-backup commits a snapshot of the application's claim and pushes its success", async () => {
  const t0 = Date.now();
  const run = await fire("lancedb-backup");
  expectSucceeded(run);

  const ids = await listSnapshotIds(at);
  expect(ids).toHaveLength(1);
  const record = await getJson<SnapshotRecord>(at.client, at.bucket, recordKey(at, ids[0]));
  expect(record).toMatchObject({ reason: "scheduled", source: { dataDir: lanceDir } });
  expect(record.tables.map((t) => [t.name, t.rows])).toEqual([["proposals", 200]]);

  expect(run.pushes).toHaveLength(1);
  const p = run.pushes[0];
  expectAlertShape(p);
  lanceLabel = { store: "lancedb", database: lanceDir };
  expect(p.group).toMatchObject(lanceLabel);
  expectRecent(p.metrics[JOB_METRICS.backupLastSuccess], t0, p);
  expect(p.metrics[JOB_METRICS.backupSize]).toBe(record.totals.bytes);
  expect(p.metrics[JOB_METRICS.backupKeys]).toBe(200);
  expect(p.metrics[JOB_METRICS.backupLastFailure]).toBeUndefined();
  // What it sent (the first snapshot: every file) and the version of each table it holds.
  expect(p.metrics[JOB_METRICS.backupUploaded]).toBe(record.uploaded.bytes);
  expect(record.uploaded.bytes).toBeGreaterThan(0);
  expect(p.metrics[`${JOB_METRICS.lancedbTableVersion}{table="proposals"}`]).toBe(record.tables[0].version);
});

/** Ids of backups taken at 03:00 UTC `days` days ago, and one at 01:00 ten days ago (its day's older). */
function olderIds(days: number): string[] {
  const today = new Date();
  today.setUTCHours(3, 0, 0, 0);
  const ids = range(1, days + 1).map((d) => backupIdAt(new Date(today.getTime() - d * 86_400_000)));
  ids.push(backupIdAt(new Date(today.getTime() - 10 * 86_400_000 - 2 * 3_600_000)));
  return ids;
}

/** What retention keeps of `ids` (last N, then the newest of each of D days with backups). */
function expectedKept(ids: string[], keepLast: number, keepDaily: number): string[] {
  const newestFirst = [...ids].sort().reverse();
  const kept = new Set(newestFirst.slice(0, keepLast));
  const days = new Set<string>();
  for (const id of newestFirst) {
    const day = id.slice(0, 8);
    if (days.has(day)) continue;
    if (days.size >= keepDaily) break;
    days.add(day);
    kept.add(id);
  }
  return [...kept].sort();
}

test("prune deletes what the configured retention drops from 40 days of backups, and nothing else", async () => {
  const env = envOf(cronJobs.prune);
  const policy = ["LAST", "DAILY", "WEEKLY", "MONTHLY"].map((k) => Number(env[`HOLDFAST_KEEP_${k}`].value));
  // This test's expectation covers last and daily retention (the dev stack's: weekly and monthly off).
  expect(policy[2]).toBe(0);
  expect(policy[3]).toBe(0);

  // 41 older backups of each store, written through the stores' own modules.
  const [fresh] = await committedBackups(at);
  const source = await readManifest(at.client, at.bucket, at.layout, fresh);
  const [freshSnapshot] = await listSnapshotIds(at);
  const record = await getJson<SnapshotRecord>(at.client, at.bucket, recordKey(at, freshSnapshot));
  const older = olderIds(40);
  for (const id of older) {
    const key = objectKey(at.layout, id, "dump.rdb");
    await at.client.send(
      new CopyObjectCommand({
        Bucket: at.bucket,
        Key: key,
        CopySource: `${at.bucket}/${source.objects["dump.rdb"].key}`,
      }),
    );
    const when = backupTime(id);
    await writeManifest(at.client, at.bucket, at.layout, {
      ...source,
      id,
      startedAt: when.toISOString(),
      completedAt: when.toISOString(),
      objects: { "dump.rdb": { ...source.objects["dump.rdb"], key } },
    });
    await putJson(at.client, at.bucket, recordKey(at, id), {
      ...record,
      id,
      startedAt: when.toISOString(),
      completedAt: when.toISOString(),
    });
  }
  const redisKept = expectedKept([fresh, ...older], policy[0], policy[1]);
  const lanceKept = expectedKept([freshSnapshot, ...older], policy[0], policy[1]);
  expect(redisKept.length).toBeLessThan(older.length + 1);

  const run = await fire("prune");
  expectSucceeded(run);

  expect(await committedBackups(at)).toEqual(redisKept);
  expect(await listSnapshotIds(at)).toEqual(lanceKept);
  // A dropped backup is gone whole; a kept one keeps its RDB.
  const left = new Set<string>();
  for await (const o of listObjects(at.client, at.bucket, at.layout.redis)) left.add(o.key);
  for (const id of [fresh, ...older]) {
    const kept = redisKept.includes(id);
    expect([
      id,
      left.has(manifestKey(at.layout, id)),
      left.has(objectKey(at.layout, id, "dump.rdb")),
    ]).toEqual([id, kept, kept]);
  }
  // The files every kept snapshot needs are still there.
  const files = new Set<string>();
  for await (const o of listObjects(at.client, at.bucket, at.layout.lanceFiles)) files.add(o.key);
  for (const f of record.tables.flatMap((t) => t.files))
    expect(files.has(`${at.layout.lanceFiles}${f.key}`)).toBe(true);
  // No metric is defined for the prune: it pushes nothing.
  expect(run.pushes).toEqual([]);
});

test("restore-drill passes on the newest backups and pushes each store's success under its backups' labels", async () => {
  const t0 = Date.now();
  const run = await fire("restore-drill");
  expectSucceeded(run);
  expect(run.log).toMatch(/restore drill of .*: PASSED/);

  expect(run.pushes).toHaveLength(2);
  for (const p of run.pushes) {
    expectAlertShape(p);
    expect(Object.keys(p.metrics)).toEqual([JOB_METRICS.drillLastSuccess]);
    expectRecent(p.metrics[JOB_METRICS.drillLastSuccess], t0, p);
  }
  // The same stack, store and database labels as the backups: the alerts compare them by those.
  expect(run.pushes.map((p) => ({ store: p.group.store, database: p.group.database }))).toEqual([
    redisLabel,
    lanceLabel,
  ]);
});
