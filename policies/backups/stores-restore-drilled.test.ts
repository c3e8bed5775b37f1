import { checkStack } from "../evaluate/harness";
import { storesRestoreDrilled as policy } from "./stores-restore-drilled";
import { cronJob, fargateJob, lancedbStore, redisStore, schedule, sentinels } from "./fixtures";

const stores = () => [redisStore(), sentinels(), lancedbStore("ebs")];
const withoutDrill = () => schedule().filter((j) => j.name !== "schedule-restore-drill");

describe("stores-restore-drilled", () => {
  it("#1 passes with BackupSchedule's restore-drill CronJob (store all)", async () => {
    expect((await checkStack(policy, [...stores(), ...schedule()])).messages).toEqual([]);
  });

  it("#2 reports every store when there is no drill", async () => {
    expect((await checkStack(policy, [...stores(), ...withoutDrill()])).messages).toEqual([
      "Redis store StatefulSet holdfast/redis has no scheduled restore drill in namespace holdfast",
      "LanceDB store StatefulSet holdfast/lancedb has no scheduled restore drill in namespace holdfast",
    ]);
  });

  it("#3 a drill of one store does not cover the other", async () => {
    const redisOnly = cronJob("restore-drill", "redis");
    expect((await checkStack(policy, [...stores(), ...withoutDrill(), redisOnly])).messages).toEqual([
      expect.stringContaining("LanceDB store"),
    ]);
  });

  it("#4 a scheduled Fargate drill covers every store; a LanceDB dataset on S3 needs none", async () => {
    expect(
      (await checkStack(policy, [...stores(), ...withoutDrill(), ...fargateJob("restore-drill")])).messages,
    ).toEqual([]);
    expect((await checkStack(policy, [lancedbStore("s3")])).messages).toEqual([]);
  });
});
