// The Redis restore plan from facts (pure): a fresh restore, --no-safety-backup, a re-run of an
// interrupted restore (same backup: done volumes skipped, no second safety backup; another backup: the
// volumes again), lost claims, the Jobs it creates; `latest`; and what a stopped run tells the operator.
import { REDIS_CLIENT_LABEL } from "../../core/redis-set";
import type { RedisBackupManifest } from "../redis-backup/manifest";
import { type BackupSummary, catalogOf } from "../store/catalog";
import { RunFailed, type RunOutcome } from "./execute";
import type { StackOutputs } from "./outputs";
import { actionsOf, formatPlan, type Plan, type PlanAction } from "./plan";
import type { RestoreRecord } from "./record";
import { planRedisRestore, type RedisFacts } from "./redis-plan";
import { chooseBackup } from "./redis-restore";
import { describeStop, formatSummary } from "./report";

const ID = "20260115T120000Z";

const outputs: StackOutputs = {
  stack: "prod",
  namespace: "holdfast",
  kubeContext: "prod-eks",
  protected: true,
  redis: {
    statefulSet: "redis",
    sentinelStatefulSet: "redis-sentinel",
    sentinels: "s0:26379,s1:26379,s2:26379",
    masterName: "holdfast",
    secretName: "redis-auth",
    claimNames: ["data-redis-0", "data-redis-1", "data-redis-2"],
  },
  backup: {
    bucket: "backups-prod",
    prefix: "prod",
    region: "us-east-1",
    serviceAccounts: { backup: "holdfast-backup", prune: "holdfast-prune", restore: "holdfast-restore" },
  },
  jobsImage: `ecr/holdfast@sha256:${"b".repeat(64)}`,
  schedule: { cronJobs: { "redis-backup": "redis-backup" } },
};

function facts(extra: Partial<RedisFacts> = {}): RedisFacts {
  const pods = (sts: string) =>
    [0, 1, 2].map((i) => ({ name: `${sts}-${i}`, phase: "Running", ready: true }));
  return {
    outputs,
    context: "prod-eks",
    backup: {
      id: ID,
      requested: "latest",
      reason: "scheduled",
      completedAt: "2026-01-15T12:00:09Z",
      items: 5000,
      sizeBytes: 1 << 20,
    },
    manifest: {
      dataset: {
        keys: 5000,
        databases: {
          "0": { keys: 4990, expires: 3, types: {}, patterns: {} },
          "1": { keys: 10, expires: 0, types: {}, patterns: {} },
        },
        patterns: { "*:emotives:*": 1000, "*:metadata:*": 900 },
      },
    } as unknown as RedisBackupManifest,
    data: {
      name: "redis",
      replicas: 3,
      pods: pods("redis"),
      claimTemplate: "data",
      memoryLimit: "8Gi",
      claimSpec: { accessModes: ["ReadWriteOnce"] },
      claimLabels: { app: "redis" },
    },
    sentinels: { name: "redis-sentinel", replicas: 3, pods: pods("redis-sentinel"), claimTemplate: "state" },
    claims: Object.fromEntries(
      [
        "data-redis-0",
        "data-redis-1",
        "data-redis-2",
        "state-redis-sentinel-0",
        "state-redis-sentinel-1",
        "state-redis-sentinel-2",
      ].map((c) => [c, true]),
    ),
    backupCronJob: "redis-backup",
    checked: ["backup ok"],
    ...extra,
  };
}

const keys = (plan: Plan) => actionsOf(plan).map(({ action }) => action.key);
const skipped = (plan: Plan) =>
  Object.fromEntries(
    actionsOf(plan)
      .filter(({ action }) => action.skip)
      .map(({ action }) => [action.key, action.skip]),
  );
const action = (plan: Plan, key: string) =>
  actionsOf(plan).find(({ action }) => action.key === key)!.action as PlanAction & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test("a fresh restore: every step, in the order that brings pod 0 back as primary", () => {
  const plan = planRedisRestore(facts(), { safetyBackup: true });
  expect(keys(plan)).toEqual([
    "preflight",
    "safety-backup",
    "record",
    "scale-down:redis-sentinel",
    "scale-down:redis",
    "restore:data-redis-0",
    "set-aside:data-redis-1",
    "set-aside:data-redis-2",
    "reset:state-redis-sentinel-0",
    "reset:state-redis-sentinel-1",
    "reset:state-redis-sentinel-2",
    "scale-up:redis-sentinel",
    "scale-up:redis",
    "verify",
    "finish",
  ]);
  expect(skipped(plan)).toEqual({});
  expect(plan.warnings).toEqual([]);
  const restore = action(plan, "restore:data-redis-0");
  const spec = restore.job.spec.template.spec;
  expect(restore.job.metadata.name).toBe("holdfast-restore-20260115t120000z-data-redis-0");
  expect(spec.containers[0]).toMatchObject({
    image: outputs.jobsImage,
    command: [
      "holdfast",
      "restore",
      "redis",
      "--backup",
      ID,
      "--data-dir",
      "/data",
      "--bucket",
      "backups-prod",
      "--prefix",
      "prod",
      "--json",
    ],
    resources: { limits: { memory: "8448Mi" } },
    securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
  });
  expect(spec).toMatchObject({
    serviceAccountName: "holdfast-restore",
    securityContext: { runAsUser: 999, fsGroup: 999 },
  });
  expect(action(plan, "set-aside:data-redis-2").job.spec.template.spec.containers[0].command).toEqual([
    "holdfast",
    "redis",
    "set-aside",
    "--data-dir",
    "/data",
    "--reason",
    "pre-restore",
    "--json",
  ]);
  expect(action(plan, "reset:state-redis-sentinel-0").job.spec.template.spec.volumes).toContainEqual({
    name: "data",
    persistentVolumeClaim: { claimName: "state-redis-sentinel-0" },
  });
  const verify = action(plan, "verify");
  expect(verify.job.spec.template.spec.containers[0].command).toEqual(
    expect.arrayContaining([
      "--expect-primary",
      "redis-0.redis-headless.holdfast.svc.cluster.local:6379",
      "--wait",
      "10m",
    ]),
  );
  expect(verify.expected).toEqual({
    databases: { "0": 4990, "1": 10 },
    patterns: { "*:emotives:*": 1000, "*:metadata:*": 900 },
    expiring: { "0": 3, "1": 0 },
  });
  expect(action(plan, "record")).toMatchObject({ replicas: { redis: 3, "redis-sentinel": 3 } });
  // The Jobs that ask Redis carry the label the set's NetworkPolicy admits; the volume Jobs do not.
  for (const key of ["preflight", "verify"])
    expect(action(plan, key).job.spec.template.metadata.labels).toMatchObject({
      [REDIS_CLIENT_LABEL]: "true",
    });
  expect(restore.job.spec.template.metadata.labels[REDIS_CLIENT_LABEL]).toBeUndefined();
  for (const { action: a } of actionsOf(plan))
    if ("job" in a) expect(a.job.metadata!.name!.length).toBeLessThanOrEqual(63);
  expect(formatPlan(plan)).toMatch(
    /^holdfast stack restore redis: stack prod, namespace holdfast, context prod-eks$/m,
  );
});

test("what runs at once: the volumes set aside only after pod 0's restore, the StatefulSets brought back together", () => {
  const plan = planRedisRestore(facts(), { safetyBackup: true });
  const groups = (n: number) =>
    plan.steps[n - 1].actions.map((a) => `${a.key}${a.group ? ` [${a.group}]` : ""}`);
  // Pod 0's Job verifies the backup before it touches its volume; no other volume is touched before
  // that Job succeeded (a backup that fails its check leaves the stack as it was), then all at once.
  expect(groups(4)).toEqual([
    "restore:data-redis-0",
    "set-aside:data-redis-1 [aside]",
    "set-aside:data-redis-2 [aside]",
    "reset:state-redis-sentinel-0 [aside]",
    "reset:state-redis-sentinel-1 [aside]",
    "reset:state-redis-sentinel-2 [aside]",
  ]);
  // The data pods' init containers wait for a sentinel majority: no need to wait for the sentinels here.
  expect(groups(5)).toEqual(["scale-up:redis-sentinel [up]", "scale-up:redis [up]", "verify", "finish"]);
  expect(formatPlan(plan)).toMatch(
    /scale statefulset redis-sentinel to 3 and wait until ready \(they monitor pod 0, the only primary\) \(in parallel\)$/m,
  );
  expect(formatPlan(plan)).toMatch(
    /^\s+scale statefulset redis to 3 and wait until ready \(each pod waits for the sentinels; pod 0 primary, the others replicas\) \(in parallel\)$/m,
  );
});

test("--no-safety-backup, an image not pinned, a backup with no keys", () => {
  const plan = planRedisRestore(
    facts({
      outputs: { ...outputs, jobsImage: "ghcr.io/holdfast/jobs:0.1.0" },
      backup: { ...facts().backup, items: 0 },
    }),
    { safetyBackup: false },
  );
  expect(skipped(plan)).toEqual({ "safety-backup": "--no-safety-backup" });
  expect(plan.warnings).toEqual([
    "the jobs image ghcr.io/holdfast/jobs:0.1.0 is not pinned by digest (stack config jobsImage)",
    `backup ${ID} holds no keys: the set will be empty`,
  ]);
});

test("a set scaled down with its volumes lost (`down -v`): no safety backup of nothing, pod 0's claim made", () => {
  const down = (sts: string) => ({
    name: sts,
    replicas: 0,
    pods: [],
    claimTemplate: sts === "redis" ? "data" : "state",
    claimSpec: { accessModes: ["ReadWriteOnce"] },
  });
  const claims = Object.fromEntries(Object.keys(facts().claims).map((c) => [c, false]));
  const plan = planRedisRestore(
    facts({ data: down("redis"), sentinels: down("redis-sentinel"), claims, backupCronJob: undefined }),
    { safetyBackup: true },
  );
  expect(skipped(plan)).toEqual({
    preflight: "the set is scaled down",
    "safety-backup":
      "the set is scaled down: no Redis runs to back up (each volume's content is kept in holdfast-aside/)",
  });
  expect(keys(plan)).toEqual([
    "preflight",
    "safety-backup",
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
  // Brought back to what the outputs describe, not to the 0 it was found at.
  expect(action(plan, "scale-up:redis")).toMatchObject({ from: 0, replicas: 3 });
  expect(action(plan, "scale-up:redis-sentinel")).toMatchObject({ from: 0, replicas: 3 });
  expect(plan.warnings).toEqual([
    "claim data-redis-1 does not exist: its pod starts on a new empty volume and resynchronises",
    "claim data-redis-2 does not exist: its pod starts on a new empty volume and resynchronises",
  ]);
});

const interrupted = (done: string[], backup = ID): RestoreRecord => ({
  version: 1,
  store: "redis",
  backup,
  startedAt: "2026-01-16T08:00:00.000Z",
  safetyBackup: "20260116T075959Z",
  replicas: { redis: 3, "redis-sentinel": 3 },
  done,
});

test("a re-run of the same backup skips what is done and never takes a second safety backup", () => {
  const down = (sts: string) => ({
    name: sts,
    replicas: 0,
    pods: [],
    claimTemplate: sts === "redis" ? "data" : "state",
  });
  const record = interrupted(["scale-down:redis-sentinel", "scale-down:redis", "restore:data-redis-0"]);
  const plan = planRedisRestore(facts({ record, data: down("redis"), sentinels: down("redis-sentinel") }), {
    safetyBackup: true,
  });
  expect(skipped(plan)).toEqual({
    preflight: "the set is down or half-restored by the interrupted restore",
    "safety-backup": "taken by the interrupted restore: 20260116T075959Z",
    "restore:data-redis-0": "done by the interrupted restore",
  });
  // Volumes are left, so the set must be down (a no-op if it is) before they are touched.
  expect(action(plan, "scale-down:redis").skip).toBeUndefined();
  // The replicas to bring back come from the record, not from the scaled-down StatefulSets.
  expect(action(plan, "scale-up:redis")).toMatchObject({ replicas: 3 });
  expect(action(plan, "scale-up:redis-sentinel")).toMatchObject({ replicas: 3 });
  expect(plan.resumes).toMatchObject({ backup: ID, safetyBackup: "20260116T075959Z" });
  expect(formatPlan(plan)).toMatch(
    /continues the restore of 20260115T120000Z started 2026-01-16T08:00:00.000Z/,
  );
});

test("every volume done: the set is not taken down again, only brought back and verified", () => {
  const all = planRedisRestore(facts(), { safetyBackup: true });
  const volumes = actionsOf(all)
    .map(({ action }) => action.key)
    .filter((k) => /^(restore|set-aside|reset):/.test(k));
  const plan = planRedisRestore(
    facts({ record: interrupted(["scale-down:redis-sentinel", "scale-down:redis", ...volumes]) }),
    {
      safetyBackup: true,
    },
  );
  expect(action(plan, "scale-down:redis").skip).toBe("every volume already holds the restore");
  expect(action(plan, "scale-down:redis-sentinel").skip).toBe("every volume already holds the restore");
  expect(action(plan, "verify").skip).toBeUndefined();
});

test("another backup while one is interrupted (a roll back): the volumes again, the first safety backup kept", () => {
  const record = interrupted(
    ["scale-down:redis-sentinel", "scale-down:redis", "restore:data-redis-0"],
    "20260110T000000Z",
  );
  const plan = planRedisRestore(facts({ record }), { safetyBackup: true });
  expect(skipped(plan)).toEqual({
    preflight: "the set is down or half-restored by the interrupted restore",
    "safety-backup": "taken by the interrupted restore: 20260116T075959Z",
  });
});

test("a lost claim: pod 0's is created from the template, a replica's starts empty", () => {
  const claims = { ...facts().claims, "data-redis-0": false, "data-redis-2": false };
  const plan = planRedisRestore(facts({ claims }), { safetyBackup: true });
  expect(action(plan, "claim:data-redis-0").claim).toEqual({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data-redis-0", namespace: "holdfast", labels: { app: "redis" } },
    spec: { accessModes: ["ReadWriteOnce"] },
  });
  expect(keys(plan)).not.toContain("set-aside:data-redis-2");
  expect(plan.warnings).toContain(
    "claim data-redis-2 does not exist: its pod starts on a new empty volume and resynchronises",
  );
});

test("latest is the newest backup neither a restore nor the stream took, or the interrupted restore's", () => {
  const b = (id: string, reason: string): BackupSummary => ({
    store: "redis",
    id,
    reason,
    completedAt: "",
    sizeBytes: 1,
    items: 1,
  });
  const catalog = catalogOf(
    "redis",
    "s3://b/p/",
    [
      b("20260101T000000Z", "scheduled"),
      b("20260102T000000Z", "pre-training"),
      b("20260103T000000Z", "pre-restore"),
      // The stream's base of a set that came back empty after a wipe.
      b("20260103T120000Z", "stream-base"),
    ],
    [{ store: "redis", id: "20260104T000000.000Z-aaaaaa", problem: "the manifest is not valid JSON" }],
  );
  expect(chooseBackup("latest", catalog).id).toBe("20260102T000000Z");
  expect(chooseBackup("20260103T000000Z", catalog).id).toBe("20260103T000000Z");
  expect(chooseBackup("20260103T120000Z", catalog).id).toBe("20260103T120000Z");
  expect(chooseBackup("latest", catalog, interrupted([], "20260101T000000Z")).id).toBe("20260101T000000Z");
  expect(() => chooseBackup("20260105T000000Z", catalog)).toThrow("no backup 20260105T000000Z in s3://b/p/");
  expect(() => chooseBackup("20260104T000000.000Z-aaaaaa", catalog)).toThrow(
    "backup 20260104T000000.000Z-aaaaaa is damaged: the manifest is not valid JSON",
  );
  expect(() =>
    chooseBackup("latest", {
      ...catalog,
      committed: catalog.committed.filter((x) => x.reason === "pre-restore"),
    }),
  ).toThrow("there is no backup in s3://b/p/");
});

describe("what a stopped run says", () => {
  const plan = planRedisRestore(facts(), { safetyBackup: true });
  const commands = {
    resume: `holdfast stack restore redis --stack prod --backup ${ID}`,
    restore: (id: string) => `holdfast stack restore redis --stack prod --backup ${id}`,
  };
  const outcome = (record?: RestoreRecord, done: string[] = []): RunOutcome => ({
    actions: done.map((key) => ({ step: 0, key, does: "", status: "done" as const, ms: 1 })),
    steps: [],
    checks: [],
    keptAside: [],
    record,
    totalMs: 1,
  });
  const stop = (key: string, o: RunOutcome) => {
    const found = actionsOf(plan).find(({ action }) => action.key === key)!;
    return describeStop(plan, new RunFailed("boom", found.step, found.action, o), commands);
  };

  test("before anything changed", () => {
    expect(stop("safety-backup", outcome())).toBe(
      [
        "Nothing was changed: the stack runs as before.",
        `Fix the cause and run the same command again: ${commands.resume}`,
        "Or restore without a safety backup (add --no-safety-backup): the current data is then kept only in holdfast-aside/ on each volume.",
      ].join("\n"),
    );
  });

  test("scaled down, no volume touched: continue, roll back, or bring it back as it was", () => {
    const record = interrupted(["scale-down:redis-sentinel"]);
    const text = stop("scale-down:redis", outcome(record));
    expect(text).toContain("Scaled down to 0: redis-sentinel (was 3); nothing can write.");
    expect(text).toContain("No volume has been changed yet.");
    expect(text).toContain(`Re-run to continue (finished steps are skipped): ${commands.resume}`);
    expect(text).toContain(
      "Or roll back to the data from before: holdfast stack restore redis --stack prod --backup 20260116T075959Z",
    );
    expect(text).toContain(
      "Or bring the stack back unchanged: kubectl -n holdfast scale statefulset/redis-sentinel --replicas=3 && kubectl -n holdfast annotate statefulset/redis holdfast.dev/restore-",
    );
  });

  test("a volume Job stopped part-way, others done", () => {
    const record = interrupted(["scale-down:redis-sentinel", "scale-down:redis", "restore:data-redis-0"]);
    const text = stop("set-aside:data-redis-1", outcome(record));
    expect(text).toContain("Scaled down to 0: redis-sentinel (was 3), redis (was 3); nothing can write.");
    expect(text).toMatch(
      /Volumes done: data-redis-0; not yet: data-redis-1, data-redis-2, state-redis-sentinel-0/,
    );
    expect(text).toContain(
      "data-redis-1: its Job stopped part-way; what it moved is in holdfast-aside/ and the re-run finishes it.",
    );
    expect(text).not.toContain("bring the stack back unchanged");
  });

  test("the summary of a finished run names what was kept and how to restore it", () => {
    const o: RunOutcome = {
      ...outcome(interrupted([])),
      actions: [
        {
          step: 4,
          key: "restore:data-redis-0",
          does: "",
          status: "done",
          detail: "previous content in /data/holdfast-aside/x",
          ms: 1200,
        },
      ],
      steps: [{ n: 4, title: "restore volumes", ms: 1500 }],
      safetyBackup: "20260116T075959Z",
      keptAside: [{ claim: "data-redis-0", dir: "/data/holdfast-aside/20260116T080000Z-pre-restore" }],
      checks: [{ name: "DBSIZE db0", ok: true, actual: 4990, expected: 4990, detail: "4990 (backup: 4990)" }],
    };
    const text = formatSummary(plan, o, commands.restore);
    expect(text).toMatch(/^4\s+restore volumes\s+1\.5s\s+previous content in \/data\/holdfast-aside\/x$/m);
    expect(text).toMatch(/^1\s+preflight\s+-\s+skipped/m);
    expect(text).toContain("  ok    DBSIZE db0: 4990 (backup: 4990)");
    expect(text).toContain(
      "  safety backup 20260116T075959Z of the data before the restore: holdfast stack restore redis --stack prod --backup 20260116T075959Z",
    );
    expect(text).toContain("  data-redis-0: /data/holdfast-aside/20260116T080000Z-pre-restore");
  });

  test("the summary says where the time before the run went: the command's start, opening, planning", () => {
    const o: RunOutcome = {
      ...outcome(interrupted([])),
      steps: [{ n: 4, title: "restore volumes", ms: 1500 }],
      totalMs: 2000,
      preparation: { startMs: 700, openMs: 1100, planMs: 400 },
    };
    const text = formatSummary(plan, o, commands.restore);
    expect(text).toMatch(/ in 4\.2s \(2\.0s after planning\)$/m);
    expect(text).toMatch(
      /^0\s+start and plan\s+2\.2s\s+command started 0\.7s, stack opened 1\.1s, planned 0\.4s$/m,
    );
  });
});
