// Continuous protection as the stacks render it under Pulumi mocks: prod (holdfast:continuousBackup on)
// runs one `holdfast stream redis` pod whose command, flags and environment parse with the CLI's own
// spec and name the Redis set's `stream` user, the backup role's service account and the stack's bucket;
// the data nodes have that user, with a replica's rights and nothing more, and roll when it appears; the
// pod reaches the Redis set and is reached only by the monitoring namespaces; its alerts and scrape come
// with the stack's. dev (off) renders none of it.
import { findCommand } from "../../jobs/cli";
import { parseFlags } from "../../jobs/cli/args";
import { REDIS_CLIENT_LABEL } from "../../core/redis-set";
import { JOB_SERVICE_ACCOUNTS } from "../backup-bucket/policies";
import { DATA_NODE_RULES } from "../redis/acl";
import { USERS_ANNOTATION } from "../redis/spec";
import { schemaProblems } from "../../test/support/k8s-schema";
import { admits, type NetworkPolicyObject } from "../../test/support/network-policy";
import {
  findObject,
  kubernetesObjects,
  stackRun,
  type OfflineRun,
  type RenderedObject,
} from "../../test/support/stack";
import { STREAM_METRICS_PORT } from "./spec";

jest.setTimeout(120_000);

type Meta = { labels: Record<string, string>; annotations: Record<string, string> };
type Obj = RenderedObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let prod: OfflineRun;
let dev: OfflineRun;
let deployment: Obj;
beforeAll(async () => {
  [prod, dev] = await Promise.all([stackRun("prod"), stackRun("dev")]);
  deployment = findObject(prod, "Deployment", "redis-stream") as Obj;
});

const container = (d: Obj) => d.spec.template.spec.containers[0];

/** The container's environment as the kubelet gives it, a Secret's key standing for its value. */
function environment(d: Obj): Record<string, string> {
  return Object.fromEntries(
    (container(d).env as Obj[]).map((e) => [
      e.name,
      e.value ?? `<${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}>`,
    ]),
  );
}

it("runs exactly one stream, never two at once, as the jobs image's restricted user", () => {
  expect(deployment.metadata.namespace).toBe("holdfast");
  expect(deployment.spec.replicas).toBe(1);
  expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
  const pod = deployment.spec.template.spec;
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
  expect(container(deployment).securityContext).toMatchObject({
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
  });
  expect(container(deployment).image).toBe(
    (findObject(prod, "CronJob", "redis-backup") as Obj).spec.jobTemplate.spec.template.spec.containers[0]
      .image,
  );
});

it("runs a command and flags the CLI's own spec parses: the set, the bucket, the metrics port", () => {
  const c = container(deployment);
  const argv = [...c.command.slice(1), ...c.args];
  expect(c.command[0]).toBe("holdfast");
  const { command, rest } = findCommand(argv);
  expect(command.words).toEqual(["stream", "redis"]);
  const flags = parseFlags(rest, command.flags, environment(deployment));
  const sentinels = (
    findObject(prod, "CronJob", "redis-backup") as Obj
  ).spec.jobTemplate.spec.template.spec.containers[0].env.find(
    (e: Obj) => e.name === "HOLDFAST_SENTINEL",
  ).value;
  expect(flags).toMatchObject({
    sentinel: sentinels.split(","),
    "master-name": "holdfast",
    bucket: expect.stringMatching(/.+/),
    prefix: "prod",
    "metrics-port": STREAM_METRICS_PORT,
  });
  expect(sentinels.split(",")).toHaveLength(3);
  expect(c.ports).toEqual([{ name: "metrics", containerPort: STREAM_METRICS_PORT }]);
  expect(c.livenessProbe.httpGet).toEqual({ path: "/metrics", port: "metrics" });
});

it("the check has teeth: a flag the spec does not know, or a metrics port out of range, is refused", () => {
  const { command } = findCommand(["stream", "redis"]);
  expect(() => parseFlags(["--metrics-prot", "9410"], command.flags, environment(deployment))).toThrow(
    /metrics-prot/,
  );
  expect(() => parseFlags(["--metrics-port", "70000"], command.flags, environment(deployment))).toThrow(
    /metrics-port/,
  );
});

it("joins the set as its own stream user, finds the primary as discovery, and writes as the backup role", () => {
  const env = environment(deployment);
  expect(env).toMatchObject({
    REDIS_USERNAME: "stream",
    REDIS_PASSWORD: "<redis-auth/stream-password>",
    SENTINEL_USERNAME: "discovery",
    SENTINEL_PASSWORD: "<redis-auth/discovery-password>",
    HOLDFAST_STACK: "prod",
    AWS_REGION: "us-east-1",
  });
  const pod = deployment.spec.template.spec;
  expect(pod.serviceAccountName).toBe(JOB_SERVICE_ACCOUNTS.backup);
  expect(pod.automountServiceAccountToken).toBe(false);
  // The service account is the one the backup role trusts (IRSA), annotated with that role.
  const account = findObject(prod, "ServiceAccount", JOB_SERVICE_ACCOUNTS.backup) as Obj;
  expect((account.metadata as unknown as Meta).annotations["eks.amazonaws.com/role-arn"]).toBeDefined();
});

it("gives the data nodes the stream user with a replica's rights only, and rolls them when it appears", () => {
  expect(DATA_NODE_RULES.stream).toBe("-@all +psync +replconf +ping");
  const acl = (cluster: OfflineRun) =>
    (findObject(cluster, "Secret", "redis-auth") as Obj).stringData["users.acl"] as string;
  expect(acl(prod)).toMatch(/^user stream on #[0-9a-f]{64} -@all \+psync \+replconf \+ping$/m);
  expect(acl(dev)).not.toMatch(/^user stream /m);
  expect((findObject(prod, "Secret", "redis-auth") as Obj).stringData["stream-password"]).toBeDefined();
  const digest = (cluster: OfflineRun) =>
    (findObject(cluster, "StatefulSet", "redis") as Obj).spec.template.metadata.annotations[USERS_ANNOTATION];
  expect(digest(prod)).toMatch(/^[0-9a-f]{16}$/);
  expect(digest(dev)).toMatch(/^[0-9a-f]{16}$/);
  expect(digest(prod)).not.toBe(digest(dev));
});

it("reaches the Redis set, and only the monitoring namespaces reach its metrics port", () => {
  const labels = deployment.spec.template.metadata.labels;
  expect(labels[REDIS_CLIENT_LABEL]).toBe("true");
  const redisPolicy = findObject(prod, "NetworkPolicy", "redis") as unknown as NetworkPolicyObject;
  const data = findObject(prod, "StatefulSet", "redis") as Obj;
  const stream = { namespace: "holdfast", labels };
  const dataPod = { namespace: "holdfast", labels: data.spec.template.metadata.labels };
  expect(admits([redisPolicy], stream, dataPod, 6379)).toBe(true);
  expect(admits([redisPolicy], stream, dataPod, 26379)).toBe(true);
  const own = findObject(prod, "NetworkPolicy", "redis-stream") as unknown as NetworkPolicyObject;
  const prometheus = { namespace: "monitoring", labels: { app: "prometheus" } };
  expect(admits([own], prometheus, stream, STREAM_METRICS_PORT)).toBe(true);
  expect(admits([own], { namespace: "elsewhere", labels: {} }, stream, STREAM_METRICS_PORT)).toBe(false);
  expect(admits([own], prometheus, stream, 6379)).toBe(false);
});

it("never blocks a drain: its budget lets the one pod move", () => {
  const budget = findObject(prod, "PodDisruptionBudget", "redis-stream") as Obj;
  expect(budget.spec).toEqual({
    maxUnavailable: 1,
    selector: { matchLabels: deployment.spec.selector.matchLabels },
  });
});

it("is scraped by a PodMonitor and alerted on by its own PrometheusRule, with the stack's rule labels", async () => {
  const monitor = findObject(prod, "PodMonitor", "redis-stream") as Obj;
  expect(monitor.spec).toEqual({
    selector: { matchLabels: deployment.spec.selector.matchLabels },
    podMetricsEndpoints: [{ port: "metrics", interval: "15s" }],
  });
  const rule = findObject(prod, "PrometheusRule", "redis-stream") as Obj;
  const rules = rule.spec.groups.flatMap((g: Obj) => g.rules) as Obj[];
  expect(rules.map((r) => [r.alert, r.labels.severity])).toEqual([
    ["HoldfastStreamLagging", "warning"],
    ["HoldfastStreamLagCritical", "critical"],
    ["HoldfastStreamDown", "critical"],
  ]);
  const labelled = await stackRun("prod", { "holdfast:prometheusRuleLabels": ["release=kube-prometheus"] });
  for (const kind of ["PrometheusRule", "PodMonitor"])
    expect(
      ((findObject(labelled, kind, "redis-stream") as Obj).metadata as unknown as Meta).labels.release,
    ).toBe("kube-prometheus");
  // Without the Prometheus Operator, the stream runs unwatched by the stack (no CRD objects).
  const bare = await stackRun("prod", { "holdfast:prometheusRules": false });
  expect(findObject(bare, "Deployment", "redis-stream")).toBeDefined();
  expect(
    kubernetesObjects(bare)
      .filter((o) => o.metadata.name === "redis-stream")
      .map((o) => o.kind)
      .sort(),
  ).toEqual(["Deployment", "NetworkPolicy", "PodDisruptionBudget"]);
});

it("validates against the Kubernetes schema", () => {
  const objects = kubernetesObjects(prod).filter((o) => o.metadata.name === "redis-stream");
  expect(objects.map((o) => o.kind).sort()).toEqual([
    "Deployment",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "PodMonitor",
    "PrometheusRule",
  ]);
  expect(objects.flatMap((o) => schemaProblems(o).map((p) => `${o.kind}: ${p}`))).toEqual([]);
});

it("is off in dev: no stream, no stream user", () => {
  expect(kubernetesObjects(dev).filter((o) => o.metadata.name === "redis-stream")).toEqual([]);
  expect(dev.resources.some((r) => r.type === "holdfast:backup:ContinuousBackup")).toBe(false);
});
