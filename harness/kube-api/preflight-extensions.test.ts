// What a preflight reads of the stand-in, through @kubernetes/client-node: access reviews (allowed unless
// denied, per user), StorageClasses and CRDs as stored objects, claims bound by the provisioner to volumes
// of their class's reclaim policy, and the service proxy to a local server.
import * as http from "http";
import type { AddressInfo } from "net";
import {
  crdObject,
  defineClusterTypes,
  KubeApiServer,
  kubeConfigFor,
  loadKubeClient,
  provisionVolumes,
  serveAccessReviews,
  serveServiceProxy,
} from ".";

const k8s = loadKubeClient();
let server: KubeApiServer;

beforeEach(async () => {
  server = new KubeApiServer();
  defineClusterTypes(server.store.types);
  await server.start();
});
afterEach(() => server.close());

const attributes = { namespace: "ns", verb: "patch", group: "apps", resource: "statefulsets" };

async function review(user: string): Promise<boolean | undefined> {
  const api = kubeConfigFor(server, { user }).makeApiClient(k8s.AuthorizationV1Api);
  const r = await api.createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: attributes } },
  });
  return r.status?.allowed;
}

test("access reviews: allowed until denied, for the user denied", async () => {
  const reviews = serveAccessReviews(server);
  expect(await review("alice")).toBe(true);
  reviews.deny({ user: "alice", verb: "patch", group: "apps", resource: "statefulsets" });
  expect(await review("alice")).toBe(false);
  expect(await review("bob")).toBe(true);
  reviews.clear();
  expect(await review("alice")).toBe(true);
});

test("StorageClasses and CRDs are served as stored", async () => {
  const kc = kubeConfigFor(server);
  server.store.create(server.store.type("storage.k8s.io/v1", "StorageClass"), undefined, {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: "retain" },
    reclaimPolicy: "Retain",
  });
  const crd = server.store.type("apiextensions.k8s.io/v1", "CustomResourceDefinition");
  server.store.create(crd, undefined, crdObject("podmonitors.monitoring.coreos.com", "PodMonitor"));
  const sc = await kc.makeApiClient(k8s.StorageV1Api).readStorageClass({ name: "retain" });
  expect(sc.reclaimPolicy).toBe("Retain");
  const read = await kc
    .makeApiClient(k8s.ApiextensionsV1Api)
    .readCustomResourceDefinition({ name: "podmonitors.monitoring.coreos.com" });
  expect(read.status?.conditions).toEqual([{ type: "Established", status: "True" }]);
  expect(read.spec).toMatchObject({ group: "monitoring.coreos.com", names: { kind: "PodMonitor" } });
});

test("the provisioner binds each claim to a volume of its class's reclaim policy; Retain outlives the claim", async () => {
  const stop = provisionVolumes(server.store);
  const store = server.store;
  store.create(store.type("storage.k8s.io/v1", "StorageClass"), undefined, {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: "retain" },
    reclaimPolicy: "Retain",
  });
  const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
  const claim = (name: string, storageClassName?: string) =>
    core.createNamespacedPersistentVolumeClaim({
      namespace: "ns",
      body: {
        metadata: { name },
        spec: {
          storageClassName,
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "1Gi" } },
        },
      },
    });
  try {
    await claim("kept", "retain");
    await claim("default");
    const bound = async (name: string) => {
      for (let i = 0; i < 50; i++) {
        const c = await core.readNamespacedPersistentVolumeClaim({ name, namespace: "ns" });
        if (c.spec?.volumeName && c.status?.phase === "Bound") return c;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`${name} was not bound`);
    };
    const kept = await bound("kept");
    const other = await bound("default");
    const keptPv = await core.readPersistentVolume({ name: kept.spec!.volumeName! });
    expect(keptPv.metadata?.name).toBe(`pvc-${kept.metadata!.uid}`);
    expect(keptPv.spec).toMatchObject({
      storageClassName: "retain",
      persistentVolumeReclaimPolicy: "Retain",
      capacity: { storage: "1Gi" },
      claimRef: { namespace: "ns", name: "kept", uid: kept.metadata!.uid },
    });
    const otherPv = await core.readPersistentVolume({ name: other.spec!.volumeName! });
    expect(otherPv.spec?.persistentVolumeReclaimPolicy).toBe("Delete");
    await core.deleteNamespacedPersistentVolumeClaim({ name: "kept", namespace: "ns" });
    await core.deleteNamespacedPersistentVolumeClaim({ name: "default", namespace: "ns" });
    await new Promise((r) => setTimeout(r, 50));
    expect((await core.readPersistentVolume({ name: keptPv.metadata!.name! })).status?.phase).toBe(
      "Released",
    );
    await expect(core.readPersistentVolume({ name: otherPv.metadata!.name! })).rejects.toMatchObject({
      code: 404,
    });
  } finally {
    stop();
  }
});

test("the service proxy reaches a routed service, 404 for another, 503 when it does not answer", async () => {
  const target = http.createServer((req, res) => res.end(`ready at ${req.url}`));
  await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  const proxy = serveServiceProxy(server);
  proxy.route("monitoring", "pgw", 9091, url);
  const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
  const get = (name: string) =>
    core.connectGetNamespacedServiceProxyWithPath({ name, namespace: "monitoring", path: "-/ready" });
  try {
    expect(await get("http:pgw:9091")).toBe("ready at /-/ready");
    await expect(get("http:other:9091")).rejects.toMatchObject({ code: 404 });
  } finally {
    await new Promise((r) => target.close(r));
  }
  await expect(get("http:pgw:9091")).rejects.toMatchObject({ code: 503 });
});
