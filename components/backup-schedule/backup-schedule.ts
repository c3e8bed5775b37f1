// BackupSchedule: the stack's scheduled jobs (a backup per store, the prune, the restore drill) as
// Kubernetes CronJobs running the jobs image under least-privilege service accounts, and optionally the
// same jobs as ECS Fargate tasks on EventBridge Scheduler schedules. The jobs are declared once by
// ./jobs and rendered by ./cronjob and ./fargate; this component only wires resources.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { JobRole } from "../backup-bucket";
import type { JobRoleArns, JobServiceAccounts } from "../backup-bucket/backup-bucket";
import { recommendedLabels } from "../shared/k8s";
import { eventBridgeCron } from "./cron";
import { cronJobSpec, jobLabels, KubernetesRuntime } from "./cronjob";
import { containerDefinitions, fargateJobs, taskSize, taskVolumes } from "./fargate";
import { type DeclaredJob, declaredJobs, ScheduleSettings } from "./jobs";

/** How the CronJobs reach the LanceDB dataset. */
export interface LanceDbVolumeArgs {
  /** The claim of the dataset's volume. */
  claimName: pulumi.Input<string>;
  /** Where the jobs mount it (the application's data path). */
  dataPath: pulumi.Input<string>;
  /** The application's uid: the jobs read its files as it, and never change their ownership. */
  uid: number;
  /** Labels of the application's pod, when its volume can only be mounted on that pod's node (ebs). */
  sameNodeAs?: Record<string, string>;
}

/** The LanceDB dataset on EFS, for the Fargate tasks. */
export interface FargateEfsArgs {
  /** The file system. */
  fileSystemId: pulumi.Input<string>;
  /** The access point the tasks mount. */
  accessPointId: pulumi.Input<string>;
  /** The application's uid, which the tasks read the files as. */
  uid: number;
}

/** The Fargate runtime of the jobs that need no Kubernetes Secret. */
export interface FargateArgs {
  /** Subnets of the tasks (they reach S3 and the EFS mount targets from there). */
  subnetIds: pulumi.Input<string>[];
  /** Security groups of the tasks. */
  securityGroupIds: pulumi.Input<string>[];
  /** Existing ECS cluster; default: one is created. */
  clusterArn?: pulumi.Input<string>;
  /** The LanceDB dataset on EFS. */
  efs?: FargateEfsArgs;
  /** Days the task logs are kept. Default 30. */
  logRetentionDays?: number;
}

/** Arguments of a BackupSchedule. */
export interface BackupScheduleArgs {
  /** Namespace of the CronJobs and service accounts (the stores' namespace). */
  namespace: pulumi.Input<string>;
  /** Image with the holdfast CLI. */
  jobsImage: pulumi.Input<string>;
  /** The jobs: schedules, retention, bucket, the stores they protect. */
  settings: ScheduleSettings;
  /** Time zone the schedules are read in. Default `Etc/UTC`. */
  timeZone?: pulumi.Input<string>;
  /** IAM role of each job role; the service accounts are annotated with them (IRSA). */
  roleArns: pulumi.Input<JobRoleArns>;
  /** Names of the service accounts of each role (the names the roles trust). */
  serviceAccounts: JobServiceAccounts;
  /** How the CronJobs reach the LanceDB dataset; required when settings.lancedb is set. */
  lancedbVolume?: LanceDbVolumeArgs;
  /** Also run the jobs Fargate can run as ECS tasks. Default: not. */
  fargate?: FargateArgs;
}

/** The scheduled jobs of a stack. */
export class BackupSchedule extends pulumi.ComponentResource {
  /** CronJob name of each job. */
  public readonly cronJobs: pulumi.Output<Record<string, string>>;
  /** Service account of each role. */
  public readonly serviceAccounts: pulumi.Output<JobServiceAccounts>;
  /** ECS task definition ARN of each Fargate job, when the Fargate runtime is on. */
  public readonly taskDefinitions: pulumi.Output<Record<string, string>>;

  /**
   * @param name prefix of the resources' logical names.
   * @param args see BackupScheduleArgs.
   * @param opts resource options; the Kubernetes provider (and the `aws` one for Fargate) come through here.
   */
  constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:backup:BackupSchedule", name, {}, opts);
    const child = { parent: this };
    const jobs = declaredJobs(args.settings);
    const labels = recommendedLabels(name, "holdfast-jobs", "schedule");
    const roleArns = pulumi.output(args.roleArns);

    for (const role of Object.keys(args.serviceAccounts) as JobRole[]) {
      new k8s.core.v1.ServiceAccount(
        `${name}-${role}-account`,
        {
          metadata: {
            name: args.serviceAccounts[role],
            namespace: args.namespace,
            labels,
            annotations: { "eks.amazonaws.com/role-arn": roleArns[role] },
          },
          automountServiceAccountToken: false,
        },
        child,
      );
    }

    const runtime: KubernetesRuntime = {
      namespace: args.namespace,
      image: args.jobsImage,
      timeZone: "Etc/UTC",
      serviceAccounts: args.serviceAccounts,
      lancedb: args.lancedbVolume,
    };
    const cronJobs: Record<string, string> = {};
    for (const job of jobs) {
      new k8s.batch.v1.CronJob(
        `${name}-${job.name}`,
        {
          metadata: {
            name: job.name,
            namespace: args.namespace,
            labels: jobLabels(job),
            annotations: { "holdfast.dev/summary": job.summary },
          },
          spec: pulumi
            .output(args.timeZone ?? "Etc/UTC")
            .apply((timeZone) => cronJobSpec(job, { ...runtime, timeZone })),
        },
        child,
      );
      cronJobs[job.name] = job.name;
    }

    const taskDefinitions = args.fargate
      ? this.fargate(
          name,
          args,
          jobs.filter((j) => fargateJobs([j]).length > 0),
        )
      : {};

    this.cronJobs = pulumi.output(cronJobs);
    this.serviceAccounts = pulumi.output(args.serviceAccounts);
    this.taskDefinitions = pulumi.output(taskDefinitions);
    this.registerOutputs({
      cronJobs: this.cronJobs,
      serviceAccounts: this.serviceAccounts,
      taskDefinitions: this.taskDefinitions,
    });
  }

  /** The Fargate runtime: cluster, logs, roles, a task definition and a schedule per job. */
  private fargate(
    name: string,
    args: BackupScheduleArgs,
    jobs: DeclaredJob[],
  ): Record<string, pulumi.Output<string>> {
    const f = args.fargate!;
    const child = { parent: this };
    const stack = args.settings.stack;
    const tags = { "app.kubernetes.io/part-of": "holdfast", "holdfast.dev/stack": stack };
    const clusterArn =
      f.clusterArn ??
      new aws.ecs.Cluster(
        `${name}-cluster`,
        { settings: [{ name: "containerInsights", value: "enabled" }], tags },
        child,
      ).arn;
    const logs = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/holdfast/${stack}/jobs`, retentionInDays: f.logRetentionDays ?? 30, tags },
      child,
    );
    const execution = new aws.iam.Role(
      `${name}-task-execution`,
      { assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ecs-tasks.amazonaws.com")), tags },
      child,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-task-execution-policy`,
      {
        role: execution.name,
        policyArn: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
      },
      child,
    );
    const definitions = this.fargateTasks(name, args, jobs, logs.name, execution.arn);
    this.fargateSchedules(name, args, jobs, { clusterArn, definitions, executionArn: execution.arn });
    return definitions;
  }

  /** An ECS task definition per job Fargate can run (a dataset it cannot mount, EBS, stays a CronJob). */
  private fargateTasks(
    name: string,
    args: BackupScheduleArgs,
    jobs: DeclaredJob[],
    logGroupName: pulumi.Output<string>,
    executionArn: pulumi.Output<string>,
  ): Record<string, pulumi.Output<string>> {
    const f = args.fargate!;
    const stack = args.settings.stack;
    const tags = { "app.kubernetes.io/part-of": "holdfast", "holdfast.dev/stack": stack };
    const roleArns = pulumi.output(args.roleArns);
    const runtime = {
      image: args.jobsImage,
      logGroupName,
      region: args.settings.region,
      efs:
        f.efs && args.settings.lancedb ? { ...f.efs, dataPath: args.settings.lancedb.dataPath } : undefined,
    };
    const definitions: Record<string, pulumi.Output<string>> = {};
    for (const job of jobs) {
      if (job.readsLanceDb && !runtime.efs) continue;
      const size = taskSize(job);
      definitions[job.name] = new aws.ecs.TaskDefinition(
        `${name}-${job.name}-task`,
        {
          family: `holdfast-${stack}-${job.name}`,
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: size.cpu,
          memory: size.memory,
          ephemeralStorage: job.scratchSize ? { sizeInGib: 100 } : undefined,
          executionRoleArn: executionArn,
          taskRoleArn: roleArns[job.role],
          containerDefinitions: containerDefinitions(job, runtime),
          volumes: taskVolumes(job, runtime),
          runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
          tags,
        },
        { parent: this },
      ).arn;
    }
    return definitions;
  }

  /** The EventBridge Scheduler schedules that run the task definitions, and the role they run them as. */
  private fargateSchedules(
    name: string,
    args: BackupScheduleArgs,
    jobs: DeclaredJob[],
    target: {
      clusterArn: pulumi.Input<string>;
      definitions: Record<string, pulumi.Output<string>>;
      executionArn: pulumi.Output<string>;
    },
  ): void {
    const f = args.fargate!;
    const child = { parent: this };
    const stack = args.settings.stack;
    const tags = { "app.kubernetes.io/part-of": "holdfast", "holdfast.dev/stack": stack };
    const { definitions } = target;
    const scheduler = new aws.iam.Role(
      `${name}-scheduler`,
      { assumeRolePolicy: JSON.stringify(serviceTrustPolicy("scheduler.amazonaws.com")), tags },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-scheduler-run-tasks`,
      {
        role: scheduler.name,
        policy: pulumi
          .all([
            pulumi.all(Object.values(definitions)),
            target.executionArn,
            pulumi.output(args.roleArns).apply((r) => Object.values(r) as string[]),
          ])
          .apply(([taskDefinitionArns, executionArn, roleArns]) =>
            JSON.stringify({
              Version: "2012-10-17",
              Statement: [
                // Task definition ARNs end in a revision; allow every revision of these families.
                {
                  Effect: "Allow",
                  Action: "ecs:RunTask",
                  Resource: taskDefinitionArns.map((a) => a.replace(/:\d+$/, ":*")),
                },
                { Effect: "Allow", Action: "iam:PassRole", Resource: [executionArn, ...roleArns] },
              ],
            }),
          ),
      },
      child,
    );
    for (const job of jobs) {
      if (!definitions[job.name]) continue;
      new aws.scheduler.Schedule(
        `${name}-${job.name}-schedule`,
        {
          name: `holdfast-${stack}-${job.name}`,
          description: job.summary,
          scheduleExpression: eventBridgeCron(job.schedule),
          scheduleExpressionTimezone: args.timeZone ?? "Etc/UTC",
          flexibleTimeWindow: { mode: "OFF" },
          target: {
            arn: target.clusterArn,
            roleArn: scheduler.arn,
            ecsParameters: {
              taskDefinitionArn: definitions[job.name],
              launchType: "FARGATE",
              networkConfiguration: {
                subnets: f.subnetIds,
                securityGroups: f.securityGroupIds,
                assignPublicIp: false,
              },
            },
            retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
          },
        },
        child,
      );
    }
  }
}

/** The trust policy of a role an AWS service assumes. */
function serviceTrustPolicy(service: string) {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  };
}
