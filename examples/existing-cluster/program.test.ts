// The example program, run offline under Pulumi mocks as CI runs it: it builds with the library alone,
// every Kubernetes object it sends validates against the Kubernetes schema, its data is protected and
// kept on delete, and a value that comes from another resource (the namespace's name) reaches every object.
import * as k8s from "@pulumi/kubernetes";
import { runOffline, type OfflineRun } from "../../tools/offline";
import { isKubernetesObject, toObject } from "../../tools/render";
import { schemaProblems } from "../../test/support/k8s-schema";
import { protectedStores } from ".";

jest.setTimeout(120_000);

let run: OfflineRun;
beforeAll(async () => {
  run = await runOffline("example", { "aws:region": "eu-west-1" }, () => {
    const provider = new k8s.Provider("existing-cluster", { context: "team-cluster" });
    return protectedStores({
      provider,
      namespace: "team-data",
      appImage: "registry.example.com/team/vectors:2.1.0",
      jobsImage: "ghcr.io/holdfast/holdfast-jobs:0.1.0",
      oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
    });
  });
});

test("every Kubernetes object validates against the Kubernetes schema and goes through the given provider", () => {
  const objects = run.resources.filter(isKubernetesObject);
  expect(objects.length).toBeGreaterThan(15);
  const problems = objects
    .map(toObject)
    .flatMap((o) => schemaProblems(o).map((p) => `${o.kind}/${o.metadata.name}: ${p}`));
  expect(problems).toEqual([]);
  expect(objects.filter((r) => r.provider !== "pulumi:providers:kubernetes::existing-cluster")).toEqual([]);
});

test("the namespace's name, an output of the Namespace resource, reaches every namespaced object", () => {
  const namespaced = run.resources
    .filter(isKubernetesObject)
    .map(toObject)
    .filter((o) => !["Namespace", "StorageClass", "PersistentVolume"].includes(o.kind));
  expect(namespaced.length).toBeGreaterThan(15);
  expect(namespaced.filter((o) => o.metadata.namespace !== "team-data").map((o) => o.kind)).toEqual([]);
});

test("the Redis set, the LanceDB store, the bucket and the schedule are there, their data protected and kept", () => {
  const components = run.resources.filter((r) => !r.custom).map((r) => `${r.type}::${r.name}`);
  expect(components).toEqual(
    expect.arrayContaining([
      "holdfast:redis:SentinelRedis::cache",
      "holdfast:lancedb:LanceDbStore::vectors",
      "holdfast:aws:BackupBucket::team-backups",
      "holdfast:backup:BackupSchedule::team-schedule",
    ]),
  );
  const dataBearing = run.resources.filter(
    (r) =>
      [
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "kubernetes:core/v1:Namespace",
        "kubernetes:storage.k8s.io/v1:StorageClass",
      ].includes(r.type) ||
      (r.type === "kubernetes:apps/v1:StatefulSet" && (r.inputs.spec?.volumeClaimTemplates ?? []).length > 0),
  );
  expect(dataBearing.length).toBeGreaterThanOrEqual(7);
  expect(dataBearing.filter((r) => !r.protect || !r.retainOnDelete).map((r) => r.name)).toEqual([]);
  const cronJobs = run.resources
    .filter((r) => r.type === "kubernetes:batch/v1:CronJob")
    .map((r) => r.inputs.metadata.name);
  expect(cronJobs.sort()).toEqual(["lancedb-backup", "prune", "redis-backup", "restore-drill"]);
});

test("the program's outputs are what the team's applications connect to", () => {
  expect(run.outputs).toMatchObject({
    sentinelEndpoint: "cache-sentinel.team-data.svc.cluster.local:26379",
    masterName: "holdfast",
    redisSecret: "cache-auth",
    lancedbEndpoint: "vectors.team-data.svc.cluster.local:8000",
  });
  expect(run.outputs.backupBucket).toMatch(/^team-backups-bucket/);
});
