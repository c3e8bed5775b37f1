// `holdfast trigger` against the Kubernetes API stand-in, with the dev stack's rendered redis-backup
// CronJob: the one-off Job carries the CronJob's template with the operator's reason, is owned by the
// CronJob, and --wait reports how it ended; bad input is one line and exit code 2.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeApiServer, KubeObject, writeKubeconfig } from "../../harness/kube-api";
import { renderedObjects } from "../../harness/rendered";
import { HOLDFAST_BIN } from "../../harness/redis-set";
import { loadKubeClient } from "../kube/client";
import { manualJobName, triggerCronJob } from "./trigger";

jest.setTimeout(60_000);

let server: KubeApiServer;
let kubeconfig: string;
let dir: string;
const NS = "holdfast-dev";

beforeAll(async () => {
  server = new KubeApiServer();
  await server.start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-trigger-"));
  kubeconfig = writeKubeconfig(server, path.join(dir, "kubeconfig"), { namespace: NS });
  const cronJob = (await renderedObjects("dev")).find(
    (o) => o.kind === "CronJob" && o.metadata.name === "redis-backup",
  )!;
  server.store.create(
    server.store.type("batch/v1", "CronJob"),
    NS,
    structuredClone(cronJob) as unknown as KubeObject,
  );
});
afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function holdfast(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HOLDFAST_BIN, ...args], {
      env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const jobs = () => server.store.list(server.store.type("batch/v1", "Job"), NS).items;

it("creates a Job from the CronJob's template with the reason, owned by the CronJob", async () => {
  const before = Date.now();
  const r = await holdfast(["trigger", "--cronjob", "redis-backup", "--reason", "pre-training"]);
  expect(r.stderr).toMatch(/started job redis-backup-manual-/);
  expect(r.code).toBe(0);
  const [job] = jobs() as unknown as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(r.stdout.trim()).toBe(job.metadata.name);
  expect(job.metadata.name).toMatch(/^redis-backup-manual-\d{8}t\d{6}z$/);
  expect(Date.parse(job.metadata.creationTimestamp)).toBeGreaterThanOrEqual(before - 1000);
  expect(job.metadata.annotations).toMatchObject({
    "cronjob.kubernetes.io/instantiate": "manual",
    "holdfast.dev/reason": "pre-training",
  });
  expect(job.metadata.labels["holdfast.dev/job"]).toBe("redis-backup");
  expect(job.metadata.ownerReferences[0]).toMatchObject({
    kind: "CronJob",
    name: "redis-backup",
    controller: true,
  });
  const container = job.spec.template.spec.containers[0];
  expect(container.command).toEqual(["holdfast", "backup", "redis"]);
  const reasons = container.env.filter((e: { name: string }) => e.name === "HOLDFAST_REASON");
  expect(reasons).toEqual([{ name: "HOLDFAST_REASON", value: "pre-training" }]);
  expect(job.spec.template.spec.serviceAccountName).toBe("holdfast-backup");
});

it("--wait exits 0 when the run succeeds and 1 with the Job's message when it fails", async () => {
  const jobType = server.store.type("batch/v1", "Job");
  let outcome: "succeed" | "fail" = "succeed";
  // Play the Job controller: finish every new manual run shortly after it is created.
  const stop = server.store.onChange((e) => {
    if (e.type !== "ADDED" || e.resource.plural !== "jobs") return;
    const name = e.object.metadata.name;
    setTimeout(() => {
      const status =
        outcome === "succeed"
          ? { succeeded: 1 }
          : {
              failed: 3,
              conditions: [
                {
                  type: "Failed",
                  status: "True",
                  reason: "BackoffLimitExceeded",
                  message: "Job has reached the specified backoff limit",
                },
              ],
            };
      server.store.patch(jobType, NS, name, "application/merge-patch+json", { status }, "status");
    }, 300);
  });
  try {
    const ok = await holdfast([
      "trigger",
      "--cronjob",
      "redis-backup",
      "--reason",
      "manual",
      "--wait",
      "30s",
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/succeeded/);
    outcome = "fail";
    // Job names are per second: make the second run's name differ.
    await new Promise((r) => setTimeout(r, 1100));
    // The old spelling: a bare --wait bounded by --timeout.
    const failed = await holdfast([
      "trigger",
      "--cronjob",
      "redis-backup",
      "--reason",
      "manual",
      "--wait",
      "--timeout",
      "30s",
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/did not succeed: Job has reached the specified backoff limit/);
  } finally {
    stop();
  }
});

it("--dry-run names the run it would start and creates nothing", async () => {
  const before = jobs().length;
  const r = await holdfast(["trigger", "--cronjob", "redis-backup", "--reason", "rehearsal", "--dry-run"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(r.stdout).toMatch(
    new RegExp(
      `^would start job redis-backup-manual-\\d{8}t\\d{6}z from cronjob redis-backup in namespace ${NS}`,
    ),
  );
  expect(r.stdout).toContain("nothing was created (--dry-run)");
  expect(jobs()).toHaveLength(before);
  const unknown = await holdfast(["trigger", "--cronjob", "nightly", "--reason", "x", "--dry-run"]);
  expect(unknown.code).toBe(2);
});

it("refuses an unknown CronJob, a bad reason and an unreachable cluster with one line and exit code 2", async () => {
  const unknown = await holdfast(["trigger", "--cronjob", "nightly", "--reason", "x"]);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr.trim()).toBe(`holdfast: no CronJob nightly in namespace ${NS}`);
  const badReason = await holdfast(["trigger", "--cronjob", "redis-backup", "--reason", "$(rm -rf /)"]);
  expect(badReason.code).toBe(2);
  const saved = fs.readFileSync(kubeconfig, "utf8");
  fs.writeFileSync(kubeconfig, saved.replace(/http:\/\/127\.0\.0\.1:\d+/, "http://127.0.0.1:1"));
  try {
    const away = await holdfast(["trigger", "--cronjob", "redis-backup", "--reason", "x"]);
    expect(away.code).toBe(2);
    expect(away.stderr.trim().split("\n")).toHaveLength(1);
    expect(away.stderr).toMatch(/cannot reach the cluster/);
  } finally {
    fs.writeFileSync(kubeconfig, saved);
  }
}, 180_000); // three runs of the CLI: over 60 s on a machine at load 20

it("gives runs started in the same second names of their own", async () => {
  const k8s = loadKubeClient();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const now = new Date("2026-03-01T08:00:00Z");
  const names: string[] = [];
  for (const reason of ["first", "second", "third"])
    names.push((await triggerCronJob(batch, NS, "redis-backup", reason, now)).name);
  expect(names).toEqual([
    "redis-backup-manual-20260301t080000z",
    "redis-backup-manual-20260301t080000z-2",
    "redis-backup-manual-20260301t080000z-3",
  ]);
  const reasons = jobs()
    .filter((j) => names.includes(j.metadata.name))
    .map((j) => j.metadata.annotations?.["holdfast.dev/reason"]);
  expect(reasons.sort()).toEqual(["first", "second", "third"]);
});

it("names runs within the 63 characters a Job name may have", () => {
  const name = manualJobName("x".repeat(80), new Date("2026-01-15T12:00:00Z"));
  expect(name).toHaveLength(63);
  expect(name.endsWith("-manual-20260115t120000z")).toBe(true);
});
