// The JobsImage as the stacks create it (under Pulumi mocks), and the tag it derives from its inputs.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectDir } from "../../config";
import { OfflineRun, findObject, findResource, resourcesOfType, stackRun } from "../../test/support/stack";
import { contextFiles, jobsImageTag } from "./build-context";
import { keepNewestImagesPolicy } from "./ecr-lifecycle";

const T = {
  repository: "aws:ecr/repository:Repository",
  lifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
  image: "docker:index/image:Image",
};

interface Container {
  name: string;
  image: string;
}

/** Every container and init container of the Redis data and sentinel StatefulSets. */
function redisContainers(run: OfflineRun): Container[] {
  const outputs = run.outputs.redis as { statefulSet: string; sentinelStatefulSet: string };
  return [outputs.statefulSet, outputs.sentinelStatefulSet].flatMap((name) => {
    const spec = (
      findObject(run, "StatefulSet", name).spec as { template: { spec: Record<string, Container[]> } }
    ).template.spec;
    return [...(spec.initContainers ?? []), ...spec.containers];
  });
}

describe("the prod stack's jobs image", () => {
  let run: OfflineRun;
  beforeAll(async () => {
    run = await stackRun("prod");
  });

  it("has an ECR repository that scans on push, refuses to overwrite a tag and is not force-deleted", () => {
    const repository = findResource(run, T.repository, "jobs-repository");
    expect(repository.parent).toBe("holdfast:image:JobsImage::jobs");
    expect(repository.inputs).toMatchObject({
      name: "holdfast/prod/jobs",
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: "IMMUTABLE",
    });
    expect(repository.inputs.forceDelete).toBeUndefined();
  });

  it("keeps the newest jobsImageKeep images", async () => {
    const policy = JSON.parse(findResource(run, T.lifecycle, "jobs-lifecycle").inputs.policy as string);
    expect(policy).toEqual(keepNewestImagesPolicy(20));
    expect(policy.rules[0].selection).toEqual({
      tagStatus: "any",
      countType: "imageCountMoreThan",
      countNumber: 20,
    });
    const fewer = await stackRun("prod", { "holdfast:jobsImageKeep": 5 });
    expect(
      JSON.parse(findResource(fewer, T.lifecycle, "jobs-lifecycle").inputs.policy as string).rules[0]
        .selection,
    ).toMatchObject({ countNumber: 5 });
  });

  it("builds jobs/Dockerfile from the repository with the data pods' Redis image and pushes it with ECR credentials", () => {
    const image = findResource(run, T.image, "jobs-image");
    const dataImages = redisContainers(run)
      .filter((c) => c.name === "redis" || c.name === "sentinel")
      .map((c) => c.image);
    expect(new Set(dataImages)).toEqual(new Set(["redis:8.0.2-bookworm"]));
    expect(image.inputs.build).toEqual({
      context: projectDir,
      dockerfile: path.join(projectDir, "jobs", "Dockerfile"),
      platform: "linux/amd64",
      args: { REDIS_IMAGE: dataImages[0], REDIS_ENGINE: "redis" },
      builderVersion: "BuilderBuildKit",
    });
    const repositoryUrl = "123456789012.dkr.ecr.us-east-1.amazonaws.com/holdfast/prod/jobs";
    expect(image.inputs.registry).toEqual({ server: repositoryUrl, username: "AWS", password: "mock-token" });
    // The tag names the build inputs (see jobsImageTag below); files change as people work, so only its form.
    expect(image.inputs.imageName).toMatch(
      new RegExp(`^${repositoryUrl.replace(/\./g, "\\.")}:0\\.1\\.0-[0-9a-f]{12}$`),
    );
  });

  it("is what the Redis pods run, by digest, and what the stack exports", () => {
    const byDigest =
      /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/holdfast\/prod\/jobs@sha256:[0-9a-f]{64}$/;
    expect(run.outputs.jobsImage).toMatch(byDigest);
    expect(run.outputs.jobsRepository).toBe(
      "123456789012.dkr.ecr.us-east-1.amazonaws.com/holdfast/prod/jobs",
    );
    const jobs = redisContainers(run).filter((c) => !c.image.startsWith("redis:") && c.name !== "exporter");
    expect(jobs.length).toBeGreaterThan(0);
    for (const c of jobs) expect([c.name, c.image]).toEqual([c.name, run.outputs.jobsImage]);
  });
});

describe("the dev stack", () => {
  it("builds no image and runs config jobsImage", async () => {
    const run = await stackRun("dev");
    expect(resourcesOfType(run, T.image)).toEqual([]);
    expect(resourcesOfType(run, T.repository)).toEqual([]);
    expect(run.outputs.jobsImage).toBe("ghcr.io/holdfast-dev/holdfast-jobs:0.1.0");
    expect(run.outputs.jobsRepository).toBe("");
    const jobs = redisContainers(run).filter((c) => !c.image.startsWith("redis:") && c.name !== "exporter");
    expect(new Set(jobs.map((c) => c.image))).toEqual(new Set(["ghcr.io/holdfast-dev/holdfast-jobs:0.1.0"]));
  });

  it("builds the image when buildJobsImage is turned on", async () => {
    const run = await stackRun("dev", { "holdfast:buildJobsImage": true });
    expect(findResource(run, T.repository, "jobs-repository").inputs.name).toBe("holdfast/dev/jobs");
    expect(run.outputs.jobsImage).toMatch(/holdfast\/dev\/jobs@sha256:/);
  });
});

describe("jobsImageTag", () => {
  let context: string;
  const args = { REDIS_IMAGE: "redis:7.2.7-bookworm" };
  const write = (file: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(context, file)), { recursive: true });
    fs.writeFileSync(path.join(context, file), content);
  };
  beforeEach(() => {
    context = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-tag-"));
    write("package.json", JSON.stringify({ version: "1.2.3" }));
    write("Dockerfile", "FROM node:20.1.0\nCOPY package.json ./\nCOPY src/ src/\nCOPY --from=x /a /b\n");
    write("src/cli.ts", "export {};\n");
    write("src/cli.test.ts", "test\n");
    write("docs/readme.md", "not copied\n");
  });
  afterEach(() => fs.rmSync(context, { recursive: true, force: true }));

  it("names the version and the build inputs, and lists what the Dockerfile copies", () => {
    expect(jobsImageTag(context, "Dockerfile", args)).toMatch(/^1\.2\.3-[0-9a-f]{12}$/);
    expect(contextFiles(context, "Dockerfile")).toEqual(["package.json", "src/cli.ts"]);
  });

  it("changes when a copied file, the Dockerfile or a build argument changes", () => {
    const before = jobsImageTag(context, "Dockerfile", args);
    write("src/cli.ts", "export const changed = 1;\n");
    const afterSource = jobsImageTag(context, "Dockerfile", args);
    expect(afterSource).not.toBe(before);
    expect(jobsImageTag(context, "Dockerfile", { REDIS_IMAGE: "redis:7.4.2-bookworm" })).not.toBe(
      afterSource,
    );
    write("Dockerfile", "FROM node:20.2.0\nCOPY package.json ./\nCOPY src/ src/\n");
    expect(jobsImageTag(context, "Dockerfile", args)).not.toBe(afterSource);
  });

  it("stays when only files outside the image change", () => {
    const before = jobsImageTag(context, "Dockerfile", args);
    write("docs/readme.md", "edited\n");
    write("src/cli.test.ts", "edited\n");
    expect(jobsImageTag(context, "Dockerfile", args)).toBe(before);
  });

  it("fails when the Dockerfile copies something the context lacks", () => {
    write("Dockerfile", "FROM node:20.1.0\nCOPY missing/ missing/\n");
    expect(() => jobsImageTag(context, "Dockerfile", args)).toThrow(/copies missing/);
  });
});

describe("keepNewestImagesPolicy", () => {
  it("refuses to keep no images", () => {
    expect(() => keepNewestImagesPolicy(0)).toThrow(/>= 1/);
  });
});
