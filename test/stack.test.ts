// Both stack programs, run offline under Pulumi mocks, as a whole: they build, every Kubernetes object
// they send validates against the Kubernetes schema, everything that holds data is protected and kept
// on delete, and `npm run render` writes what they register.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { parse } from "yaml";
import { kubernetesObjects, stackRun } from "./support/stack";
import { schemaProblems } from "./support/k8s-schema";

jest.setTimeout(60_000);

/** Types whose resources hold data that cannot be rebuilt, or decide whether it survives a delete. */
const DATA_BEARING = [
  "kubernetes:core/v1:Namespace",
  "kubernetes:core/v1:PersistentVolume",
  "kubernetes:core/v1:PersistentVolumeClaim",
  "kubernetes:storage.k8s.io/v1:StorageClass",
  "aws:s3/bucket:Bucket",
  "aws:kms/key:Key",
  "aws:efs/fileSystem:FileSystem",
];

describe.each(["dev", "prod"])("the %s stack", (stack) => {
  it("builds and validates every Kubernetes object against the Kubernetes schema", async () => {
    const run = await stackRun(stack);
    const objects = kubernetesObjects(run);
    expect(objects.length).toBeGreaterThan(10);
    const problems = objects.flatMap((o) =>
      schemaProblems(o).map((p) => `${o.kind}/${o.metadata.name}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("protects and retains on delete everything that holds data", async () => {
    const run = await stackRun(stack);
    const dataBearing = run.resources.filter(
      (r) =>
        DATA_BEARING.includes(r.type) ||
        (r.type === "kubernetes:apps/v1:StatefulSet" &&
          (r.inputs.spec?.volumeClaimTemplates ?? []).length > 0),
    );
    expect(dataBearing.length).toBeGreaterThan(3);
    const unprotected = dataBearing
      .filter((r) => !r.protect || !r.retainOnDelete)
      .map((r) => `${r.type}::${r.name}`);
    expect(unprotected).toEqual([]);
  });

  it("exports what operators need to find the stack's data", async () => {
    const { outputs } = await stackRun(stack);
    expect(outputs).toMatchObject({
      stack,
      redis: {
        statefulSet: "redis",
        sentinelStatefulSet: "redis-sentinel",
        masterName: "holdfast",
        secretName: "redis-auth",
      },
    });
    expect((outputs.redis as { claimNames: string[] }).claimNames).toEqual([
      "data-redis-0",
      "data-redis-1",
      "data-redis-2",
    ]);
  });

  it("exports what holdfast doctor checks the cluster and bucket against", async () => {
    const { outputs } = await stackRun(stack);
    // prod: Object Lock GOVERNANCE 35 days and the Prometheus Operator's objects; dev: neither.
    expect(outputs).toMatchObject(
      stack === "prod"
        ? {
            backup: { objectLockMode: "GOVERNANCE", objectLockDays: 35 },
            monitoring: {
              crds: ["prometheusrules.monitoring.coreos.com", "podmonitors.monitoring.coreos.com"],
            },
          }
        : { backup: { objectLockMode: "", objectLockDays: 0 }, monitoring: { crds: [] } },
    );
  });
});

describe("stack config checks", () => {
  it("refuse an invalid config with a clear error instead of building the stack", async () => {
    await expect(stackRun("dev", { "holdfast:redisReplicas": 1 })).rejects.toThrow(
      "invalid stack config: redisReplicas must be at least 2 (a primary and a replica)",
    );
    await expect(stackRun("dev", { "holdfast:sentinelReplicas": 4 })).rejects.toThrow(
      /sentinelReplicas must be odd/,
    );
    await expect(stackRun("dev", { "holdfast:zones": "us-east-1a" })).rejects.toThrow(/zones must be array/);
  });

  it("refuse a replication backlog the data pods' memory cannot hold beside the data", async () => {
    // dev: 256Mi pods, maxmemory 192Mi; the backlog counts toward maxmemory, at most a quarter of it.
    await expect(stackRun("dev", { "holdfast:replBacklogSize": "64Mi" })).rejects.toThrow(
      "invalid stack config: replBacklogSize 64Mi is more than a quarter of maxmemory (192Mi, 75% of the data " +
        "pods' memory limit 256Mi); Redis counts the backlog toward maxmemory, so it would crowd out the data",
    );
    await expect(stackRun("dev", { "holdfast:replBacklogSize": "64mb" })).rejects.toThrow(
      /replBacklogSize "64mb" is not a memory quantity/,
    );
    await expect(stackRun("dev", { "holdfast:replBacklogSize": "512Ki" })).rejects.toThrow(
      /replBacklogSize 512Ki is below Redis's own default of 1Mi/,
    );
    await expect(stackRun("dev", { "holdfast:replBacklogSize": "48Mi" })).resolves.toBeDefined();
  });

  it("refuse a stack whose jobs' service accounts would carry IRSA roles no OIDC provider lets them assume", async () => {
    await expect(stackRun("prod", { "holdfast:oidcProviderArn": "" })).rejects.toThrow(
      "invalid stack config: oidcProviderArn is empty, so the roles of the service accounts holdfast-backup, " +
        "holdfast-prune and holdfast-restore would trust only ECS tasks and every scheduled job would fail " +
        "with AccessDenied; set holdfast:oidcProviderArn to the cluster's IAM OIDC provider " +
        "(arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID)",
    );
    await expect(
      stackRun("dev", { "holdfast:oidcProviderArn": "oidc.eks.us-east-1.amazonaws.com/id/X" }),
    ).rejects.toThrow(/oidcProviderArn must be an IAM OIDC provider ARN/);
  });

  it("take images pinned by tag or digest, and refuse one pinned by neither or with a malformed digest", async () => {
    const digest = `sha256:${"a1".repeat(32)}`;
    const run = await stackRun("dev", { "holdfast:redisImage": `redis:8.0.2-bookworm@${digest}` });
    const images = kubernetesObjects(run)
      .filter((o) => o.kind === "StatefulSet")
      .flatMap((o) =>
        (
          o as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }
        ).spec.template.spec.containers.map((c) => c.image),
      );
    expect(images).toContain(`redis:8.0.2-bookworm@${digest}`);
    await expect(stackRun("dev", { "holdfast:redisImage": "redis" })).rejects.toThrow(
      'invalid stack config: redisImage "redis" is pinned by neither a tag nor a digest (use repo:tag, or repo:tag@sha256:<64 hex digits>, preferred)',
    );
    await expect(
      stackRun("dev", { "holdfast:redisExporterImage": "oliver006/redis_exporter@sha256:abc" }),
    ).rejects.toThrow(/redisExporterImage "oliver006\/redis_exporter@sha256:abc" has a malformed digest/);
  });

  it("refuse an engine or release Holdfast does not support, naming the supported ones", async () => {
    await expect(stackRun("dev", { "holdfast:redisImage": "redis:8.4.0-bookworm" })).rejects.toThrow(
      "invalid stack config: redisImage redis:8.4.0-bookworm: Redis 8.4.0 is not supported by this Holdfast (supported: Redis 7.0, 7.2, 7.4, 8.0; Valkey 7.2, 8.0, 8.1)",
    );
    await expect(stackRun("dev", { "holdfast:redisImage": "valkey/valkey:8.1.1-bookworm" })).rejects.toThrow(
      "invalid stack config: redisImage valkey/valkey:8.1.1-bookworm runs Valkey, but redisEngine is redis: set both to the same engine",
    );
    await expect(stackRun("dev", { "holdfast:redisImage": "redis:latest" })).rejects.toThrow(
      /redisImage redis:latest: its tag must name the version/,
    );
    await expect(stackRun("dev", { "holdfast:redisEngine": "keydb" })).rejects.toThrow(
      'invalid stack config: redisEngine "keydb": use redis or valkey',
    );
  });
});

describe("npm run render", () => {
  it("writes every Kubernetes object as YAML and every resource with parent and protect to resources.json", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-render-"));
    try {
      const r = spawnSync(
        process.execPath,
        [require.resolve("tsx/cli"), "tools/render.ts", "--stack", "prod", "--out", out],
        {
          cwd: path.join(__dirname, ".."),
          encoding: "utf8",
        },
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const files = fs.readdirSync(path.join(out, "manifests"));
      expect(files).toContain("statefulset-holdfast-redis.yaml");
      const sts = parse(
        fs.readFileSync(path.join(out, "manifests", "statefulset-holdfast-redis.yaml"), "utf8"),
      );
      expect(sts).toMatchObject({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "redis", namespace: "holdfast" },
      });
      const resources = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")).resources;
      const data = resources.find((x: { name: string }) => x.name === "redis-data");
      expect(data).toMatchObject({
        type: "kubernetes:apps/v1:StatefulSet",
        parent: "holdfast:redis:SentinelRedis::redis",
        protect: true,
      });
      // The alerts of the PrometheusRule, as the rule file promtool reads.
      const rules = parse(fs.readFileSync(path.join(out, "rules", "holdfast-holdfast.rules.yaml"), "utf8"));
      expect(rules.groups.map((g: { name: string }) => g.name)).toEqual([
        "holdfast-backups",
        "holdfast-redis",
      ]);
      // And the stream's, which prod's continuous protection brings.
      expect(fs.readdirSync(path.join(out, "rules"))).toEqual([
        "holdfast-holdfast.rules.yaml",
        "holdfast-redis-stream.rules.yaml",
      ]);
      expect(files.length).toBe(
        resources.filter(
          (x: { type: string }) => x.type.startsWith("kubernetes:") && !x.type.startsWith("pulumi:"),
        ).length,
      );
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("refuses an unknown stack with one line and exit code 2", () => {
    const r = spawnSync(
      process.execPath,
      [require.resolve("tsx/cli"), "tools/render.ts", "--stack", "staging", "--out", "/tmp/x"],
      {
        cwd: path.join(__dirname, ".."),
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual(['render: no stack "staging" (no Pulumi.staging.yaml)']);
  });
});
