// The pack as the Pulumi CLI runs it: policies/index.ts started as a process serves the analyzer gRPC
// protocol, and this test plays the engine's part (GetAnalyzerInfo, Configure, Analyze, AnalyzeStack)
// with the protocol's own messages, so what `pulumi preview --policy-pack policies` would get is checked
// without the CLI: the policies it lists, their levels, config reaching them, violations, and the
// preview advisory for values unknown during preview.
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { policies } from "../../policies/pack";
import { UNKNOWN, secret } from "../../policies/evaluate/runtime";

const PACK_DIR = path.join(__dirname, "..", "..", "policies");
/** tsx's CommonJS hook, so the pack runs as one node process (the CLI's ts-node does the same job). */
const TSX_HOOK = require.resolve("tsx/cjs");

let server: ChildProcess;
let client: InstanceType<typeof AnalyzerClient>;

function call<Req, Res>(method: string, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (
      client as unknown as Record<string, (r: Req, cb: (e: Error | null, res: Res) => void) => void>
    )[method];
    fn.call(client, request, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

function struct(value: Record<string, unknown>): Struct {
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(value)));
}

function options(protect: boolean): analyzer.AnalyzerResourceOptions {
  return new analyzer.AnalyzerResourceOptions()
    .setProtect(protect)
    .setCustomtimeouts(new analyzer.AnalyzerResourceOptions.CustomTimeouts());
}

const urnOf = (type: string, name: string) => `urn:pulumi:dev::test::${type}::${name}`;

async function analyze(type: string, name: string, props: Record<string, unknown>) {
  const req = new analyzer.AnalyzeRequest()
    .setType(type)
    .setName(name)
    .setUrn(urnOf(type, name))
    .setProperties(struct(props))
    .setOptions(options(false));
  const res = await call<analyzer.AnalyzeRequest, analyzer.AnalyzeResponse>("analyze", req);
  return res.getDiagnosticsList();
}

async function analyzeStack(
  resources: { type: string; name: string; props: Record<string, unknown>; protect: boolean }[],
) {
  const req = new analyzer.AnalyzeStackRequest().setResourcesList(
    resources.map((r) =>
      new analyzer.AnalyzerResource()
        .setType(r.type)
        .setName(r.name)
        .setUrn(urnOf(r.type, r.name))
        .setProperties(struct(r.props))
        .setOptions(options(r.protect)),
    ),
  );
  const res = await call<analyzer.AnalyzeStackRequest, analyzer.AnalyzeResponse>("analyzeStack", req);
  return res.getDiagnosticsList();
}

const summary = (ds: analyzer.AnalyzeDiagnostic[]) =>
  ds.map((d) => [
    d.getPolicyname(),
    d.getEnforcementlevel() === analyzer.EnforcementLevel.MANDATORY ? "mandatory" : "advisory",
  ]);

beforeAll(async () => {
  // The CLI starts the pack in its directory: PolicyPack reads the version from ./package.json.
  server = spawn(process.execPath, ["--require", TSX_HOOK, "index.ts"], {
    cwd: PACK_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  server.stderr!.on("data", (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (d) => {
      out += d;
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 60000);

afterAll(() => {
  client?.close();
  server?.kill("SIGKILL");
});

describe("policies/index.ts served as the analyzer the Pulumi CLI talks to", () => {
  it("lists every policy of pack.ts, named holdfast at the pack's version, mandatory unless its definition says advisory", async () => {
    const info = await call<Empty, analyzer.AnalyzerInfo>("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("holdfast");
    expect(info.getVersion()).toBe(require(path.join(PACK_DIR, "package.json")).version); // eslint-disable-line @typescript-eslint/no-require-imports
    expect(info.getPoliciesList().map((p) => p.getName())).toEqual(policies.map((p) => p.name));
    const level = {
      advisory: analyzer.EnforcementLevel.ADVISORY,
      mandatory: analyzer.EnforcementLevel.MANDATORY,
    };
    expect(info.getPoliciesList().map((p) => p.getEnforcementlevel())).toEqual(
      policies.map((p) => level[p.enforcementLevel === "advisory" ? "advisory" : "mandatory"]),
    );
    expect(policies.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name)).toEqual([
      "redis-continuous-protection",
      "kubernetes-images-pinned-by-digest",
    ]);
    const retention = info.getPoliciesList().find((p) => p.getName() === "aws-s3-backup-bucket-retention")!;
    expect(retention.getConfigschema()!.getProperties()!.toJavaScript()).toMatchObject({
      minimumRetentionDays: { type: "integer", default: 30 },
    });
  });

  it("Analyze: reports forceDestroy on a bucket, and an ACL with +@all in a secret Secret", async () => {
    expect(summary(await analyze("aws:s3/bucket:Bucket", "b", { forceDestroy: true }))).toEqual([
      ["aws-s3-bucket-no-force-destroy", "mandatory"],
    ]);
    const acl = secret({ "users.acl": "user default off\nuser app on >pw ~* +@all\n" });
    const ds = await analyze("kubernetes:core/v1:Secret", "auth", { stringData: acl });
    expect(summary(ds)).toEqual([["redis-no-flush-for-clients", "mandatory"]]);
    expect(ds[0].getMessage()).toContain('user "app" can run FLUSHALL and FLUSHDB');
  });

  it("Analyze: a value unknown during preview gives the runtime's advisory, not a violation", async () => {
    const ds = await analyze("kubernetes:core/v1:Secret", "auth", { stringData: UNKNOWN });
    expect(summary(ds)).toEqual([
      ["redis-no-flush-for-clients", "advisory"],
      ["redis-default-user-protected", "advisory"],
      ["redis-persistence-enabled", "advisory"],
    ]);
    expect(ds[0].getMessage()).toContain("can't run policy");
  });

  it("AnalyzeStack: an unprotected StatefulSet with claim templates is reported; a protected one is not", async () => {
    const sts = {
      type: "kubernetes:apps/v1:StatefulSet",
      name: "db",
      props: {
        metadata: { name: "db" },
        spec: {
          template: { spec: { containers: [{ name: "app", image: "app:1" }] } },
          volumeClaimTemplates: [{ metadata: { name: "data" } }],
        },
      },
    };
    expect(summary(await analyzeStack([{ ...sts, protect: false }]))).toEqual([
      ["data-resources-protected", "mandatory"],
    ]);
    expect(summary(await analyzeStack([{ ...sts, protect: true }]))).toEqual([]);
  });

  it("Configure: the config file's levels and properties reach the policies", async () => {
    const config = new analyzer.PolicyConfig()
      .setEnforcementlevel(analyzer.EnforcementLevel.ADVISORY)
      .setProperties(struct({ required: true }));
    const req = new analyzer.ConfigureAnalyzerRequest();
    req.getPolicyconfigMap().set("aws-s3-backup-bucket-object-lock", config);
    await call("configure", req);
    const bucket = {
      type: "aws:s3/bucket:Bucket",
      name: "backups",
      props: { bucket: "backups-1" },
      protect: true,
    };
    const ds = await analyzeStack([bucket]);
    expect(summary(ds).filter(([p]) => p === "aws-s3-backup-bucket-object-lock")).toEqual([
      ["aws-s3-backup-bucket-object-lock", "advisory"],
    ]);
  });
});
