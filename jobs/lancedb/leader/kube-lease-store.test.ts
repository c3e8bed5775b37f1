// The Kubernetes LeaseStore against the in-process API stand-in: real client-node calls, real HTTP.
import { KubeApiServer, KubeObject, kubeConfigFor } from "../../../harness/kube-api";
import { Elector } from "./elector";
import { loadKubeClient } from "../../kube/client";
import { KubeLeaseStore } from "./kube-lease-store";
import { LeaseConflictError, LeaseRecord } from "./lease";
import { systemClock } from "./clock";

const k8s = loadKubeClient();
let server: KubeApiServer;

beforeEach(async () => {
  server = new KubeApiServer();
  await server.start();
});

afterEach(async () => {
  await server.close();
});

function store(user = "pod-0", name = "lancedb-leader"): KubeLeaseStore {
  const api = kubeConfigFor(server, { user }).makeApiClient(k8s.CoordinationV1Api);
  return new KubeLeaseStore(api, "ns", name, {
    labels: { "app.kubernetes.io/part-of": "holdfast" },
    requestTimeoutMs: 2_000,
  });
}

const record = (holder: string, at = Date.UTC(2026, 0, 15, 12, 0, 0, 123)): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: at,
  renewTime: at,
  leaseTransitions: 0,
});

function storedLease(): { metadata: KubeObject["metadata"]; spec: Record<string, unknown> } {
  const lease = server.store.get(
    server.store.type("coordination.k8s.io/v1", "Lease"),
    "ns",
    "lancedb-leader",
  );
  return { metadata: lease.metadata, spec: lease.spec as Record<string, unknown> };
}

test("a missing lease reads as undefined; create writes the record with MicroTime timestamps", async () => {
  const s = store();
  await expect(s.get()).resolves.toBeUndefined();
  const created = await s.create(record("pod-0_a"));
  expect(created.record).toEqual(record("pod-0_a"));
  const raw = storedLease();
  expect(raw.spec).toEqual({
    holderIdentity: "pod-0_a",
    leaseDurationSeconds: 15,
    acquireTime: "2026-01-15T12:00:00.123000Z",
    renewTime: "2026-01-15T12:00:00.123000Z",
    leaseTransitions: 0,
  });
  expect(raw.metadata.labels).toEqual({ "app.kubernetes.io/part-of": "holdfast" });
  await expect(s.get()).resolves.toEqual(created);
});

test("creating a lease that exists is a LeaseConflictError", async () => {
  await store("pod-0").create(record("pod-0_a"));
  await expect(store("pod-1").create(record("pod-1_b"))).rejects.toBeInstanceOf(LeaseConflictError);
});

test("update is conditional on the version read: a stale version is a LeaseConflictError", async () => {
  const a = store("pod-0");
  const b = store("pod-1");
  const v1 = await a.create(record("pod-0_a"));
  const seenByB = (await b.get())!;
  const v2 = await a.update({ ...v1.record, renewTime: v1.record.renewTime + 2000 }, v1.version);
  expect(v2.version).not.toBe(v1.version);
  await expect(b.update(record("pod-1_b"), seenByB.version)).rejects.toBeInstanceOf(LeaseConflictError);
  expect(storedLease().spec.holderIdentity).toBe("pod-0_a");
  const current = (await b.get())!;
  await expect(
    b.update({ ...record("pod-1_b"), leaseTransitions: 1 }, current.version),
  ).resolves.toMatchObject({
    record: { holderIdentity: "pod-1_b", leaseTransitions: 1 },
  });
});

test("a replace keeps the lease's other labels and annotations", async () => {
  const s = store();
  const v1 = await s.create(record("pod-0_a"));
  const t = server.store.type("coordination.k8s.io/v1", "Lease");
  const annotated = server.store.patch(t, "ns", "lancedb-leader", "application/merge-patch+json", {
    metadata: { annotations: { note: "kept" } },
  });
  const read = (await s.get())!;
  expect(read.version).toBe(annotated.metadata.resourceVersion);
  await s.update({ ...v1.record, renewTime: v1.record.renewTime + 1 }, read.version);
  expect(storedLease().metadata.annotations).toEqual({ note: "kept" });
});

test("a deleted lease makes an update a conflict; an unreachable API is a plain error", async () => {
  const s = store();
  const v1 = await s.create(record("pod-0_a"));
  server.store.delete(server.store.type("coordination.k8s.io/v1", "Lease"), "ns", "lancedb-leader");
  await expect(s.update(v1.record, v1.version)).rejects.toBeInstanceOf(LeaseConflictError);

  server.faults.set("pod-0", { failWith: 503 });
  const failure = s.get();
  await expect(failure).rejects.toThrow(/read lease ns\/lancedb-leader: HTTP 503: injected fault/);
  await expect(failure).rejects.not.toBeInstanceOf(LeaseConflictError);
});

test("a black-holed call is aborted after the request timeout", async () => {
  const api = kubeConfigFor(server, { user: "pod-0" }).makeApiClient(k8s.CoordinationV1Api);
  const s = new KubeLeaseStore(api, "ns", "lancedb-leader", { requestTimeoutMs: 200 });
  server.faults.set("pod-0", { hang: true });
  const started = Date.now();
  await expect(s.get()).rejects.toThrow(/read lease ns\/lancedb-leader: .*abort/i);
  expect(Date.now() - started).toBeLessThan(2_000);
});

test("two electors on the real API: one leads, the other sees it held", async () => {
  const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
  const a = new Elector("pod-0_a", store("pod-0"), systemClock, timings);
  const b = new Elector("pod-1_b", store("pod-1"), systemClock, timings);
  const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
  expect([ra.leading, rb.leading].filter(Boolean)).toHaveLength(1);
  const winner = ra.leading ? a : b;
  const loser = ra.leading ? b : a;
  expect(await loser.tryAcquireOrRenew()).toMatchObject({
    leading: false,
    result: "held",
    holder: winner.identity,
  });
  expect(await winner.tryAcquireOrRenew()).toMatchObject({ leading: true, result: "renewed" });
  expect(await winner.release()).toBe(true);
  expect(storedLease().spec.holderIdentity).toBe("");
  expect(await loser.tryAcquireOrRenew()).toMatchObject({ leading: true, result: "acquired" });
  expect(storedLease().spec).toMatchObject({ holderIdentity: loser.identity, leaseTransitions: 1 });
});
