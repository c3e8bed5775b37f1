// The Kubernetes API stand-in speaks the real conventions: checked with plain HTTP and with
// @kubernetes/client-node, the client the jobs use.
import {
  ApiError,
  KubeApiServer,
  kubeConfigFor,
  loadKubeClient,
  applyJsonPatch,
  applyStrategicMergePatch,
  matchesLabels,
} from ".";

const k8s = loadKubeClient();
let server: KubeApiServer;

beforeEach(async () => {
  server = new KubeApiServer();
  await server.start();
});

afterEach(async () => {
  await server.close();
});

async function call(method: string, path: string, body?: unknown, contentType = "application/json") {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "Content-Type": contentType, Authorization: "Bearer tester" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const leases = "/apis/coordination.k8s.io/v1/namespaces/ns/leases";
const lease = (name: string, holder = "a") => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name },
  spec: { holderIdentity: holder },
});

describe("REST conventions", () => {
  test("create, get, list and delete, with resourceVersion bumped on every write", async () => {
    const created = await call("POST", leases, lease("one"));
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({
      name: "one",
      namespace: "ns",
      resourceVersion: "1",
      generation: 1,
    });
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call("POST", leases, lease("one"))).body).toMatchObject({
      kind: "Status",
      reason: "AlreadyExists",
      code: 409,
    });
    await call("POST", leases, lease("two"));
    const got = await call("GET", `${leases}/one`);
    expect(got.body.spec.holderIdentity).toBe("a");
    const list = await call("GET", leases);
    expect(list.body).toMatchObject({ kind: "LeaseList", metadata: { resourceVersion: "2" } });
    expect(list.body.items.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual([
      "one",
      "two",
    ]);
    expect((await call("DELETE", `${leases}/one`)).status).toBe(200);
    expect(await call("GET", `${leases}/one`)).toMatchObject({
      status: 404,
      body: { reason: "NotFound", code: 404 },
    });
    expect(server.store.resourceVersion).toBe("3");
  });

  test("PUT with a stale resourceVersion is a 409 Conflict; without one it is unconditional", async () => {
    const created = (await call("POST", leases, lease("l"))).body;
    const first = await call("PUT", `${leases}/l`, { ...created, spec: { holderIdentity: "b" } });
    expect(first.status).toBe(200);
    expect(first.body.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
    const stale = await call("PUT", `${leases}/l`, { ...created, spec: { holderIdentity: "c" } });
    expect(stale).toMatchObject({ status: 409, body: { kind: "Status", reason: "Conflict" } });
    const { resourceVersion: _rv, ...meta } = created.metadata;
    expect(
      (await call("PUT", `${leases}/l`, { ...created, metadata: meta, spec: { holderIdentity: "d" } }))
        .status,
    ).toBe(200);
  });

  test("a write that changes nothing keeps the resourceVersion", async () => {
    const created = (await call("POST", leases, lease("l"))).body;
    const same = await call("PUT", `${leases}/l`, created);
    expect(same.body.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });

  test("merge, JSON and strategic merge patch; the status subresource splits status from the rest", async () => {
    const pods = "/api/v1/namespaces/ns/pods";
    await call("POST", pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", labels: { a: "1" } },
      spec: { containers: [{ name: "c", image: "i" }] },
      status: { phase: "Ignored on create" },
    });
    expect((await call("GET", `${pods}/p`)).body.status).toBeUndefined();

    const merged = await call(
      "PATCH",
      `${pods}/p`,
      { metadata: { labels: { b: "2" } } },
      "application/merge-patch+json",
    );
    expect(merged.body.metadata.labels).toEqual({ a: "1", b: "2" });
    // status through the main resource is ignored
    await call("PATCH", `${pods}/p`, { status: { phase: "Running" } }, "application/merge-patch+json");
    expect((await call("GET", `${pods}/p`)).body.status).toBeUndefined();

    const condition = (type: string, status: string) => ({ status: { conditions: [{ type, status }] } });
    await call(
      "PATCH",
      `${pods}/p/status`,
      condition("Ready", "False"),
      "application/strategic-merge-patch+json",
    );
    await call(
      "PATCH",
      `${pods}/p/status`,
      condition("x/leader", "True"),
      "application/strategic-merge-patch+json",
    );
    const both = await call(
      "PATCH",
      `${pods}/p/status`,
      condition("Ready", "True"),
      "application/strategic-merge-patch+json",
    );
    expect(both.body.status.conditions).toEqual([
      { type: "Ready", status: "True" },
      { type: "x/leader", status: "True" },
    ]);
    // ...and spec through /status is ignored
    await call("PATCH", `${pods}/p/status`, { spec: { nodeName: "n" } }, "application/merge-patch+json");
    expect((await call("GET", `${pods}/p`)).body.spec.nodeName).toBeUndefined();

    const jsonPatched = await call(
      "PATCH",
      `${pods}/p`,
      [
        { op: "test", path: "/metadata/labels/a", value: "1" },
        { op: "replace", path: "/metadata/labels/a", value: "3" },
      ],
      "application/json-patch+json",
    );
    expect(jsonPatched.body.metadata.labels.a).toBe("3");
    const failedTest = await call(
      "PATCH",
      `${pods}/p`,
      [{ op: "test", path: "/metadata/labels/a", value: "1" }],
      "application/json-patch+json",
    );
    expect(failedTest.status).toBe(409);
    expect((await call("PATCH", `${pods}/p`, {}, "application/apply-patch+yaml")).status).toBe(415);
  });

  test("cluster-scoped objects, unknown resources and label selectors", async () => {
    await call("POST", "/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pv", labels: { tier: "data" } },
    });
    expect((await call("GET", "/api/v1/persistentvolumes/pv")).body.metadata.namespace).toBeUndefined();
    expect(
      (await call("GET", "/api/v1/persistentvolumes?labelSelector=tier%3Ddata")).body.items,
    ).toHaveLength(1);
    expect(
      (await call("GET", "/api/v1/persistentvolumes?labelSelector=tier%21%3Ddata")).body.items,
    ).toHaveLength(0);
    expect((await call("GET", "/apis/example.com/v1/namespaces/ns/widgets")).status).toBe(404);
    expect(matchesLabels({ a: "1", b: "2" }, "a in (1,3),!c,b")).toBe(true);
    expect(matchesLabels({ a: "1" }, "a notin (1)")).toBe(false);
  });

  test("finalizers hold a deleted object until they are removed", async () => {
    const pvcs = "/api/v1/namespaces/ns/persistentvolumeclaims";
    await call("POST", pvcs, {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "c", finalizers: ["kubernetes.io/pvc-protection"] },
    });
    const deleting = await call("DELETE", `${pvcs}/c`);
    expect(deleting.body.metadata.deletionTimestamp).toBeDefined();
    expect((await call("GET", `${pvcs}/c`)).status).toBe(200);
    await call("PATCH", `${pvcs}/c`, { metadata: { finalizers: null } }, "application/merge-patch+json");
    expect((await call("GET", `${pvcs}/c`)).status).toBe(404);
  });

  test("watch streams JSON lines: current objects, then changes; resumes from a resourceVersion", async () => {
    await call("POST", leases, lease("before"));
    const controller = new AbortController();
    const res = await fetch(`${server.url}${leases}?watch=true`, { signal: controller.signal });
    const reader = res.body!.getReader();
    const lines: Array<{ type: string; object: { metadata: { name: string } } }> = [];
    let buffered = "";
    const readUntil = async (n: number) => {
      while (lines.length < n) {
        const { value } = await reader.read();
        buffered += new TextDecoder().decode(value);
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        lines.push(...parts.filter(Boolean).map((l) => JSON.parse(l)));
      }
    };
    await readUntil(1);
    await call("POST", leases, lease("after"));
    await call("DELETE", `${leases}/before`);
    await readUntil(3);
    controller.abort();
    expect(lines.map((l) => `${l.type} ${l.object.metadata.name}`)).toEqual([
      "ADDED before",
      "ADDED after",
      "DELETED before",
    ]);

    const resumed = await fetch(`${server.url}${leases}?watch=1&resourceVersion=1&timeoutSeconds=1`);
    const text = await resumed.text();
    expect(
      text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).type),
    ).toEqual(["ADDED", "DELETED"]);
  });
});

describe("with @kubernetes/client-node", () => {
  test("leases: read, create, replace with optimistic concurrency (409 ApiException)", async () => {
    const api = kubeConfigFor(server, { user: "pod-0" }).makeApiClient(k8s.CoordinationV1Api);
    await expect(api.readNamespacedLease({ name: "l", namespace: "ns" })).rejects.toMatchObject({
      code: 404,
    });
    const created = await api.createNamespacedLease({
      namespace: "ns",
      body: { metadata: { name: "l" }, spec: { holderIdentity: "pod-0", leaseDurationSeconds: 15 } },
    });
    expect(created.metadata?.resourceVersion).toBe("1");
    const read = await api.readNamespacedLease({ name: "l", namespace: "ns" });
    const renewed = await api.replaceNamespacedLease({
      name: "l",
      namespace: "ns",
      body: { ...read, spec: { ...read.spec, renewTime: new k8s.V1MicroTime() } },
    });
    expect(renewed.metadata?.resourceVersion).toBe("2");
    await expect(
      api.replaceNamespacedLease({ name: "l", namespace: "ns", body: read }),
    ).rejects.toMatchObject({
      code: 409,
    });
    expect(server.requests.map((r) => `${r.user} ${r.verb} ${r.status}`)).toEqual([
      "pod-0 get 404",
      "pod-0 create 201",
      "pod-0 get 200",
      "pod-0 update 200",
      "pod-0 update 409",
    ]);
  });

  test("pod status: a strategic merge patch of one condition keeps the others", async () => {
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedPod({
      namespace: "ns",
      body: { metadata: { name: "p" }, spec: { containers: [] } },
    });
    const patch = (type: string, status: string) =>
      core.patchNamespacedPodStatus(
        { name: "p", namespace: "ns", body: { status: { conditions: [{ type, status }] } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
      );
    await patch("Ready", "False");
    const pod = await patch("holdfast.dev/leader", "True");
    expect(pod.status?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual([
      "Ready=False",
      "holdfast.dev/leader=True",
    ]);
  });

  test("watch through client-node's Watch", async () => {
    const kc = kubeConfigFor(server);
    const seen: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      void new k8s.Watch(kc).watch(
        "/apis/coordination.k8s.io/v1/namespaces/ns/leases",
        {},
        (type: string, obj: { metadata: { name: string } }) => {
          seen.push(`${type} ${obj.metadata.name}`);
          if (seen.length === 2) resolve();
        },
        (err) => (err ? reject(err) : undefined),
      );
    });
    await new Promise((r) => setTimeout(r, 50));
    await call("POST", leases, lease("w"));
    await call("PUT", `${leases}/w`, lease("w", "b"));
    await done;
    expect(seen).toEqual(["ADDED w", "MODIFIED w"]);
  });

  test("faults per user: a partitioned client fails, the others do not", async () => {
    const a = kubeConfigFor(server, { user: "a" }).makeApiClient(k8s.CoordinationV1Api);
    const b = kubeConfigFor(server, { user: "b" }).makeApiClient(k8s.CoordinationV1Api);
    server.faults.set("a", { drop: true });
    // client-node's errors come from Node's own module realm, not Jest's: match on fields, not classes.
    await expect(a.listNamespacedLease({ namespace: "ns" })).rejects.toMatchObject({
      message: expect.stringContaining("socket hang up"),
    });
    await expect(b.listNamespacedLease({ namespace: "ns" })).resolves.toMatchObject({ items: [] });
    server.faults.set("a", { failWith: 503 });
    await expect(a.listNamespacedLease({ namespace: "ns" })).rejects.toMatchObject({ code: 503 });
    server.faults.clear("a");
    await expect(a.listNamespacedLease({ namespace: "ns" })).resolves.toMatchObject({ items: [] });
  });
});

describe("extension points", () => {
  test("admission hooks can mutate or refuse a write; change listeners see every commit", async () => {
    const changes: string[] = [];
    server.store.onChange((e) => changes.push(`${e.type} ${e.object.metadata.name}`));
    server.store.admit((r) => {
      if (r.object.metadata.name === "forbidden") throw new ApiError(403, "Forbidden", "no");
      return { ...r.object, metadata: { ...r.object.metadata, labels: { admitted: "yes" } } };
    });
    expect((await call("POST", leases, lease("ok"))).body.metadata.labels).toEqual({ admitted: "yes" });
    expect((await call("POST", leases, lease("forbidden"))).body).toMatchObject({
      reason: "Forbidden",
      code: 403,
    });
    expect(changes).toEqual(["ADDED ok"]);
  });

  test("in-process writes through the store are what HTTP clients see", async () => {
    const t = server.store.type("coordination.k8s.io/v1", "Lease");
    server.store.create(t, "ns", lease("direct") as never);
    expect((await call("GET", `${leases}/direct`)).status).toBe(200);
  });
});

describe("patch functions", () => {
  test("strategic merge deletes a keyed list item with $patch: delete", () => {
    const doc = { conditions: [{ type: "a" }, { type: "b" }] };
    expect(applyStrategicMergePatch(doc, { conditions: [{ type: "a", $patch: "delete" }] })).toEqual({
      conditions: [{ type: "b" }],
    });
  });

  test("JSON patch add, remove, move and copy", () => {
    const doc = { a: [1, 2], b: { c: 1 } };
    expect(
      applyJsonPatch(doc, [
        { op: "add", path: "/a/-", value: 3 },
        { op: "remove", path: "/a/0" },
        { op: "move", from: "/b/c", path: "/d" },
        { op: "copy", from: "/d", path: "/e" },
      ]),
    ).toEqual({ a: [2, 3], b: {}, d: 1, e: 1 });
  });
});
