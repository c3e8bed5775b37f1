// `holdfast lancedb elect` as the pods run it: two CLI processes against the Kubernetes API stand-in.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeApiServer, KubeObject, writeKubeconfig } from "../../../harness/kube-api";
import { ProcessGroup, waitFor } from "../../../harness/processes";
import { LEADER_CONDITION } from "./pod-condition";

const CLI = path.join(__dirname, "..", "..", "bin", "holdfast.js");
const NS = "ns";
const PODS = ["lancedb-0", "lancedb-1"];

let server: KubeApiServer;
let dir: string;
let group: ProcessGroup;

const podType = () => server.store.type("v1", "Pod");
const leaseType = () => server.store.type("coordination.k8s.io/v1", "Lease");

function condition(pod: string): string | undefined {
  const o: KubeObject = server.store.get(podType(), NS, pod);
  const conditions = (o.status as { conditions?: Array<{ type: string; status: string }> } | undefined)
    ?.conditions;
  return conditions?.find((c) => c.type === LEADER_CONDITION)?.status;
}

function elect(pod: string, extra: string[] = []) {
  const kubeconfig = writeKubeconfig(server, path.join(dir, `${pod}.kubeconfig`), {
    user: pod,
    namespace: NS,
  });
  return group.start(
    pod,
    process.execPath,
    [
      CLI,
      "lancedb",
      "elect",
      "--lease",
      "lancedb-leader",
      "--marker-file",
      path.join(dir, pod, "leader"),
      "--health-port",
      "0",
      "--lease-duration",
      "1s",
      "--renew-deadline",
      "600ms",
      "--retry-period",
      "100ms",
      ...extra,
    ],
    { env: { ...process.env, KUBECONFIG: kubeconfig, POD_NAME: pod } },
  );
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-elect-cli-"));
  group = new ProcessGroup(path.join(dir, "logs"));
});

afterAll(async () => {
  await group.killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  server = new KubeApiServer();
  await server.start();
  for (const name of PODS)
    server.store.create(podType(), NS, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: { readinessGates: [{ conditionType: LEADER_CONDITION }], containers: [] },
    });
});

afterEach(async () => {
  await group.killAll();
  await server.close();
});

test("two processes elect one leader; SIGTERM makes it step down and release, and the other takes over", async () => {
  const holders: string[] = [];
  server.store.onChange((e) => {
    const holder = String((e.object.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? "");
    if (e.resource.plural === "leases" && holders[holders.length - 1] !== holder) holders.push(holder);
  });
  const children = Object.fromEntries(PODS.map((p) => [p, elect(p)]));
  // Two CLI start-ups (a TypeScript compile each on a cold cache) can take well over 15 s on a loaded machine.
  await waitFor(
    "one leader and one standby",
    () => {
      const c = PODS.map(condition);
      return c.includes("True") && c.includes("False");
    },
    60_000,
  );
  const leader = PODS.find((p) => condition(p) === "True")!;
  const standby = PODS.find((p) => p !== leader)!;
  expect(fs.existsSync(path.join(dir, leader, "leader"))).toBe(true);
  expect(fs.existsSync(path.join(dir, standby, "leader"))).toBe(false);

  const exited = new Promise<number | null>((resolve) =>
    children[leader].once("exit", (code) => resolve(code)),
  );
  const stoppedAt = Date.now();
  children[leader].kill("SIGTERM");
  expect(await exited).toBe(0);
  expect(condition(leader)).toBe("False");
  expect(fs.existsSync(path.join(dir, leader, "leader"))).toBe(false);
  await waitFor("the standby to take over", () => condition(standby) === "True", 5_000, 20);
  // Released, not expired: the lease went from the leader to nobody to the standby.
  expect(holders.map((h) => h.split("_")[0])).toEqual([leader, "", standby]);
  expect(Date.now() - stoppedAt).toBeLessThan(3_000);
  const lease = server.store.get(leaseType(), NS, "lancedb-leader").spec as Record<string, unknown>;
  expect(lease).toMatchObject({ leaseTransitions: 1, leaseDurationSeconds: 1 });
  expect(String(lease.holderIdentity)).toMatch(new RegExp(`^${standby}_[0-9a-f]{8}$`));
  const log = fs.readFileSync(path.join(dir, "logs", `${leader}.log`), "utf8");
  expect(log).toContain('"msg":"leading"');
  expect(log).toContain('"msg":"election stopped"');
});

test("bad input exits 2: unsafe timings, a missing pod name", async () => {
  const unsafe = await group.run(
    process.execPath,
    [
      CLI,
      "lancedb",
      "elect",
      "--lease",
      "l",
      "--pod",
      "p",
      "--lease-duration",
      "5s",
      "--renew-deadline",
      "5s",
    ],
    { env: { ...process.env, POD_NAME: "" } },
  );
  expect(unsafe.code).toBe(2);
  expect(unsafe.stderr).toContain("unsafe timings: renew deadline must be shorter than the lease duration");
  const missing = await group.run(process.execPath, [CLI, "lancedb", "elect", "--lease", "l"], {
    env: { ...process.env, POD_NAME: "" },
  });
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("missing --pod (or POD_NAME)");
});
