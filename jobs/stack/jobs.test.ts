// The Jobs' building blocks: names within 63 characters that stay unique, the restricted pod, image
// digests.
import { jobName, pinnedByDigest, stackJob } from "./jobs";

test("job names are DNS labels of at most 63 characters, shortened with a hash", () => {
  expect(jobName("holdfast-restore", "20260115T120000Z", "data-redis-0")).toBe(
    "holdfast-restore-20260115t120000z-data-redis-0",
  );
  const a = jobName("holdfast-restore", "20260115T120000Z", `state-${"x".repeat(40)}-sentinel-1`);
  const b = jobName("holdfast-restore", "20260115T120000Z", `state-${"x".repeat(40)}-sentinel-2`);
  expect(a).toHaveLength(63);
  expect(a).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  expect(a).not.toBe(b);
});

test("a Job runs once, as the volume's user, restricted, with a read-only root filesystem", () => {
  const job = stackJob({
    name: "j",
    namespace: "ns",
    image: "img",
    serviceAccount: "holdfast-restore",
    command: ["holdfast", "x"],
    runAsUser: 1000,
    claim: { name: "data-lancedb-0", mountPath: "/app/lancedb_data" },
    deadlineSeconds: 60,
    memory: "1Gi",
    labels: { "holdfast.dev/operation": "restore" },
  });
  expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 60 });
  const pod = job.spec!.template.spec!;
  expect(pod.securityContext).toEqual({
    runAsNonRoot: true,
    runAsUser: 1000,
    runAsGroup: 1000,
    seccompProfile: { type: "RuntimeDefault" },
  });
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.containers[0].securityContext).toMatchObject({
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
  });
  expect(pod.containers[0].volumeMounts).toEqual([
    { name: "tmp", mountPath: "/tmp" },
    { name: "data", mountPath: "/app/lancedb_data" },
  ]);
  expect(job.metadata!.labels).toMatchObject({
    "app.kubernetes.io/part-of": "holdfast",
    "holdfast.dev/operation": "restore",
  });
});

test("an image is pinned by a sha256 digest, not by a tag", () => {
  expect(pinnedByDigest(`ecr/jobs@sha256:${"0".repeat(64)}`)).toBe(true);
  expect(pinnedByDigest("ghcr.io/holdfast/jobs:0.1.0")).toBe(false);
});
