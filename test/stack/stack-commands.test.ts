// The stack commands' inputs, on the dev stack "deployed" on the Kubernetes API stand-in without Redis
// processes (its pods are ready and run nothing), with s3rver holding one Redis backup:
// - outputs resolved from a file and from the Automation API give the same plan: in-process with a fake
//   workspace injected, and as the CLI with a fake `pulumi` on PATH driven by the real LocalWorkspace;
// - stack list and status read the stack's bucket and prefix;
// - unknown stack, unknown backup, missing outputs, unreachable cluster, a protected stack without --yes:
//   one clear line and exit code 2, before anything changes.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MANIFEST_FORMAT } from "../../jobs/redis-backup/manifest";
import { backupIdAt } from "../../jobs/store/backup-id";
import { openBackups, type StackContext } from "../../jobs/stack/context";
import { StackKube } from "../../jobs/stack/kube";
import { gatherLanceDbFacts } from "../../jobs/stack/lancedb-restore";
import { type AutomationApi, resolveOutputs } from "../../jobs/stack/outputs";
import type { Plan } from "../../jobs/stack/plan";
import { planRedisRestore } from "../../jobs/stack/redis-plan";
import { gatherRedisFacts } from "../../jobs/stack/redis-restore";
import { holdfast } from "../backup/cli";
import { kubeConfigFor } from "../../harness/kube-api";
import { StackCluster } from "../../harness/stack-cluster";

jest.setTimeout(120_000);

let c: StackCluster;
let backupId: string;
let fakeBin: string;
const calls: string[] = [];

/** A Redis backup as `holdfast backup redis` commits it: the RDB object, then its manifest. */
async function putBackup(id: string, keys: number): Promise<void> {
  const rdb = Buffer.from("REDIS0011 stand-in payload");
  const key = `dev/redis/${id}/dump.rdb`;
  const client = c.s3.client();
  await client.send(new PutObjectCommand({ Bucket: c.outputs.backup.bucket, Key: key, Body: rdb }));
  const manifest = {
    format: MANIFEST_FORMAT,
    store: "redis",
    id,
    reason: "scheduled",
    method: "replication",
    startedAt: new Date().toISOString(),
    completedAt: new Date().toISOString(),
    timings: { discoverMs: 1, transferMs: 1, commitMs: 1, totalMs: 3 },
    source: { address: "redis-1:6379", role: "replica", transfer: "bulk" },
    redis: { version: "7.2.7", rdbVersion: 11 },
    objects: {
      "dump.rdb": { key, size: rdb.length, sha256: createHash("sha256").update(rdb).digest("hex") },
    },
    dataset: {
      keys,
      databases: { "0": { keys, expires: 0, types: { string: keys }, patterns: {} } },
      patterns: { "*:emotives:*": 10, "*:metadata:*": 5 },
      functions: 0,
      modules: [],
      aux: {},
    },
    info: {},
    holdfast: { version: "0.1.0" },
  };
  await client.send(
    new PutObjectCommand({
      Bucket: c.outputs.backup.bucket,
      Key: `dev/redis/${id}/manifest.json`,
      Body: JSON.stringify(manifest),
    }),
  );
}

beforeAll(async () => {
  c = await StackCluster.start({ redis: false });
  backupId = backupIdAt(new Date());
  await putBackup(backupId, 42);
  // A Pulumi CLI that knows one stack, dev, whose outputs are the rendered ones.
  fakeBin = path.join(c.dir, "bin");
  fs.mkdirSync(fakeBin);
  const log = path.join(c.dir, "pulumi-calls.log");
  fs.writeFileSync(
    path.join(fakeBin, "pulumi"),
    [
      "#!/bin/sh",
      `echo "$*" >> ${log}`,
      'case "$1 $2" in',
      '  "version "*) echo "v3.150.0" ;;',
      '  "stack select")',
      '    [ "$4" = dev ] || { echo "error: no stack named \'$4\' found" >&2; exit 255; } ;;',
      `  "stack output") cat ${c.outputsFile} ;;`,
      '  *) echo "unexpected: $*" >&2; exit 1 ;;',
      "esac",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
});
afterAll(async () => {
  await c?.cleanup();
});

const withFakePulumi = () => ({ ...c.env, PATH: `${fakeBin}:${process.env.PATH}` });

function oneLine(r: { code: number | null; stderr: string }): string {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^holdfast: /);
  return lines[0];
}

describe("outputs from a file and from the Automation API give the same plan", () => {
  test("in-process, with a fake Automation API workspace", async () => {
    const fake: AutomationApi = {
      async selectStack({ stackName, workDir }) {
        calls.push(`select ${stackName} in ${workDir}`);
        const outputs = JSON.parse(fs.readFileSync(c.outputsFile, "utf8")) as Record<string, unknown>;
        return {
          outputs: async () =>
            Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value, secret: false }])),
        };
      },
    };
    const viaFile = await resolveOutputs("dev", { file: c.outputsFile, workDir: "/project" });
    const viaApi = await resolveOutputs("dev", { automation: fake, workDir: "/project" });
    expect(calls).toEqual(["select dev in /project"]);
    expect(viaApi).toEqual(viaFile);
    expect(viaFile).toMatchObject({
      stack: "dev",
      namespace: "holdfast-dev",
      protected: false,
      redis: { statefulSet: "redis", claimNames: ["data-redis-0", "data-redis-1", "data-redis-2"] },
    });

    const plans: Plan[] = [];
    for (const outputs of [viaFile, viaApi]) {
      const kubeConfig = kubeConfigFor(c.server, { user: "in-process" });
      const ctx: StackContext = {
        outputs,
        kubeConfig,
        context: "stand-in",
        kube: new StackKube(kubeConfig, outputs.namespace),
        env: c.s3.env,
      };
      const facts = await gatherRedisFacts(ctx, await openBackups(ctx), "latest", true);
      plans.push(planRedisRestore(facts, { safetyBackup: true }));
      // LanceDB: no snapshot yet, refused the same way from both.
      await expect(gatherLanceDbFacts(ctx, await openBackups(ctx), "latest", true)).rejects.toThrow(
        /there is no backup in s3:\/\/backups-bucket-mock\/dev\/lancedb\/snapshots\//,
      );
    }
    expect(plans[1]).toEqual(plans[0]);
    expect(plans[0].backup.id).toBe(backupId);
  });

  test("as the CLI, through a `pulumi` on PATH and the real LocalWorkspace", async () => {
    const args = ["stack", "restore", "redis", "--stack", "dev", "--backup", "latest", "--dry-run", "--json"];
    const viaCli = await holdfast(args, withFakePulumi());
    expect(viaCli.stderr).toBe("");
    expect(viaCli.code).toBe(0);
    const viaFile = await holdfast([...args, "--outputs", c.outputsFile], c.env);
    expect(viaFile.code).toBe(0);
    expect(JSON.parse(viaCli.stdout)).toEqual(JSON.parse(viaFile.stdout));
    const pulumiCalls = fs.readFileSync(path.join(c.dir, "pulumi-calls.log"), "utf8");
    expect(pulumiCalls).toMatch(/^stack select --stack dev( --non-interactive)?$/m);
    expect(pulumiCalls).toMatch(/^stack output --json --show-secrets --stack dev( --non-interactive)?$/m);
  });
});

test("stack list and status read the stack's bucket and prefix", async () => {
  const list = await holdfast(
    ["stack", "list", "--stack", "dev", "--outputs", c.outputsFile, "--json"],
    c.env,
  );
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout)).toMatchObject([
    { store: "redis", id: backupId, items: 42, reason: "scheduled" },
  ]);
  const status = await holdfast(
    ["stack", "status", "--stack", "dev", "--outputs", c.outputsFile, "--store", "redis"],
    c.env,
  );
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(new RegExp(`^redis\\s+${backupId}\\s+\\S+\\s+\\S+ B\\s+ok$`, "m"));
});

describe("bad input is one line and exit code 2", () => {
  const restore = (extra: string[], env = c.env) =>
    holdfast(["stack", "restore", "redis", "--backup", "latest", ...extra], env);

  test("an unknown stack", async () => {
    expect(oneLine(await restore(["--stack", "nope"], withFakePulumi()))).toBe(
      `holdfast: unknown stack nope (pulumi stack ls lists the stacks of ${process.cwd()})`,
    );
    expect(oneLine(await restore(["--stack", "prod", "--outputs", c.outputsFile]))).toBe(
      `holdfast: the outputs in ${c.outputsFile} are those of stack dev, not prod`,
    );
  });

  test("missing outputs", async () => {
    expect(oneLine(await restore(["--stack", "dev"], { ...c.env, PATH: "/usr/bin:/bin" }))).toBe(
      "holdfast: no Pulumi CLI on PATH to read the outputs of stack dev; pass --outputs FILE " +
        "(pulumi stack output --json --show-secrets -s dev > FILE)",
    );
    const empty = path.join(c.dir, "empty.json");
    fs.writeFileSync(empty, "{}");
    expect(oneLine(await restore(["--stack", "dev", "--outputs", empty]))).toMatch(
      /stack dev has no outputs .*; deploy it with pulumi up first$/,
    );
    const partial = path.join(c.dir, "partial.json");
    const { redis: _r, ...withoutRedis } = JSON.parse(fs.readFileSync(c.outputsFile, "utf8"));
    fs.writeFileSync(partial, JSON.stringify(withoutRedis));
    expect(oneLine(await restore(["--stack", "dev", "--outputs", partial]))).toMatch(
      /the outputs of stack dev \(.*partial.json\) have no redis.statefulSet; update the stack/,
    );
    expect(oneLine(await restore(["--stack", "dev", "--outputs", path.join(c.dir, "nope.json")]))).toMatch(
      /cannot read --outputs/,
    );
  });

  test("an unknown or malformed backup", async () => {
    const args = ["--stack", "dev", "--outputs", c.outputsFile];
    expect(
      oneLine(await holdfast(["stack", "restore", "redis", ...args, "--backup", "20200101T000000Z"], c.env)),
    ).toBe("holdfast: no backup 20200101T000000Z in s3://backups-bucket-mock/dev/redis/");
    expect(
      oneLine(await holdfast(["stack", "restore", "redis", ...args, "--backup", "yesterday"], c.env)),
    ).toMatch(/"yesterday" is not a backup id/);
    expect(
      oneLine(await holdfast(["stack", "restore", "lancedb", ...args, "--backup", "latest"], c.env)),
    ).toBe("holdfast: there is no backup in s3://backups-bucket-mock/dev/lancedb/snapshots/");
  });

  test("an unreachable cluster or an unknown context", async () => {
    const saved = fs.readFileSync(c.kubeconfig, "utf8");
    const away = path.join(c.dir, "kubeconfig-away");
    fs.writeFileSync(away, saved.replace(/http:\/\/127\.0\.0\.1:\d+/, "http://127.0.0.1:1"));
    expect(
      oneLine(await restore(["--stack", "dev", "--outputs", c.outputsFile], { ...c.env, KUBECONFIG: away })),
    ).toMatch(/^holdfast: cannot reach the cluster of stack dev \(context stand-in\): .*ECONNREFUSED/);
    expect(
      oneLine(await restore(["--stack", "dev", "--outputs", c.outputsFile, "--context", "prod-eks"])),
    ).toBe("holdfast: no context prod-eks in the kubeconfig");
  });

  test("a protected stack without --yes and without a terminal; --dry-run needs no confirmation", async () => {
    const prot = path.join(c.dir, "protected.json");
    fs.writeFileSync(
      prot,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(c.outputsFile, "utf8")), protected: true }),
    );
    const requests = c.server.requests.length;
    expect(oneLine(await restore(["--stack", "dev", "--outputs", prot]))).toBe(
      "holdfast: stack dev is protected: pass --yes to restore it (there is no terminal to type its name on)",
    );
    expect(c.server.requests.length).toBe(requests);
    const dry = await restore(["--stack", "dev", "--outputs", prot, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^holdfast stack restore redis: stack dev/);
  });
});
