// `holdfast stack restore lancedb` on the dev stack (ebs mode) "deployed" on the Kubernetes API stand-in:
// the application's pod runs nothing, its claim data-lancedb-0 is a local folder holding a real LanceDB
// dataset, the backup CronJob's one-off Job and the restore Job run as local processes of the CLI. A
// snapshot taken through `stack backup lancedb` comes back after rows were deleted, a table dropped and
// another added; the content from before is kept aside and in a safety snapshot.
import * as lancedb from "@lancedb/lancedb";
import * as fs from "fs";
import * as path from "path";
import type { RunOutcome } from "../../jobs/stack/execute";
import type { Plan } from "../../jobs/stack/plan";
import { holdfast } from "../backup/cli";
import { StackCluster } from "../../harness/stack-cluster";
import { range, rowsFor, tableRows } from "../lancedb/support";

jest.setTimeout(180_000);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let c: StackCluster;
let dataDir: string;

beforeAll(async () => {
  c = await StackCluster.start({ redis: false });
  dataDir = c.claimDir("data-lancedb-0");
  const db = await lancedb.connect(dataDir);
  try {
    await db.createTable("proposals", rowsFor(range(0, 500)));
    await db.createTable("logs", rowsFor(range(1000, 1100)));
  } finally {
    db.close();
  }
});
afterAll(async () => {
  await c?.cleanup();
});

const stackArgs = () => ["--stack", "dev", "--outputs", c.outputsFile, "--poll-interval", "250ms"];
const ids = (rows: Record<string, unknown>[]) => rows.map((r) => Number(r.id));

test("a snapshot comes back into the application's volume; what was there is kept", async () => {
  const backup = await holdfast(
    ["stack", "backup", "lancedb", ...stackArgs(), "--reason", "pre-training", "--wait", "--timeout", "2m"],
    c.env,
  );
  expect(backup.stderr).toMatch(/succeeded/);
  expect(backup.code).toBe(0);

  // The damage: rows deleted, a table dropped, another written.
  const db = await lancedb.connect(dataDir);
  try {
    await (await db.openTable("proposals")).delete("id < 250");
    await db.dropTable("logs");
    await db.createTable("junk", rowsFor(range(5000, 5010)));
  } finally {
    db.close();
  }

  const r = await holdfast(
    ["stack", "restore", "lancedb", ...stackArgs(), "--backup", "latest", "--json"],
    c.env,
  );
  expect(r.stderr).not.toMatch(/"level":"error"/);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { plan: Plan; outcome: RunOutcome };
  expect(out.plan.backup).toMatchObject({ requested: "latest", reason: "pre-training" });
  const job = (out.plan.steps[3].actions[0] as Json).job;
  expect(job.spec.template.spec.containers[0].command.slice(0, 4)).toEqual([
    "holdfast",
    "restore",
    "lancedb",
    "--backup",
  ]);
  expect(job.spec.template.spec.securityContext).toMatchObject({ runAsUser: 1000 });
  expect(job.spec.template.spec.securityContext.fsGroup).toBeUndefined();
  expect(job.spec.template.spec.containers[0].volumeMounts).toContainEqual({
    name: "data",
    mountPath: "/app/lancedb_data",
  });

  // The dataset of the snapshot.
  expect(ids(await tableRows(dataDir, "proposals"))).toEqual(range(0, 500));
  expect(ids(await tableRows(dataDir, "logs"))).toEqual(range(1000, 1100));
  expect(fs.existsSync(path.join(dataDir, "junk.lance"))).toBe(false);

  // Kept: the content from before in holdfast-aside/ and in a pre-restore snapshot.
  const aside = out.outcome.keptAside.find((k) => k.claim === "data-lancedb-0")!.dir;
  expect(ids(await tableRows(aside, "junk"))).toEqual(range(5000, 5010));
  expect(ids(await tableRows(aside, "proposals"))).toEqual(range(250, 500));
  const list = await holdfast(["stack", "list", ...stackArgs(), "--store", "lancedb", "--json"], c.env);
  const snapshots = JSON.parse(list.stdout) as { id: string; reason: string; items: number }[];
  expect(snapshots.find((s) => s.id === out.outcome.safetyBackup)).toMatchObject({
    reason: "pre-restore",
    items: 250 + 10,
  });

  // Scaled back, the restore recorded as done.
  const sts = c.objects("apps/v1", "StatefulSet").find((s) => s.metadata.name === "lancedb") as Json;
  expect(sts.spec.replicas).toBe(1);
  expect(sts.metadata.annotations["holdfast.dev/restore"]).toBeUndefined();
  expect(JSON.parse(sts.metadata.annotations["holdfast.dev/last-restore"])).toMatchObject({
    backup: out.plan.backup.id,
  });
});
