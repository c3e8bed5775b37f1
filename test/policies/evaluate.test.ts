// The offline evaluation (`npm run policy`): both Holdfast stacks pass the whole pack with no mandatory
// violation, each small violating program under programs/ fails naming the policy it breaks, and the
// command's exit codes and output are those of docs/policy-pack.md (one run as a subprocess each).
import { spawnSync } from "child_process";
import * as path from "path";
import { UsageError, evaluate, evaluateRecords, loadPackConfig, recordsOf } from "../../tools/policy";
import { runHoldfastStack } from "../../tools/offline";
import { policies } from "../../policies/pack";

const ROOT = path.join(__dirname, "..", "..");
const program = (name: string) => path.join("test", "policies", "programs", `${name}.ts`);

/** Each program runs once per process (it registers its resources when its module loads). */
const programRuns = new Map<string, ReturnType<typeof evaluate>>();
function programEvaluation(name: string): ReturnType<typeof evaluate> {
  if (!programRuns.has(name)) programRuns.set(name, evaluate({ program: program(name) }));
  return programRuns.get(name)!;
}

/** `npm run policy -- ARGS` as a subprocess (tsx directly: npm adds nothing but its own output). */
function policyCommand(args: string[]) {
  const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
  return spawnSync(tsx, ["tools/policy.ts", ...args], { cwd: ROOT, encoding: "utf8", timeout: 120000 });
}

const named = (e: Awaited<ReturnType<typeof evaluate>>) =>
  e.findings.map((f) => [
    f.enforcementLevel,
    f.policyName,
    f.resource ? `${f.resource.type}::${f.resource.name}` : "",
  ]);

describe("Holdfast's stacks under the whole pack", () => {
  it("dev: no mandatory violation; the advisory findings are the missing Object Lock dev.json asks to see and the Redis set without continuous protection", async () => {
    const e = await evaluate({ stack: "dev" });
    expect(e.resources).toBeGreaterThan(40);
    expect(e.policies).toBe(policies.length);
    expect(named(e)).toEqual([
      ["advisory", "redis-continuous-protection", "kubernetes:apps/v1:StatefulSet::redis-data"],
      ["advisory", "aws-s3-backup-bucket-object-lock", "aws:s3/bucket:Bucket::backups-bucket"],
    ]);
    expect(e.mandatory).toBe(0);
  });

  it("prod: no mandatory violation; the advisory findings are the workloads whose images are pinned by tag only", async () => {
    const e = await evaluate({ stack: "prod" });
    expect(e.resources).toBeGreaterThan(70);
    expect(e.mandatory).toBe(0);
    // The jobs image is built and run by digest; Redis, the exporter and the application's placeholder
    // image wait for the digests only their registries can give (Pulumi.prod.yaml says how).
    expect(named(e).sort()).toEqual(
      [
        ["advisory", "kubernetes-images-pinned-by-digest", "kubernetes:apps/v1:StatefulSet::lancedb-store"],
        ["advisory", "kubernetes-images-pinned-by-digest", "kubernetes:apps/v1:StatefulSet::redis-data"],
        ["advisory", "kubernetes-images-pinned-by-digest", "kubernetes:apps/v1:StatefulSet::redis-data"],
        ["advisory", "kubernetes-images-pinned-by-digest", "kubernetes:apps/v1:StatefulSet::redis-sentinel"],
        ["advisory", "kubernetes-images-pinned-by-digest", "kubernetes:apps/v1:StatefulSet::redis-sentinel"],
      ].sort(),
    );
    const digest = `@sha256:${"ab".repeat(32)}`;
    const pinned = await runHoldfastStack("prod", {
      "holdfast:redisImage": `redis:7.2.7-bookworm${digest}`,
      "holdfast:redisExporterImage": `oliver006/redis_exporter:v1.67.0${digest}`,
      "holdfast:lancedbAppImage": `registry.example.com/your-team/lancedb-app:1.0.0${digest}`,
    });
    const config = loadPackConfig(path.join(ROOT, "policies", "config", "prod.json"));
    expect(named(await evaluateRecords(recordsOf(pinned), "stack prod", "prod", config))).toEqual([]);
  });

  it("a LanceDB dataset on S3 (no backup job) is visible in dev, where the bucket has no Object Lock, and accepted in prod, where it has", async () => {
    const findings = async (stack: string) => {
      const run = await runHoldfastStack(stack, { "holdfast:lancedbMode": "s3" });
      const config = loadPackConfig(path.join(ROOT, "policies", "config", `${stack}.json`));
      const e = await evaluateRecords(recordsOf(run), `stack ${stack}`, stack, config);
      return named(e).filter(([, policy]) => policy === "lancedb-s3-dataset-protected");
    };
    expect(await findings("dev")).toEqual([
      ["advisory", "lancedb-s3-dataset-protected", "kubernetes:apps/v1:StatefulSet::lancedb-store"],
    ]);
    expect(await findings("prod")).toEqual([]);
  });
});

describe("violating programs", () => {
  it.each([
    [
      "statefulset-delete-claims",
      "kubernetes-apps-v1-statefulset-retain-claims",
      "kubernetes:apps/v1:StatefulSet::orders-db",
    ],
    ["statefulset-delete-claims", "data-resources-protected", "kubernetes:apps/v1:StatefulSet::orders-db"],
    [
      "storageclass-reclaim-delete",
      "kubernetes-storage-reclaim-retain",
      "kubernetes:storage.k8s.io/v1:StorageClass::fast",
    ],
    ["redis-app-user-all", "redis-no-flush-for-clients", "kubernetes:core/v1:Secret::cache-acl"],
    ["helm-redis-no-disable-commands", "redis-no-flush-for-clients", "kubernetes:helm.sh/v4:Chart::sessions"],
    ["elasticache-user-all", "redis-no-flush-for-clients", "aws:elasticache/user:User::app"],
    ["bucket-force-destroy", "aws-s3-bucket-no-force-destroy", "aws:s3/bucket:Bucket::exports"],
  ])("%s is reported by %s, mandatory", async (name, policy, resource) => {
    const e = await programEvaluation(name);
    expect(named(e)).toContainEqual(["mandatory", policy, resource]);
    expect(e.mandatory).toBeGreaterThan(0);
  });

  it("bad input is a UsageError: unknown stack, missing program or config, both or neither target", async () => {
    for (const req of [
      { stack: "staging" },
      { program: "no/such.ts" },
      { stack: "dev", config: "none.json" },
      {},
      { stack: "dev", program: "x.ts" },
    ])
      await expect(evaluate(req)).rejects.toBeInstanceOf(UsageError);
  });
});

describe("npm run policy (subprocess)", () => {
  it("--program exits 1 and prints the violation as pulumi preview does", () => {
    const r = policyCommand(["--program", program("bucket-force-destroy")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("holdfast@v0.1.0 (local: policies)");
    expect(r.stdout).toContain(
      "- [mandatory]  aws-s3-bucket-no-force-destroy  (aws:s3/bucket:Bucket::exports)",
    );
    expect(r.stdout).toContain("forceDestroy is true");
  });

  it("--config makes a policy advisory (exit 0), and --json prints the report for machines", () => {
    const advisory = path.join("test", "policies", "programs", "advisory.json");
    const r = policyCommand(["--program", program("bucket-force-destroy"), "--config", advisory, "--json"]);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as {
      mandatory: number;
      advisory: number;
      findings: { policyName: string; enforcementLevel: string }[];
    };
    expect(report).toMatchObject({ mandatory: 0, advisory: 1 });
    expect(report.findings).toEqual([
      expect.objectContaining({ policyName: "aws-s3-bucket-no-force-destroy", enforcementLevel: "advisory" }),
    ]);
  });

  it("bad input is one line on stderr and exit 2", () => {
    const r = policyCommand(["--stack", "staging"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('policy: no stack "staging" (no Pulumi.staging.yaml)\n');
  });
});
