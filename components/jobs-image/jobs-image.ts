// JobsImage: the stack's ECR repository (scanned on push, immutable tags, newest images kept) and the
// jobs/Dockerfile image built and pushed to it with @pulumi/docker. Later components run the image by
// the digest this component outputs, so a pod always runs exactly the image that was built.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import { checkEngineImage, DEFAULT_REDIS_IMAGE } from "../../core/engines";
import type { RedisEngine } from "../shared/enums";
import { jobsImageTag } from "./build-context";
import { keepNewestImagesPolicy } from "./ecr-lifecycle";

/** Arguments of a JobsImage. */
export interface JobsImageArgs {
  /** The build context. Default: the repository root (the nearest folder above this module with jobs/Dockerfile). */
  context?: string;
  /** The Dockerfile, relative to the context. Default `jobs/Dockerfile`. */
  dockerfile?: string;
  /**
   * The Redis image whose redis-server, redis-check-aof and redis-check-rdb the jobs carry: the image
   * the data pods run, so a restore is verified by the same Redis version that wrote the backup. A
   * Debian variant (the jobs image is glibc based). Default: DEFAULT_REDIS_IMAGE.
   */
  redisImage?: string;
  /** The engine redisImage runs (redis, valkey): which binaries the image copies. Default redis. */
  engine?: RedisEngine;
  /** Images the repository's lifecycle policy keeps. Default 20. */
  keepImages?: number;
  /** Platform the image is built for. Default `linux/amd64`. */
  platform?: string;
  /** Name of the ECR repository. Default: generated from the component's name. */
  repositoryName?: string;
  /** Tags of the repository. Default none. */
  tags?: Record<string, string>;
}

/** The jobs image, built from the repository and pushed to the stack's ECR repository. */
export class JobsImage extends pulumi.ComponentResource {
  /** URL of the repository (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`). */
  public readonly repositoryUrl: pulumi.Output<string>;
  /** ARN of the repository. */
  public readonly repositoryArn: pulumi.Output<string>;
  /** The pushed image by tag (`<repositoryUrl>:<version>-<digest of the build inputs>`). */
  public readonly imageName: pulumi.Output<string>;
  /** The pushed image by digest (`<repositoryUrl>@sha256:...`): what pods run. */
  public readonly imageRef: pulumi.Output<string>;

  /**
   * @param name base name of the repository and image resources.
   * @param args see JobsImageArgs for defaults.
   * @param opts resource options; an `aws` provider passed here is used for the repository.
   */
  constructor(name: string, args: JobsImageArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:image:JobsImage", name, {}, opts);
    const child = { parent: this };
    const context = path.resolve(args.context ?? repositoryRoot(__dirname));
    const dockerfile = args.dockerfile ?? "jobs/Dockerfile";
    const redisImage = args.redisImage ?? DEFAULT_REDIS_IMAGE;
    const engine = args.engine ?? "redis";
    checkEngineImage(engine, redisImage);
    const buildArgs = { REDIS_IMAGE: redisImage, REDIS_ENGINE: engine };

    const repository = new aws.ecr.Repository(
      `${name}-repository`,
      {
        name: args.repositoryName,
        imageScanningConfiguration: { scanOnPush: true },
        imageTagMutability: "IMMUTABLE",
        tags: args.tags,
      },
      child,
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      { repository: repository.name, policy: JSON.stringify(keepNewestImagesPolicy(args.keepImages ?? 20)) },
      child,
    );

    const credentials = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, child);
    const image = new docker.Image(
      `${name}-image`,
      {
        // Tags are immutable: the tag names the build inputs, so only a changed image gets a new tag.
        imageName: pulumi.interpolate`${repository.repositoryUrl}:${jobsImageTag(context, dockerfile, buildArgs)}`,
        build: {
          context,
          dockerfile: path.join(context, dockerfile),
          platform: args.platform ?? "linux/amd64",
          args: buildArgs,
          builderVersion: docker.BuilderVersion.BuilderBuildKit,
        },
        registry: {
          server: repository.repositoryUrl,
          username: credentials.userName,
          password: pulumi.secret(credentials.password),
        },
      },
      child,
    );

    this.repositoryUrl = repository.repositoryUrl;
    this.repositoryArn = repository.arn;
    this.imageName = image.imageName;
    this.imageRef = image.repoDigest;
    this.registerOutputs({
      repositoryUrl: this.repositoryUrl,
      repositoryArn: this.repositoryArn,
      imageName: this.imageName,
      imageRef: this.imageRef,
    });
  }
}

/** The nearest folder at or above `from` holding jobs/Dockerfile: the source tree, or the package a build sits in. */
function repositoryRoot(from: string): string {
  for (let dir = from; path.dirname(dir) !== dir; dir = path.dirname(dir))
    if (fs.existsSync(path.join(dir, "jobs", "Dockerfile"))) return dir;
  return path.join(from, "..", "..");
}
