// The kubelet's StatefulSet pods with `jobImage` (the sandbox's --runtime docker): they run as their
// securityContext's user, as in a cluster, so the runtime is told the user and the pod's claims are that
// user's before it starts (as a provisioner and fsGroup make them); without `jobImage` nothing changes.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeApiServer } from "./kube-api";
import { Kubelet, type PodRuntime } from "./kubelet";
import { waitFor } from "./processes";

const NS = "ns";
let server: KubeApiServer;
let dir: string;
let kubelet: Kubelet | undefined;

beforeEach(async () => {
  server = new KubeApiServer();
  await server.start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-kubelet-"));
});

afterEach(async () => {
  await kubelet?.stop();
  kubelet = undefined;
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a one-pod StatefulSet `app` (uid 1000, a claim `data`) and returns what its runtime was told. */
async function startApp(jobImage: string | undefined): Promise<{ user?: string; claim: fs.Stats }> {
  const starts: { user?: string }[] = [];
  const runtime: PodRuntime = {
    async start(_ordinal, pod) {
      starts.push({ ...pod });
    },
    async stop() {},
    async ready() {
      return true;
    },
  };
  kubelet = new Kubelet({ server, dir, holdfastBin: "holdfast", jobImage, runtimes: { app: runtime } });
  kubelet.start();
  server.store.create(server.store.type("apps/v1", "StatefulSet"), NS, {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "app" },
    spec: {
      replicas: 1,
      serviceName: "app",
      selector: { matchLabels: { app: "app" } },
      template: {
        metadata: { labels: { app: "app" } },
        spec: {
          securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
          containers: [{ name: "app", image: "app:1" }],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } }],
    },
  });
  await waitFor("the pod to start", () => starts.length > 0, 10_000);
  return { user: starts[0].user, claim: fs.statSync(kubelet.claimDir("data-app-0")) };
}

describe("StatefulSet pods with jobImage", () => {
  it("run as their securityContext's user, on claims handed to it", async () => {
    const { user, claim } = await startApp("holdfast-jobs:dev");
    expect(user).toBe("1000:1000");
    expect([claim.uid, claim.gid]).toEqual([1000, 1000]);
  });

  it("without jobImage run as this process's user, their claims left as made", async () => {
    const { user, claim } = await startApp(undefined);
    expect(user).toBeUndefined();
    expect(claim.uid).toBe(process.getuid!());
  });
});
