// holdfast stack doctor on the dev stack "deployed" on the Kubernetes API stand-in, with s3rver as its
// bucket, set up as the sandbox runs it: a versioned bucket, a Redis backup of a real redis-server's RDB and
// a LanceDB snapshot taken by the CLI, a restore drill that passed (the kubelet runs the CronJob's `holdfast
// drill` against s3rver), the jobs pushing to an in-cluster Pushgateway (a receiver behind the stand-in's
// service proxy). Doctor passes on it; each broken precondition (a missing CRD, a Delete reclaim policy, an
// unversioned bucket, a denied access review, a stale backup, a wrong IRSA role, a drill that really failed)
// fails it with exit 1 and one FAIL line naming it.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MANIFEST_FORMAT } from "../../jobs/redis-backup/manifest";
import { backupIdAt } from "../../jobs/store/backup-id";
import { jobFromCronJob } from "../../jobs/schedule/trigger";
import type { CheckResult } from "../../jobs/doctor/check";
import { crdObject, type KubeObject, serveServiceProxy } from "../../harness/kube-api";
import { testEngine } from "../../harness/engine";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { waitFor } from "../../harness/processes";
import { renderedOutputs } from "../../harness/rendered";
import { StackCluster } from "../../harness/stack-cluster";
import { holdfast } from "../backup/cli";
import { PushReceiver } from "../support/push-receiver";

jest.setTimeout(180_000);

const PUSHGATEWAY = "http://prometheus-pushgateway.monitoring.svc.cluster.local:9091";
const CRDS: [string, string][] = [
  ["prometheusrules.monitoring.coreos.com", "PrometheusRule"],
  ["podmonitors.monitoring.coreos.com", "PodMonitor"],
];

let c: StackCluster;
let receiver: PushReceiver;
let bucket: string;
/**
 * The outputs of the dev stack rendered with prod's alerts (it then needs the Prometheus Operator's CRDs)
 * and Object Lock (GOVERNANCE, 35 days).
 */
let guardedOutputs: string;
const LOCKED = { versioning: "Enabled", objectLock: { mode: "GOVERNANCE", days: 35 } } as const;
/** When the Redis backup was taken. */
let redisBackupAt: number;

const type = (apiVersion: string, kind: string) => c.server.store.type(apiVersion, kind);
const get = (apiVersion: string, kind: string, name: string, ns?: string) =>
  c.server.store.get(type(apiVersion, kind), ns, name);
const replace = (o: KubeObject) =>
  c.server.store.replace(type(o.apiVersion, o.kind), o.metadata.namespace, o.metadata.name, o);

/**
 * A Redis backup as `holdfast backup redis` commits it (RDB object, then its manifest), taken at `at`,
 * whose RDB is a stand-in payload: committed, but a drill cannot restore it.
 */
async function putUnrestorableBackup(at: Date): Promise<void> {
  const id = backupIdAt(at);
  const rdb = Buffer.from("REDIS0011 stand-in payload");
  const key = `dev/redis/${id}/dump.rdb`;
  const client = c.s3.client();
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: rdb }));
  const manifest = {
    format: MANIFEST_FORMAT,
    store: "redis",
    id,
    reason: "scheduled",
    method: "replication",
    startedAt: at.toISOString(),
    completedAt: at.toISOString(),
    timings: { discoverMs: 1, transferMs: 1, commitMs: 1, totalMs: 3 },
    source: { address: "redis-1:6379", role: "replica", transfer: "bulk" },
    redis: { version: "8.0.2", rdbVersion: 12 },
    objects: {
      "dump.rdb": { key, size: rdb.length, sha256: createHash("sha256").update(rdb).digest("hex") },
    },
    dataset: {
      keys: 1,
      databases: { "0": { keys: 1, expires: 0, types: { string: 1 }, patterns: {} } },
      patterns: {},
      functions: 0,
      modules: [],
      aux: {},
    },
    info: {},
    holdfast: { version: "0.1.0" },
  };
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `dev/redis/${id}/manifest.json`,
      Body: JSON.stringify(manifest),
    }),
  );
}

/** Waits until the stand-in's provisioner has bound every claim of the stack to a volume of its class. */
async function claimsBound(): Promise<void> {
  // The kubelet makes the claims as it starts the StatefulSets' pods.
  const names = ["data-redis-0", "data-redis-1", "data-redis-2", "data-lancedb-0"];
  await waitFor(
    "the stack's claims to be bound",
    () =>
      names.every((n) =>
        c
          .objects("v1", "PersistentVolumeClaim")
          .some((o) => o.metadata.name === n && (o.spec as { volumeName?: string }).volumeName),
      ),
    30_000,
  );
}

/** The volume bound to `claim`. */
function volumeOf(claim: string): string {
  return String(
    (get("v1", "PersistentVolumeClaim", claim, c.namespace).spec as { volumeName: string }).volumeName,
  );
}

/** A backup of a real redis-server's RDB, taken by the CLI. */
async function backUpRedis(): Promise<void> {
  const r = await StandaloneRedis.start();
  try {
    const client = r.client();
    for (let i = 0; i < 20; i++) await client.set(`user:${i}:metadata:name`, `n${i}`);
    const b = await holdfast(
      [
        "backup",
        "redis",
        "--data-dir",
        r.dataDir,
        "--redis",
        `127.0.0.1:${r.port}`,
        "--bucket",
        bucket,
        "--prefix",
        "dev",
      ],
      c.env,
    );
    expect(b.stderr).not.toMatch(/"level":"error"/);
    expect(b.code).toBe(0);
  } finally {
    await r.cleanup();
  }
}

/** A LanceDB snapshot of an empty data directory, taken by the CLI. */
async function snapshotLanceDb(): Promise<void> {
  const empty = fs.mkdtempSync(path.join(c.dir, "lancedb-empty-"));
  const lance = await holdfast(
    ["backup", "lancedb", "--bucket", bucket, "--prefix", "dev", "--data-dir", empty, "--allow-empty"],
    c.env,
  );
  expect(lance.code).toBe(0);
}

/** Runs the stack's restore drill as a one-off Job of its CronJob; resolves to the Job's name and outcome. */
async function runDrill(): Promise<{ name: string; outcome: string }> {
  const cronJob = get("batch/v1", "CronJob", "restore-drill", c.namespace) as never;
  const job = jobFromCronJob(cronJob, "doctor test", new Date()) as unknown as KubeObject;
  c.server.store.create(type("batch/v1", "Job"), c.namespace, job);
  let outcome = "";
  await waitFor(
    "the drill Job to end",
    () => {
      const j = get("batch/v1", "Job", job.metadata.name, c.namespace) as {
        status?: { conditions?: { type: string; status: string }[] };
      };
      outcome = (j.status?.conditions ?? []).find((k) => ["Failed", "Complete"].includes(k.type))?.type ?? "";
      return outcome !== "";
    },
    120_000,
  );
  return { name: job.metadata.name, outcome };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  fails: string[];
}

async function doctor(...extra: string[]): Promise<Run> {
  return doctorOf(c.outputsFile, ...extra);
}

async function doctorOf(outputsFile: string, ...extra: string[]): Promise<Run> {
  const r = await holdfast(["stack", "doctor", "--stack", "dev", "--outputs", outputsFile, ...extra], c.env);
  return { ...r, fails: r.stdout.split("\n").filter((l) => l.startsWith("FAIL")) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Exit 1 and exactly one FAIL line, matching `line`. */
function failsOnce(r: Run, line: RegExp): void {
  expect({ code: r.code, fails: r.fails }).toEqual({ code: 1, fails: [expect.stringMatching(line)] });
}

beforeAll(async () => {
  c = await StackCluster.start({ redis: false });
  bucket = c.outputs.backup.bucket;
  receiver = await PushReceiver.start();
  serveServiceProxy(c.server).route("monitoring", "prometheus-pushgateway", 9091, receiver.url);
  // Deployed with pushgatewayUrl set: every CronJob's container names it (HOLDFAST_PUSHGATEWAY).
  for (const cj of c.objects("batch/v1", "CronJob")) {
    const container = (
      cj as never as {
        spec: { jobTemplate: { spec: { template: { spec: { containers: { env: unknown[] }[] } } } } };
      }
    ).spec.jobTemplate.spec.template.spec.containers[0];
    container.env.push({ name: "HOLDFAST_PUSHGATEWAY", value: PUSHGATEWAY });
    replace(cj);
  }
  await claimsBound();
  await c.s3.bucketSettings(bucket, LOCKED);
  await backUpRedis();
  redisBackupAt = Date.now();
  await snapshotLanceDb();
  expect(await runDrill()).toEqual({ name: expect.any(String), outcome: "Complete" });
  const outputs = await renderedOutputs("dev", {
    ...testEngine().config,
    "holdfast:prometheusRules": true,
    "holdfast:backupObjectLockMode": "GOVERNANCE",
    "holdfast:backupObjectLockDays": 35,
  });
  guardedOutputs = path.join(c.dir, "outputs-dev-guarded.json");
  fs.writeFileSync(guardedOutputs, JSON.stringify(outputs));
  for (const [name, kind] of CRDS)
    c.server.store.create(
      type("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
      undefined,
      crdObject(name, kind),
    );
});
afterAll(async () => {
  await Promise.all([c?.cleanup(), receiver?.close()]);
});

test("passes on the stack as the sandbox deploys it: one line per check, exit 0", async () => {
  const r = await doctor();
  expect(r.stderr).toBe("");
  expect(r.fails).toEqual([]);
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split("\n");
  for (const expected of [
    /^ok\s+cluster\s+reachable: context stand-in answers/,
    /^ok\s+access\s+restore rights: all 12 rights/,
    /^skip\s+monitoring\s+crds: the stack renders no Prometheus Operator objects/,
    new RegExp(`^ok\\s+monitoring\\s+pushgateway: ${PUSHGATEWAY} is ready`),
    /^ok\s+storage\s+storageclass holdfast-dev-redis-retain: reclaims with Retain/,
    /^ok\s+storage\s+volumes: the 4 volumes bound to the stack's claims reclaim with Retain/,
    /^ok\s+identity\s+serviceaccount holdfast-restore: assumes arn:aws:iam/,
    /^ok\s+bucket\s+versioning: /,
    /^skip\s+bucket\s+object lock: the stack configures none/,
    /^ok\s+backups\s+newest redis: \S+, \S+ old/,
    /^ok\s+backups\s+newest lancedb: /,
    // The stack's default jobsImage, the published release, by tag until a release is pushed.
    new RegExp(
      `^warn\\s+image\\s+jobs image: ${escapeRegExp(String(c.outputs.jobsImage))} is pinned by tag only`,
    ),
    /^ok\s+image\s+engine: redis:\S+ is Redis \S+, supported/,
    /^ok\s+image\s+pullable: the cluster ran it \(job restore-drill-manual-\S+ succeeded\)/,
    /^ok\s+drill\s+last drill: job restore-drill-manual-\S+ passed \S+ ago/,
    /^doctor: stack dev: ready/,
  ])
    expect(lines).toContainEqual(expect.stringMatching(expected));
  // The Pushgateway was asked through the API server, not pushed to.
  expect(receiver.pushes.map((p) => p.method)).toContain("GET");
});

test("--json: the same checks as a list, ok true", async () => {
  const r = await doctor("--json");
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout) as { ok: boolean; stack: string; checks: CheckResult[] };
  expect(report).toMatchObject({ ok: true, stack: "dev" });
  expect(new Set(report.checks.map((k) => k.group))).toEqual(
    new Set([
      "cluster",
      "access",
      "monitoring",
      "storage",
      "identity",
      "bucket",
      "backups",
      "image",
      "drill",
    ]),
  );
  expect(report.checks.every((k) => ["ok", "warn", "skip"].includes(k.status))).toBe(true);
});

test("a stack with alerts and Object Lock passes while the cluster and bucket have them", async () => {
  const r = await doctorOf(guardedOutputs);
  expect({ code: r.code, fails: r.fails }).toEqual({ code: 0, fails: [] });
  expect(r.stdout).toMatch(/^ok\s+monitoring\s+crd prometheusrules.monitoring.coreos.com: established/m);
  expect(r.stdout).toMatch(/^ok\s+monitoring\s+crd podmonitors.monitoring.coreos.com: established/m);
  expect(r.stdout).toMatch(
    /^ok\s+bucket\s+object lock: s3:\/\/\S+ locks new objects GOVERNANCE for 35 days/m,
  );
});

test("a missing Prometheus Operator CRD: one FAIL line naming it", async () => {
  const crd = type("apiextensions.k8s.io/v1", "CustomResourceDefinition");
  c.server.store.delete(crd, undefined, "podmonitors.monitoring.coreos.com");
  try {
    failsOnce(
      await doctorOf(guardedOutputs),
      /^FAIL monitoring\s+crd podmonitors.monitoring.coreos.com: missing/,
    );
  } finally {
    c.server.store.create(crd, undefined, crdObject(...CRDS[1]));
  }
});

test("a storage class that reclaims with Delete: one FAIL line naming it", async () => {
  const sc = get("storage.k8s.io/v1", "StorageClass", "holdfast-dev-redis-retain");
  replace({ ...sc, reclaimPolicy: "Delete" });
  try {
    failsOnce(await doctor(), /^FAIL storage\s+storageclass holdfast-dev-redis-retain: reclaims with Delete/);
  } finally {
    replace({
      ...get("storage.k8s.io/v1", "StorageClass", "holdfast-dev-redis-retain"),
      reclaimPolicy: "Retain",
    });
  }
});

test("a bound volume that reclaims with Delete: one FAIL line naming it and its claim", async () => {
  const volume = volumeOf("data-redis-1");
  const pv = get("v1", "PersistentVolume", volume);
  const spec = pv.spec as Record<string, unknown>;
  replace({ ...pv, spec: { ...spec, persistentVolumeReclaimPolicy: "Delete" } });
  try {
    failsOnce(
      await doctor(),
      new RegExp(`^FAIL storage\\s+volume of data-redis-1: ${volume} reclaims with Delete: kubectl patch pv`),
    );
  } finally {
    const now = get("v1", "PersistentVolume", volume);
    replace({ ...now, spec: { ...spec, persistentVolumeReclaimPolicy: "Retain" } });
  }
});

test("an unversioned bucket (s3rver's own answer): one FAIL line naming it", async () => {
  await c.s3.bucketSettings(bucket, { objectLock: LOCKED.objectLock });
  try {
    failsOnce(
      await doctor(),
      new RegExp(`^FAIL bucket\\s+versioning: s3://${bucket} versioning is never enabled`),
    );
  } finally {
    await c.s3.bucketSettings(bucket, LOCKED);
  }
});

test("a bucket without the Object Lock the stack configures: one FAIL line naming it", async () => {
  await c.s3.bucketSettings(bucket, { versioning: "Enabled" });
  try {
    failsOnce(
      await doctorOf(guardedOutputs),
      /^FAIL bucket\s+object lock: s3:\/\/\S+ has no Object Lock; the stack configures GOVERNANCE for 35 days/,
    );
  } finally {
    await c.s3.bucketSettings(bucket, LOCKED);
  }
});

test("a Pushgateway that is not ready: one FAIL line naming it", async () => {
  receiver.status = 503;
  try {
    failsOnce(await doctor(), new RegExp(`^FAIL monitoring\\s+pushgateway: ${PUSHGATEWAY} is not reachable`));
  } finally {
    receiver.status = 200;
  }
});

test("a denied access review: one FAIL line naming the right", async () => {
  c.access.deny({ user: "operator", verb: "patch", group: "apps", resource: "statefulsets" });
  try {
    failsOnce(
      await doctor(),
      /^FAIL access\s+patch statefulsets.apps: denied in holdfast-dev: a restore scales/,
    );
  } finally {
    c.access.clear();
  }
});

test("a stale backup: one FAIL line naming the store", async () => {
  // A Redis backup older than --max-age, and a fresh LanceDB snapshot: taken after the wait, so that
  // it is still fresh when doctor looks, however soon the tests before this one finished.
  const wait = redisBackupAt + 40_000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  await snapshotLanceDb();
  failsOnce(
    await doctor("--max-age", "30s"),
    /^FAIL backups\s+newest redis: \S+ is \S+ old, over --max-age 30 ?s/,
  );
});

test("a service account with another role: one FAIL line naming it", async () => {
  const sa = get("v1", "ServiceAccount", "holdfast-restore", c.namespace);
  const annotations = sa.metadata.annotations!;
  const before = annotations["eks.amazonaws.com/role-arn"];
  replace({
    ...sa,
    metadata: {
      ...sa.metadata,
      annotations: { ...annotations, "eks.amazonaws.com/role-arn": "arn:aws:iam::999999999999:role/other" },
    },
  });
  try {
    failsOnce(
      await doctor(),
      /^FAIL identity\s+serviceaccount holdfast-restore: eks.amazonaws.com\/role-arn is "arn:aws:iam::999999999999:role\/other", the stack's restore role is arn:/,
    );
  } finally {
    const now = get("v1", "ServiceAccount", "holdfast-restore", c.namespace);
    replace({
      ...now,
      metadata: { ...now.metadata, annotations: { ...annotations, "eks.amazonaws.com/role-arn": before } },
    });
  }
});

test("bad input: one line, exit 2", async () => {
  for (const flag of [
    ["--max-age", "soon"],
    ["--timeout", "0"],
  ]) {
    const r = await doctor(...flag);
    expect({ flag, code: r.code }).toEqual({ flag, code: 2 });
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^holdfast: .*${flag[0]}`)),
    ]);
  }
  // The old spelling, `holdfast doctor`, still runs the command.
  const unknown = await holdfast(["doctor", "--stack", "prod", "--outputs", c.outputsFile], c.env);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/^holdfast: the outputs in .* are those of stack dev, not prod\n$/);
});

test("an unreachable cluster: the context fails, what needs it is not checked, the bucket still is", async () => {
  c.server.faults.set("operator", { drop: true });
  try {
    const r = await doctor("--timeout", "2s");
    failsOnce(
      r,
      /^FAIL cluster\s+reachable: context \(current\)|^FAIL cluster\s+reachable: context stand-in does not answer/,
    );
    expect(r.stdout).toMatch(/^skip\s+access\s+restore rights: not checked: the cluster did not answer/m);
    expect(r.stdout).toMatch(/^ok\s+bucket\s+versioning/m);
  } finally {
    c.server.faults.clear("operator");
  }
});

// Last: the drill really runs again and fails, on a newer Redis backup whose RDB is a stand-in payload.
test("a restore drill that failed: one FAIL line naming its Job", async () => {
  await putUnrestorableBackup(new Date());
  const drill = await runDrill();
  expect(drill.outcome).toBe("Failed");
  failsOnce(
    await doctor(),
    new RegExp(
      `^FAIL drill\\s+last drill: job ${drill.name} FAILED .* ago .*kubectl -n holdfast-dev logs job/${drill.name}$`,
    ),
  );
});
