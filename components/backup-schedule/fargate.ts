// A declared job as an ECS Fargate task, for stores outside Kubernetes (a LanceDB store run as an
// ECS service): the same image and command, the same environment, the LanceDB dataset from EFS, logs to
// CloudWatch, a read-only root filesystem with task storage for /tmp and the scratch space.
import * as pulumi from "@pulumi/pulumi";
import type { ecs } from "@pulumi/aws/types/input";
import { quantityToBytes } from "../../core/quantity";
import type { DeclaredJob } from "./jobs";

/** How the Fargate tasks of a stack run. */
export interface FargateRuntime {
  image: pulumi.Input<string>;
  logGroupName: pulumi.Input<string>;
  region: pulumi.Input<string>;
  /** The LanceDB dataset on EFS, for the jobs that read it. */
  efs?: {
    fileSystemId: pulumi.Input<string>;
    accessPointId: pulumi.Input<string>;
    dataPath: pulumi.Input<string>;
    /** The application's uid, which the task reads the files as. */
    uid: number;
  };
}

/**
 * The jobs Fargate can run: those that need no Kubernetes Secret and no in-cluster endpoint (the
 * LanceDB backup, the prune, the drill). The Redis backup reads the cluster's sentinels and stays a
 * CronJob.
 */
export function fargateJobs(jobs: DeclaredJob[]): DeclaredJob[] {
  return jobs.filter((j) => j.env.every((e) => !e.secret));
}

/** The task size for a job: Fargate's smallest valid CPU for the memory the job needs. */
export function taskSize(job: DeclaredJob): { cpu: string; memory: string } {
  const mib = Math.max(2048, Math.ceil(quantityToBytes(job.memory) / 2 ** 20 / 1024) * 1024);
  const cpu = mib <= 8192 ? 1024 : mib <= 16384 ? 2048 : 4096;
  return { cpu: String(cpu), memory: String(mib) };
}

/** The task's volumes: task storage for /tmp and the scratch space, EFS for the dataset. */
export function taskVolumes(job: DeclaredJob, rt: FargateRuntime): ecs.TaskDefinitionVolume[] {
  const volumes: ecs.TaskDefinitionVolume[] = [{ name: "tmp" }];
  if (job.scratchSize) volumes.push({ name: "scratch" });
  if (job.readsLanceDb) {
    if (!rt.efs) throw new Error(`${job.name} reads the LanceDB dataset, but the Fargate runtime has no EFS`);
    volumes.push({
      name: "lancedb",
      efsVolumeConfiguration: {
        fileSystemId: rt.efs.fileSystemId,
        transitEncryption: "ENABLED",
        authorizationConfig: { accessPointId: rt.efs.accessPointId },
      },
    });
  }
  return volumes;
}

/** The container definitions of a job's task definition, as the JSON ECS takes. */
export function containerDefinitions(job: DeclaredJob, rt: FargateRuntime): pulumi.Output<string> {
  const uid = job.readsLanceDb && rt.efs ? rt.efs.uid : 10001;
  return pulumi
    .all([
      rt.image,
      rt.logGroupName,
      rt.region,
      pulumi.all(job.env.map((e) => pulumi.output(e.value ?? ""))),
      rt.efs?.dataPath ?? "",
    ])
    .apply(([image, logGroup, region, values, dataPath]) => {
      const mountPoints = [{ sourceVolume: "tmp", containerPath: "/tmp" }];
      if (job.scratchSize) mountPoints.push({ sourceVolume: "scratch", containerPath: "/scratch" });
      if (job.readsLanceDb && rt.efs) mountPoints.push({ sourceVolume: "lancedb", containerPath: dataPath });
      return JSON.stringify([
        {
          name: "holdfast",
          image,
          essential: true,
          command: job.command.slice(1),
          entryPoint: ["holdfast"],
          environment: job.env.map((e, i) => ({ name: e.name, value: values[i] })),
          user: `${uid}:${uid}`,
          readonlyRootFilesystem: true,
          mountPoints: mountPoints.map((m) => ({ ...m, readOnly: m.sourceVolume === "lancedb" })),
          logConfiguration: {
            logDriver: "awslogs",
            options: {
              "awslogs-group": logGroup,
              "awslogs-region": region,
              "awslogs-stream-prefix": job.name,
            },
          },
        },
      ]);
    });
}
