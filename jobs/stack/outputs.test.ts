// Stack outputs: checked field by field with one line naming what is missing, the stack named by a
// fully qualified name, secrets that were not shown, the protected flag and its default, and where the
// outputs come from (file, Automation API, neither).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { UsageError } from "../cli/errors";
import { type AutomationApi, checkOutputs, isProtected, outputsFromFile, resolveOutputs } from "./outputs";

const raw = () => ({
  stack: "prod",
  namespace: "holdfast",
  kubeContext: "prod-eks",
  protected: true,
  redis: {
    statefulSet: "redis",
    sentinelStatefulSet: "redis-sentinel",
    sentinels: "a:26379,b:26379,c:26379",
    masterName: "holdfast",
    secretName: "redis-auth",
    claimNames: ["data-redis-0", "data-redis-1", "data-redis-2"],
    sentinelClaimNames: ["state-redis-sentinel-0", "state-redis-sentinel-1", "state-redis-sentinel-2"],
  },
  backup: {
    bucket: "backups-prod",
    prefix: "prod",
    region: "us-east-1",
    serviceAccounts: { backup: "holdfast-backup", prune: "holdfast-prune", restore: "holdfast-restore" },
  },
  jobsImage: `123.dkr.ecr.us-east-1.amazonaws.com/holdfast/prod/jobs@sha256:${"a".repeat(64)}`,
  schedule: { cronJobs: { "redis-backup": "redis-backup" }, taskDefinitions: {} },
  lancedb: {
    mode: "efs",
    statefulSet: "lancedb",
    replicas: 2,
    claimNames: ["lancedb-data"],
    dataPath: "/app/lancedb_data",
  },
});

test("the fields the commands use, checked", () => {
  const o = checkOutputs(raw(), "prod", "f.json");
  expect(o).toMatchObject({
    stack: "prod",
    kubeContext: "prod-eks",
    protected: true,
    lancedb: { mode: "efs", replicas: 2 },
  });
  expect(checkOutputs(raw(), "acme/holdfast/prod", "f.json").stack).toBe("prod");
});

test("a missing or hidden field is one line naming it", () => {
  const { jobsImage: _j, ...noImage } = raw();
  expect(() => checkOutputs(noImage, "prod", "f.json")).toThrow(
    new UsageError(
      "the outputs of stack prod (f.json) have no jobsImage; update the stack with this Holdfast (pulumi up)",
    ),
  );
  const hidden = raw();
  hidden.backup.bucket = "[secret]";
  expect(() => checkOutputs(hidden, "prod", "f.json")).toThrow(
    /backup.bucket of stack prod is hidden as a secret/,
  );
  expect(() => checkOutputs({}, "prod", "f.json")).toThrow(
    /stack prod has no outputs \(f.json\); deploy it with pulumi up first/,
  );
  expect(() => checkOutputs([], "prod", "f.json")).toThrow(/not a JSON object/);
  expect(() => checkOutputs(raw(), "dev", "f.json")).toThrow(
    /the outputs in f.json are those of stack prod, not dev/,
  );
});

test("protected: the output when there is one, else a stack named prod", () => {
  expect(isProtected(checkOutputs(raw(), "prod", "f"))).toBe(true);
  expect(isProtected(checkOutputs({ ...raw(), protected: false }, "prod", "f"))).toBe(false);
  const { protected: _p, ...older } = raw();
  expect(isProtected(checkOutputs(older, "prod", "f"))).toBe(true);
  expect(isProtected(checkOutputs({ ...older, stack: "dev" }, "dev", "f"))).toBe(false);
});

test("a file, the Automation API, or neither", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-outputs-"));
  try {
    const file = path.join(dir, "o.json");
    fs.writeFileSync(file, JSON.stringify(raw()));
    expect(outputsFromFile(file, "prod").namespace).toBe("holdfast");
    fs.writeFileSync(path.join(dir, "bad.json"), "not json");
    expect(() => outputsFromFile(path.join(dir, "bad.json"), "prod")).toThrow(/is not JSON/);

    const unused: AutomationApi = {
      selectStack: () => Promise.reject(new Error("must not be called when a file is given")),
    };
    expect((await resolveOutputs("prod", { file, automation: unused, workDir: dir })).stack).toBe("prod");
    await expect(resolveOutputs("prod", { workDir: dir, pulumiAvailable: () => false })).rejects.toThrow(
      "no Pulumi CLI on PATH to read the outputs of stack prod; pass --outputs FILE (pulumi stack output --json --show-secrets -s prod > FILE)",
    );
    const failing = (message: string): AutomationApi => ({
      selectStack: () => Promise.reject(new Error(message)),
    });
    await expect(
      resolveOutputs("prod", {
        workDir: dir,
        automation: failing("code: 255\n stderr: error: no stack named 'prod' found"),
      }),
    ).rejects.toThrow(`unknown stack prod (pulumi stack ls lists the stacks of ${dir})`);
    await expect(
      resolveOutputs("prod", {
        workDir: dir,
        automation: failing("\nerror: could not log in to the backend"),
      }),
    ).rejects.toThrow(
      "cannot read the outputs of stack prod with the Pulumi CLI: error: could not log in to the backend",
    );
    await expect(resolveOutputs("../etc", { workDir: dir })).rejects.toThrow(/is not a stack name/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
