// The scheduled jobs as the dev and prod stacks render them: CronJobs on the configured schedules with
// the limits a backup job needs, least-privilege IRSA service accounts, the LanceDB volume read in
// place, and the same jobs on ECS Fargate when that runtime is on.
import { findObject, findResource, resourcesOfType, stackRun, OfflineRun } from "../../test/support/stack";
import { eventBridgeCron } from "./cron";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const JOBS = ["redis-backup", "lancedb-backup", "prune", "restore-drill"];
const env = (c: Obj) =>
  Object.fromEntries(
    (c.env as Obj[]).map((e) => [e.name, e.value ?? `secret:${e.valueFrom.secretKeyRef.key}`]),
  );
const container = (cj: Obj) => cj.spec.jobTemplate.spec.template.spec.containers[0];

describe.each([
  ["dev", { redisBackup: "0 2 * * *", drill: "0 4 1 * *", keepLast: "7", pushgateway: undefined }],
  [
    "prod",
    {
      redisBackup: "0 */6 * * *",
      drill: "0 4 * * 0",
      keepLast: "28",
      pushgateway: "http://prometheus-pushgateway.monitoring.svc.cluster.local:9091",
    },
  ],
])("the %s stack's schedules", (stack, expected) => {
  let run: OfflineRun;
  beforeAll(async () => {
    run = await stackRun(stack);
  });

  it("has a CronJob per job on the configured schedules, never two runs at once, bounded in time and retries", () => {
    const cronJobs = JOBS.map((j) => findObject(run, "CronJob", j) as Obj);
    expect(cronJobs[0].spec.schedule).toBe(expected.redisBackup);
    expect(cronJobs[3].spec.schedule).toBe(expected.drill);
    for (const cj of cronJobs) {
      expect(cj.spec).toMatchObject({
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
        timeZone: "Etc/UTC",
      });
      expect(cj.spec.jobTemplate.spec.backoffLimit).toBe(2);
      expect(cj.spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThanOrEqual(3600);
      const pod = cj.spec.jobTemplate.spec.template.spec;
      expect(pod.restartPolicy).toBe("Never");
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      const c = container(cj);
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
      expect(c.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
      expect(c.resources.limits.memory).toBeDefined();
      expect(c.command[0]).toBe("holdfast");
      expect(env(c).HOLDFAST_STACK).toBe(stack);
      expect(env(c).HOLDFAST_PUSHGATEWAY).toBe(expected.pushgateway);
    }
  });

  it("runs each job as its role: backup writes, prune deletes, the drill only reads", () => {
    const sa = (j: string) =>
      (findObject(run, "CronJob", j) as Obj).spec.jobTemplate.spec.template.spec.serviceAccountName;
    expect([sa("redis-backup"), sa("lancedb-backup"), sa("prune"), sa("restore-drill")]).toEqual([
      "holdfast-backup",
      "holdfast-backup",
      "holdfast-prune",
      "holdfast-restore",
    ]);
    for (const role of ["backup", "prune", "restore"]) {
      const account = findObject(run, "ServiceAccount", `holdfast-${role}`) as Obj;
      expect(account.metadata.annotations["eks.amazonaws.com/role-arn"]).toMatch(
        new RegExp(`^arn:aws:iam:.*:backups-${role}-role$`),
      );
      expect(account.automountServiceAccountToken).toBe(false);
    }
    expect(
      resourcesOfType(run, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").map(
        (r) => r.inputs.subjects?.[0]?.name,
      ),
    ).not.toContain("holdfast-backup");
  });

  it("backs Redis up through the sentinels as the backup user, with the configured patterns", () => {
    const e = env(container(findObject(run, "CronJob", "redis-backup") as Obj));
    expect(e).toMatchObject({
      HOLDFAST_MASTER_NAME: "holdfast",
      HOLDFAST_PATTERN: "*:emotives:*,*:metadata:*",
      HOLDFAST_REASON: "scheduled",
      REDIS_USERNAME: "backup",
      REDIS_PASSWORD: "secret:backup-password",
      SENTINEL_USERNAME: "discovery",
    });
    expect(e.HOLDFAST_SENTINEL.split(",")).toHaveLength(3);
  });

  it("reads the LanceDB dataset in place, read-only, as the application's user, without re-owning it", () => {
    const cj = findObject(run, "CronJob", "lancedb-backup") as Obj;
    const pod = cj.spec.jobTemplate.spec.template.spec;
    expect(container(cj).volumeMounts).toContainEqual({
      name: "lancedb",
      mountPath: "/app/lancedb_data",
      readOnly: true,
    });
    const volume = pod.volumes.find((v: Obj) => v.name === "lancedb");
    expect(volume.persistentVolumeClaim.readOnly).toBe(true);
    expect(pod.securityContext.runAsUser).toBe(1000);
    expect(pod.securityContext.fsGroup).toBeUndefined();
    if (stack === "dev") {
      // ebs: the volume is attached to the application's node, so the job runs there.
      expect(volume.persistentVolumeClaim.claimName).toBe("data-lancedb-0");
      expect(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe(
        "kubernetes.io/hostname",
      );
    } else {
      expect(pod.affinity).toBeUndefined();
    }
  });

  it("prunes with the configured retention and drills into scratch space as big as a data volume", () => {
    expect(env(container(findObject(run, "CronJob", "prune") as Obj)).HOLDFAST_KEEP_LAST).toBe(
      expected.keepLast,
    );
    const drill = findObject(run, "CronJob", "restore-drill") as Obj;
    const scratch = drill.spec.jobTemplate.spec.template.spec.volumes.find((v: Obj) => v.name === "scratch");
    expect(scratch.emptyDir.sizeLimit).toBe(stack === "dev" ? "2Gi" : "50Gi");
    // The whole dataset in a throw-away Redis, and a LanceDB table scan: the data pod's memory and more.
    expect(container(drill).resources.limits.memory).toBe(stack === "dev" ? "1024Mi" : "10240Mi");
  });
});

describe("schedule config", () => {
  it("moves with the stack config", async () => {
    const run = await stackRun("dev", {
      "holdfast:pruneSchedule": "15 3 * * 1",
      "holdfast:retentionKeepDaily": 14,
      "holdfast:backupPatterns": ["kb:*"],
    });
    const prune = findObject(run, "CronJob", "prune") as Obj;
    expect(prune.spec.schedule).toBe("15 3 * * 1");
    expect(env(container(prune)).HOLDFAST_KEEP_DAILY).toBe("14");
    expect(env(container(findObject(run, "CronJob", "redis-backup") as Obj)).HOLDFAST_PATTERN).toBe("kb:*");
  });

  it("gives a dataset on S3 no volume backup", async () => {
    const run = await stackRun("dev", { "holdfast:lancedbMode": "s3" });
    const names = run.resources
      .filter((r) => r.type === "kubernetes:batch/v1:CronJob")
      .map((r) => r.inputs.metadata.name);
    expect(names.sort()).toEqual(["prune", "redis-backup", "restore-drill"]);
  });

  it("refuses a schedule that is not five cron fields", async () => {
    await expect(stackRun("dev", { "holdfast:drillSchedule": "@monthly" })).rejects.toThrow(
      /drillSchedule must be a five-field cron schedule/,
    );
  });
});

describe("the Fargate runtime", () => {
  let run: OfflineRun;
  beforeAll(async () => {
    run = await stackRun("prod", {
      "holdfast:fargateBackups": true,
      "holdfast:fargateSubnetIds": ["subnet-1", "subnet-2"],
      "holdfast:fargateSecurityGroupIds": ["sg-1"],
    });
  });

  it("runs the jobs that need no Kubernetes secret as Fargate tasks with the CronJobs' command and environment", () => {
    const tasks = resourcesOfType(run, "aws:ecs/taskDefinition:TaskDefinition");
    expect(tasks.map((t) => t.inputs.family).sort()).toEqual([
      "holdfast-prod-lancedb-backup",
      "holdfast-prod-prune",
      "holdfast-prod-restore-drill",
    ]);
    for (const task of tasks) {
      const job = task.inputs.family.replace("holdfast-prod-", "");
      const [def] = JSON.parse(task.inputs.containerDefinitions);
      const cron = container(findObject(run, "CronJob", job) as Obj);
      expect([...def.entryPoint, ...def.command]).toEqual(cron.command);
      expect(Object.fromEntries(def.environment.map((e: Obj) => [e.name, e.value]))).toEqual(env(cron));
      expect(def.readonlyRootFilesystem).toBe(true);
      expect(def.logConfiguration.options["awslogs-group"]).toBe("/holdfast/prod/jobs");
      expect(task.inputs.requiresCompatibilities).toEqual(["FARGATE"]);
    }
    const backup = tasks.find((t) => t.inputs.family.endsWith("lancedb-backup"))!;
    const efs = backup.inputs.volumes.find((v: Obj) => v.name === "lancedb").efsVolumeConfiguration;
    expect(efs.transitEncryption).toBe("ENABLED");
    expect(JSON.parse(backup.inputs.containerDefinitions)[0].mountPoints).toContainEqual({
      sourceVolume: "lancedb",
      containerPath: "/app/lancedb_data",
      readOnly: true,
    });
  });

  it("schedules them with EventBridge Scheduler on the same schedules, in the stack's subnets", () => {
    const schedules = resourcesOfType(run, "aws:scheduler/schedule:Schedule");
    expect(schedules).toHaveLength(3);
    const drill = schedules.find((s) => s.inputs.name === "holdfast-prod-restore-drill")!;
    expect(drill.inputs.scheduleExpression).toBe("cron(0 4 ? * SUN *)");
    expect(drill.inputs.target.ecsParameters.networkConfiguration).toEqual({
      subnets: ["subnet-1", "subnet-2"],
      securityGroups: ["sg-1"],
      assignPublicIp: false,
    });
    const passRole = JSON.parse(
      findResource(run, "aws:iam/rolePolicy:RolePolicy", "schedule-scheduler-run-tasks").inputs.policy,
    );
    expect(passRole.Statement.map((s: Obj) => s.Action)).toEqual(["ecs:RunTask", "iam:PassRole"]);
    expect(
      findResource(run, "aws:cloudwatch/logGroup:LogGroup", "schedule-logs").inputs.retentionInDays,
    ).toBe(30);
  });

  it("is off unless configured", async () => {
    expect(resourcesOfType(await stackRun("prod"), "aws:ecs/taskDefinition:TaskDefinition")).toEqual([]);
  });
});

describe("eventBridgeCron", () => {
  it("turns five cron fields into EventBridge's six, with ? and weekday names", () => {
    expect(eventBridgeCron("0 2 * * *")).toBe("cron(0 2 * * ? *)");
    expect(eventBridgeCron("0 */6 * * *")).toBe("cron(0 */6 * * ? *)");
    expect(eventBridgeCron("0 4 1 * *")).toBe("cron(0 4 1 * ? *)");
    expect(eventBridgeCron("0 4 * * 0")).toBe("cron(0 4 ? * SUN *)");
    expect(eventBridgeCron("30 1 * * 1-5")).toBe("cron(30 1 ? * MON-FRI *)");
    expect(eventBridgeCron("0 0 * * 6,7")).toBe("cron(0 0 ? * SAT,SUN *)");
  });

  it("refuses what EventBridge cannot express", () => {
    expect(() => eventBridgeCron("0 4 1 * 1")).toThrow(/both day of month and day of week/);
    expect(() => eventBridgeCron("@daily")).toThrow(/five-field/);
  });
});
