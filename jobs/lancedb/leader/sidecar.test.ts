// Two election sidecars in this process against the Kubernetes API stand-in, on real time with short
// timings: the Lease, the pods' leader conditions, the marker files and the health endpoints.
// Every write to a pod is checked as it happens: never two pods with the leader condition True.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeApiServer, KubeObject, kubeConfigFor } from "../../../harness/kube-api";
import type { ElectionTimings } from "./elector";
import { loadKubeClient } from "../../kube/client";
import { KubeLeaseStore } from "./kube-lease-store";
import { KubePodConditions, LEADER_CONDITION } from "./pod-condition";
import { ElectionSidecar, identityFor } from "./sidecar";

const k8s = loadKubeClient();
const NS = "ns";
const PODS = ["lancedb-0", "lancedb-1"];
const timings: ElectionTimings = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 100 };

let server: KubeApiServer;
let dir: string;
let sidecars: Map<string, ElectionSidecar>;
/** Instants at which two pods had the leader condition True, or two sidecars believed they led. */
let violations: string[];
let sampler: NodeJS.Timeout;
/** Every change of a sidecar's leadership, in order, with Date.now(). */
let transitions: Array<{ pod: string; leading: boolean; at: number }>;

const podType = () => server.store.type("v1", "Pod");

function leaderCondition(pod: KubeObject): string | undefined {
  const conditions = (pod.status as { conditions?: Array<{ type: string; status: string }> } | undefined)
    ?.conditions;
  return conditions?.find((c) => c.type === LEADER_CONDITION)?.status;
}

function conditions(): Record<string, string | undefined> {
  return Object.fromEntries(PODS.map((p) => [p, leaderCondition(server.store.get(podType(), NS, p))]));
}

function sidecarFor(pod: string): ElectionSidecar {
  const kc = kubeConfigFor(server, { user: pod });
  return new ElectionSidecar({
    identity: identityFor(pod, Math.random().toString(16).slice(2, 10)),
    pod,
    timings,
    // As the CLI does: no call outlives the renew deadline.
    store: new KubeLeaseStore(kc.makeApiClient(k8s.CoordinationV1Api), NS, "lancedb-leader", {
      requestTimeoutMs: timings.renewDeadlineMs,
    }),
    conditions: new KubePodConditions(
      kc.makeApiClient(k8s.CoreV1Api),
      NS,
      LEADER_CONDITION,
      timings.renewDeadlineMs,
    ),
    markerFile: path.join(dir, pod, "leader"),
    healthPort: 0,
  });
}

async function startAll(): Promise<void> {
  for (const pod of PODS) {
    const s = sidecarFor(pod);
    sidecars.set(pod, s);
    await s.start();
  }
}

async function eventually<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 5_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const leaders = () => PODS.filter((p) => sidecars.get(p)?.leading);
const marker = (pod: string) => fs.existsSync(path.join(dir, pod, "leader"));
async function health(pod: string, route: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${sidecars.get(pod)!.healthPort}${route}`);
  await res.text();
  return res.status;
}

beforeEach(async () => {
  server = new KubeApiServer();
  await server.start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-elect-"));
  sidecars = new Map();
  violations = [];
  transitions = [];
  for (const name of PODS)
    server.store.create(podType(), NS, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: { readinessGates: [{ conditionType: LEADER_CONDITION }], containers: [] },
    });
  // Checked at every committed write: the stand-in is the one place every write goes through.
  server.store.onChange((e) => {
    if (e.resource.plural !== "pods") return;
    const trueNow = server.store.list(podType(), NS).items.filter((p) => leaderCondition(p) === "True");
    if (trueNow.length > 1)
      violations.push(`conditions True on ${trueNow.map((p) => p.metadata.name).join(",")}`);
  });
  const last = new Map<string, boolean>();
  sampler = setInterval(() => {
    const now = leaders();
    if (now.length > 1) violations.push(`sidecars leading: ${now.join(",")}`);
    for (const pod of PODS) {
      const leading = sidecars.get(pod)?.leading ?? false;
      if (last.get(pod) !== leading) transitions.push({ pod, leading, at: Date.now() });
      last.set(pod, leading);
    }
  }, 2);
});

afterEach(async () => {
  clearInterval(sampler);
  await Promise.all([...sidecars.values()].map((s) => s.halt()));
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("two sidecars: exactly one pod's leader condition is True, with its marker and /leader 200", async () => {
  await startAll();
  const [leader] = await eventually("a leader", () => (leaders().length === 1 ? leaders() : undefined));
  const standby = PODS.find((p) => p !== leader)!;
  await eventually("both conditions set", () => {
    const c = conditions();
    return c[leader] === "True" && c[standby] === "False";
  });
  await new Promise((r) => setTimeout(r, 1_500)); // a lease duration and more: still the same leader
  expect(leaders()).toEqual([leader]);
  expect(conditions()).toEqual({ [leader]: "True", [standby]: "False" });
  expect([marker(leader), marker(standby)]).toEqual([true, false]);
  expect(await health(leader, "/leader")).toBe(200);
  expect(await health(standby, "/leader")).toBe(503);
  expect([await health(leader, "/healthz"), await health(standby, "/healthz")]).toEqual([200, 200]);
  const lease = server.store.get(server.store.type("coordination.k8s.io/v1", "Lease"), NS, "lancedb-leader");
  expect((lease.spec as { holderIdentity: string }).holderIdentity).toMatch(
    new RegExp(`^${leader}_[0-9a-f]+$`),
  );
  expect(violations).toEqual([]);
});

test("failover after the leader stops renewing (killed): the standby waits out the lease, then fences it", async () => {
  await startAll();
  const [leader] = await eventually("a leader", () => (leaders().length === 1 ? leaders() : undefined));
  const standby = PODS.find((p) => p !== leader)!;
  await eventually("conditions", () => conditions()[standby] === "False" && conditions()[leader] === "True");
  await sidecars.get(leader)!.halt();
  const killedAt = Date.now();
  await eventually("the standby to lead", () => sidecars.get(standby)!.leading, 5_000);
  const tookOver = Date.now() - killedAt;
  // It waited for the lease to expire (a full lease duration after the last renew it saw: the killed
  // leader had renewed at most a retry period before), and not much longer (slack for a loaded CI).
  expect(tookOver).toBeGreaterThanOrEqual(timings.leaseDurationMs - timings.retryPeriodMs);
  expect(tookOver).toBeLessThan(timings.leaseDurationMs + 1_500);
  // The dead leader cannot clear its own condition: the new leader does, before setting its own.
  await eventually("the conditions to flip", () => conditions()[standby] === "True");
  expect(conditions()).toEqual({ [leader]: "False", [standby]: "True" });
  expect(violations).toEqual([]);
});

test.each([
  ["dropped connections", { drop: true }],
  ["black-holed requests", { hang: true }],
])(
  "a partitioned leader (%s) steps down before the standby takes over; healed, it stays standby",
  async (_, fault) => {
    await startAll();
    const [leader] = await eventually("a leader", () => (leaders().length === 1 ? leaders() : undefined));
    const standby = PODS.find((p) => p !== leader)!;
    await eventually(
      "conditions",
      () => conditions()[standby] === "False" && conditions()[leader] === "True",
    );
    server.faults.set(leader, fault);
    const partitionedAt = Date.now();
    // The transitions are sampled every few milliseconds: wait for the sample, not only for the flag.
    const takeover = await eventually(
      "the standby to lead",
      () => transitions.find((t) => t.pod === standby && t.leading),
      5_000,
    );
    const stepDown = transitions.find((t) => t.pod === leader && !t.leading && t.at >= partitionedAt)!;
    expect(stepDown.at - partitionedAt).toBeLessThanOrEqual(timings.renewDeadlineMs + 250);
    expect(takeover.at).toBeGreaterThan(stepDown.at);
    expect(marker(leader)).toBe(false);
    expect(await health(leader, "/leader")).toBe(503);
    // The partitioned pod could not clear its condition; the new leader fenced it.
    await eventually("the conditions to flip", () => conditions()[standby] === "True");
    expect(conditions()[leader]).toBe("False");

    server.faults.clear(leader);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(leaders()).toEqual([standby]);
    expect(conditions()).toEqual({ [leader]: "False", [standby]: "True" });
    expect(violations).toEqual([]);
  },
);

test("a graceful stop releases the lease: the standby takes over within a few retry periods", async () => {
  await startAll();
  const [leader] = await eventually("a leader", () => (leaders().length === 1 ? leaders() : undefined));
  const standby = PODS.find((p) => p !== leader)!;
  const stoppedAt = Date.now();
  await sidecars.get(leader)!.stop({ release: true });
  sidecars.delete(leader);
  await eventually("the standby to lead", () => sidecars.get(standby)!.leading, 5_000);
  expect(Date.now() - stoppedAt).toBeLessThan(timings.leaseDurationMs);
  expect(conditions()[leader]).toBe("False");
  await eventually("the standby's condition", () => conditions()[standby] === "True");
  expect(violations).toEqual([]);
});

test("a failing status patch is retried until the API accepts it; leadership does not depend on it", async () => {
  server.faults.set("*", { failWith: 503, match: (r) => r.plural === "pods" });
  await startAll();
  const [leader] = await eventually("a leader", () => (leaders().length === 1 ? leaders() : undefined));
  await new Promise((r) => setTimeout(r, 300));
  expect(conditions()[leader]).toBeUndefined();
  server.faults.clear("*");
  await eventually("the condition", () => conditions()[leader] === "True");
  expect(violations).toEqual([]);
});
