// The kubelet's StatefulSet pods with `jobImage` (the sandbox's --runtime docker): they run as their
// securityContext's user, as in a cluster, so the runtime is told the user and the pod's claims are that
// user's before it starts (as a provisioner and fsGroup make them); without `jobImage` nothing changes.
// Deployments: their pods run the container as a process with its Secret env and ports moved to loopback,
// start it again when it exits, and stop it with SIGTERM when the pod goes.
import * as fs from "fs";
import * as net from "net";
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

describe("Deployments", () => {
  // The container: listens on the port it is given and answers with GREETING (from a Secret); records
  // each start and a SIGTERM in the file it is given.
  const SCRIPT = `
    const fs = require("fs");
    const [port, out] = process.argv.slice(1);
    require("net")
      .createServer((s) => s.end(process.env.GREETING))
      .listen(Number(port), "127.0.0.1", () => fs.appendFileSync(out, "started " + process.pid + " " + port + "\\n"));
    process.on("SIGTERM", () => { fs.appendFileSync(out, "terminated " + process.pid + "\\n"); process.exit(0); });`;
  const deployments = () => server.store.type("apps/v1", "Deployment");
  const pods = () => server.store.list(server.store.type("v1", "Pod"), NS).items.map((p) => p.metadata.name);
  const lines = (file: string) =>
    fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
  const started = (file: string) => lines(file).filter((l) => l.startsWith("started"));
  const answer = (port: number) =>
    new Promise<string>((resolve, reject) => {
      let text = "";
      const s = net.connect(port, "127.0.0.1");
      s.on("data", (d) => (text += d));
      s.on("end", () => resolve(text));
      s.on("error", reject);
    });

  it("run, restart, replace a deleted pod and stop on a scale-down, as a cluster does", async () => {
    const out = path.join(dir, "events.log");
    kubelet = new Kubelet({ server, dir, holdfastBin: "holdfast", restartDelayMs: 100 });
    kubelet.start();
    server.store.create(server.store.type("v1", "Secret"), NS, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "greeting" },
      stringData: { text: "hello from the secret" },
    } as never);
    server.store.create(deployments(), NS, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: "web",
                image: "web:1",
                command: [process.execPath, "-e", SCRIPT],
                args: ["9410", out],
                ports: [{ name: "http", containerPort: 9410 }],
                env: [{ name: "GREETING", valueFrom: { secretKeyRef: { name: "greeting", key: "text" } } }],
              },
            ],
          },
        },
      },
    });
    await waitFor("the pod to serve", () => started(out).length === 1, 10_000);
    const [, pid, port] = started(out)[0].split(" ");
    expect(Number(port)).not.toBe(9410);
    expect(await answer(Number(port))).toBe("hello from the secret");
    const [pod] = pods();
    expect(pod).toMatch(/^web-[0-9a-f]+-[0-9a-f]{5}$/);
    await waitFor(
      "the Deployment to report a ready replica",
      () => {
        const status = (server.store.get(deployments(), NS, "web") as { status?: { readyReplicas?: number } })
          .status;
        return status?.readyReplicas === 1;
      },
      5_000,
    );

    // The process dies: the pod's container starts again (restartPolicy Always), same pod.
    process.kill(Number(pid), "SIGKILL");
    await waitFor("the container to start again", () => started(out).length === 2, 10_000);
    expect(pods()).toEqual([pod]);

    // The pod is deleted: its process gets SIGTERM and the Deployment makes another pod.
    server.store.delete(server.store.type("v1", "Pod"), NS, pod);
    await waitFor("a new pod to serve", () => started(out).length === 3, 10_000);
    expect(lines(out)).toContain(`terminated ${started(out)[1].split(" ")[1]}`);
    expect(pods()).toHaveLength(1);
    expect(pods()[0]).not.toBe(pod);

    // Scaled to 0: SIGTERM, and no pod is left.
    server.store.patch(deployments(), NS, "web", "application/merge-patch+json", { spec: { replicas: 0 } });
    await waitFor(
      "the last process to stop",
      () => lines(out).filter((l) => l.startsWith("terminated")).length === 2,
      10_000,
    );
    await waitFor("no pod to be left", () => pods().length === 0, 5_000);
  });
});
