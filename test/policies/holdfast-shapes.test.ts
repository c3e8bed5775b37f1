// The pack is self-contained (the Pulumi CLI installs policies/ on its own), so it repeats the names
// Holdfast's components use for what the policies look for. This test keeps the two in step.
import { JOB_LABEL, STORE_LABEL, jobStore } from "../../components/backup-schedule/cronjob";
import { DEFAULT_DATA_PATH, LEADER_CONDITION_TYPE } from "../../core/lancedb";
import { DATA_NODE_RULES } from "../../components/redis/acl";
import * as stores from "../../policies/lib/stores";
import { lancedbSingleWriter } from "../../policies/lancedb/single-writer";
import { redisNoFlushForClients } from "../../policies/redis/no-flush-for-clients";
import { USERS_ACL } from "../../policies/redis/fixtures";

const schemaDefault = (policy: { configSchema?: { properties: Record<string, unknown> } }, key: string) =>
  (policy.configSchema!.properties[key] as { default: unknown }).default;

describe("the pack's names for Holdfast's shapes", () => {
  it("job and store labels of BackupSchedule's CronJobs", () => {
    expect([stores.JOB_LABEL, stores.STORE_LABEL]).toEqual([JOB_LABEL, STORE_LABEL]);
    for (const job of stores.JOB_NAMES)
      expect(["redis", "lancedb", "all"]).toContain(jobStore({ name: job } as never));
  });

  it("the LanceDB dataset path, the leader readiness gate and the elector's command", () => {
    expect(stores.LANCEDB_DATA_PATHS).toContain(DEFAULT_DATA_PATH);
    expect(schemaDefault(lancedbSingleWriter, "leaderCondition")).toBe(LEADER_CONDITION_TYPE);
    expect(schemaDefault(lancedbSingleWriter, "electionCommand")).toBe("holdfast pod elect lancedb");
  });

  it("the break-glass Redis user is the one admin the flush policy allows by default", () => {
    expect(Object.keys(DATA_NODE_RULES)).toContain("admin");
    expect(schemaDefault(redisNoFlushForClients, "adminUsers")).toEqual(["admin"]);
  });

  it("the Redis policies' Holdfast-shaped ACL file gives the users the rules Holdfast renders", () => {
    for (const role of ["app", "replication", "backup", "admin"] as const)
      expect(USERS_ACL).toMatch(
        new RegExp(`^user ${role} on #[0-9a-f]+ ${DATA_NODE_RULES[role].replace(/[|+?*]/g, "\\$&")}$`, "m"),
      );
  });
});
