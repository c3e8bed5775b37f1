import { UNKNOWN, checkStack, clone } from "../evaluate/harness";
import type { Fixture } from "../evaluate/harness";
import { storesBackupScheduled as policy } from "./stores-backup-scheduled";
import { cronJob, fargateJob, lancedbStore, redisStore, schedule, sentinels } from "./fixtures";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const stores = (): Fixture[] => [redisStore(), sentinels(), lancedbStore("ebs")];
const jobs = (skip: string) => schedule().filter((j) => j.name !== `schedule-${skip}`);

describe("stores-backup-scheduled", () => {
  it("#1 passes Holdfast's Redis set and LanceDB store with BackupSchedule's CronJobs (sentinels are not a store)", async () => {
    expect((await checkStack(policy, [...stores(), ...schedule()])).messages).toEqual([]);
  });

  it("#2 reports a Redis store without a redis-backup job", async () => {
    const { violations } = await checkStack(policy, [...stores(), ...jobs("redis-backup")]);
    expect(violations.map((v) => v.message)).toEqual([
      "Redis store StatefulSet holdfast/redis has no scheduled redis-backup job in namespace holdfast",
    ]);
    expect(violations[0].urn).toMatch(/::redis-data$/);
  });

  it("#3 reports a LanceDB store on a volume without a lancedb-backup job, not one on S3", async () => {
    expect((await checkStack(policy, [...stores(), ...jobs("lancedb-backup")])).messages).toEqual([
      "LanceDB store StatefulSet holdfast/lancedb has no scheduled lancedb-backup job in namespace holdfast",
    ]);
    expect(
      (await checkStack(policy, [redisStore(), lancedbStore("s3"), ...jobs("lancedb-backup")])).messages,
    ).toEqual([]);
  });

  it("#4 does not count a CronJob of another namespace, or a suspended one", async () => {
    const elsewhere = [...jobs("redis-backup"), cronJob("redis-backup", "redis", "other")];
    expect((await checkStack(policy, [...stores(), ...elsewhere])).messages).toHaveLength(1);
    const suspended = cronJob("redis-backup", "redis");
    (suspended.props.spec as Props).suspend = true;
    expect(
      (await checkStack(policy, [...stores(), ...jobs("redis-backup"), suspended])).messages,
    ).toHaveLength(1);
  });

  it("#5 counts an unlabelled CronJob that runs `holdfast backup redis`", async () => {
    const own = clone(cronJob("redis-backup", "redis"));
    own.props.metadata = { name: "nightly", namespace: "holdfast" };
    delete (own.props.spec as Props).jobTemplate.metadata;
    delete (own.props.spec as Props).jobTemplate.spec.template.metadata;
    expect((await checkStack(policy, [...stores(), ...jobs("redis-backup"), own])).messages).toEqual([]);
  });

  it("#6 counts a scheduled Fargate task, not an unscheduled one; an unknown link is advisory during preview", async () => {
    const [task, sched] = fargateJob("lancedb-backup");
    expect(
      (await checkStack(policy, [...stores(), ...jobs("lancedb-backup"), task, sched])).messages,
    ).toEqual([]);
    expect((await checkStack(policy, [...stores(), ...jobs("lancedb-backup"), task])).messages).toHaveLength(
      1,
    );
    (sched.props.target as Props).ecsParameters.taskDefinitionArn = UNKNOWN;
    const { violations } = await checkStack(policy, [...stores(), ...jobs("lancedb-backup"), task, sched]);
    expect(violations).toEqual([expect.objectContaining({ unknown: true, enforcementLevel: "advisory" })]);
    sched.propertyDependencies = { target: [task.name!] };
    expect(
      (await checkStack(policy, [...stores(), ...jobs("lancedb-backup"), task, sched])).messages,
    ).toEqual([]);
  });

  it("#7 ElastiCache is covered by its own snapshots; a Helm Redis needs a job", async () => {
    const group = (days: number): Fixture => ({
      type: "aws:elasticache/replicationGroup:ReplicationGroup",
      name: "cache",
      props: { engine: "redis", snapshotRetentionLimit: days },
    });
    expect((await checkStack(policy, [group(7)])).messages).toEqual([]);
    expect((await checkStack(policy, [group(0)])).messages).toEqual([
      "Redis store ElastiCache replication group has no scheduled redis-backup job and keeps no automatic snapshots",
    ]);
    const helm = {
      type: "kubernetes:helm.sh/v3:Release",
      name: "redis",
      props: { chart: "bitnami/redis", namespace: "apps" },
    };
    expect((await checkStack(policy, [helm])).messages).toEqual([
      "Redis store Helm release of bitnami/redis has no scheduled redis-backup job in namespace apps",
    ]);
  });
});
