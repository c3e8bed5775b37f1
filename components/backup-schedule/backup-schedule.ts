// BackupSchedule: the stack's scheduled jobs (a backup per store, the prune, the restore drill) as
// Kubernetes CronJobs running the jobs image under least-privilege service accounts, and optionally the
// same jobs as ECS Fargate tasks on EventBridge Scheduler schedules. The jobs are declared once by
// ./jobs and rendered by ./cronjob and ./fargate; this component only wires resources.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { JobRole } from "../backup-bucket";
import { recommendedLabels } from "../shared/k8s";
import { eventBridgeCron } from "./cron";
import { cronJobSpec, jobLabels, KubernetesRuntime } from "./cronjob";
import { containerDefinitions, fargateJobs, taskSize, taskVolumes } from "./fargate";
import { declaredJobs, ScheduleSettings } from "./jobs";

/** Arguments of a BackupSchedule. */
export interface BackupScheduleArgs {
  /** Namespace of the CronJobs and service accounts (the stores' namespace). */
  namespace: string;
  /** Image with the holdfast CLI. */
  jobsImage: pulumi.Input<string>;
  /** The jobs: schedules, retention, bucket, the stores they protect. */
  settings: ScheduleSettings;
  /** Time zone the schedules are read in. Default `Etc/UTC`. */
  timeZone?: string;
  /** IAM role of each job role; the service accounts are annotated with them (IRSA). */
  roleArns: Record<JobRole, pulumi.Input<string>>;
  /** Names of the service accounts of each role (the names the roles trust). */
  serviceAccounts: Record<JobRole, string>;
  /** How the CronJobs reach the LanceDB dataset; required when settings.lancedb is set. */
  lancedbVolume?: KubernetesRuntime["lancedb"];
  /** Also run the jobs Fargate can run as ECS tasks. Default: not. */
  fargate?: {
    subnetIds: pulumi.Input<string>[];
    securityGroupIds: pulumi.Input<string>[];
    /** Existing ECS cluster; default: one is created. */
    clusterArn?: pulumi.Input<string>;
    /** The LanceDB dataset on EFS. */
    efs?: { fileSystemId: pulumi.Input<string>; accessPointId: pulumi.Input<string>; uid: number };
    /** Days the task logs are kept. Default 30. */
    logRetentionDays?: number;
  };
}

/** The scheduled jobs of a stack. */
export class BackupSchedule extends pulumi.ComponentResource {
  /** CronJob name of each job. */
  public readonly cronJobs: Record<string, string>;
  /** Service account of each role. */
  public readonly serviceAccounts: Record<JobRole, string>;
  /** ECS task definition ARN of each Fargate job, when the Fargate runtime is on. */
  public readonly taskDefinitions: Record<string, pulumi.Output<string>>;

  /**
   * @param name prefix of the resources' logical names.
   * @param args see BackupScheduleArgs.
   * @param opts resource options; the Kubernetes provider comes through here.
   */
  constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("holdfast:backup:BackupSchedule", name, {}, opts);
    const child = { parent: this };
    const jobs = declaredJobs(args.settings);
    const labels = recommendedLabels(name, "holdfast-jobs", "schedule");

    for (const role of Object.keys(args.serviceAccounts) as JobRole[]) {
      new k8s.core.v1.ServiceAccount(
        `${name}-${role}-account`,
        {
          metadata: {
            name: args.serviceAccounts[role],
            namespace: args.namespace,
            labels,
            annotations: { "eks.amazonaws.com/role-arn": args.roleArns[role] },
          },
          automountServiceAccountToken: false,
        },
        child,
      );
    }

    const runtime: KubernetesRuntime = {
      namespace: args.namespace,
      image: args.jobsImage,
      timeZone: args.timeZone ?? "Etc/UTC",
      serviceAccounts: args.serviceAccounts,
      lancedb: args.lancedbVolume,
    };
    this.cronJobs = {};
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
          spec: cronJobSpec(job, runtime),
        },
        child,
      );
      this.cronJobs[job.name] = job.name;
    }

    this.taskDefinitions = {};
    if (args.fargate)
      this.taskDefinitions = this.fargate(
        name,
        args,
        jobs.filter((j) => fargateJobs([j]).length > 0),
      );

    this.serviceAccounts = args.serviceAccounts;
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
    jobs: ReturnType<typeof declaredJobs>,
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
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" },
          ],
        }),
        tags,
      },
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
    const runtime = {
      image: args.jobsImage,
      logGroupName: logs.name,
      region: args.settings.region,
      efs:
        f.efs && args.settings.lancedb ? { ...f.efs, dataPath: args.settings.lancedb.dataPath } : undefined,
    };
    const definitions: Record<string, pulumi.Output<string>> = {};
    for (const job of jobs) {
      if (job.readsLanceDb && !runtime.efs) continue; // a dataset Fargate cannot mount (EBS) stays a CronJob
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
          executionRoleArn: execution.arn,
          taskRoleArn: args.roleArns[job.role],
          containerDefinitions: containerDefinitions(job, runtime),
          volumes: taskVolumes(job, runtime),
          runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
          tags,
        },
        child,
      ).arn;
    }

    const scheduler = new aws.iam.Role(
      `${name}-scheduler`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { Service: "scheduler.amazonaws.com" }, Action: "sts:AssumeRole" },
          ],
        }),
        tags,
      },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-scheduler-run-tasks`,
      {
        role: scheduler.name,
        policy: pulumi
          .all([
            pulumi.all(Object.values(definitions)),
            execution.arn,
            pulumi.all(Object.values(args.roleArns)),
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
            arn: clusterArn,
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
    return definitions;
  }
}
