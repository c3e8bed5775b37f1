// The parts of the backup store both stores share: ids that sort by time, retention that keeps the
// newest N and then one per day, week and month, and the S3 preflight that turns a wrong bucket, wrong
// keys or an unreachable endpoint into one clear line (against a real s3rver).
import { backupIdAt, backupTime, isBackupId, newBackupId, resolveBackupId } from "./backup-id";
import { applyRetention } from "./retention";
import { checkBucket, s3FromEnv } from "./s3";
import { S3Server } from "../../test/harness/s3";
import { UsageError } from "../cli/errors";

describe("backup ids", () => {
  it("are the start second in UTC, sort by time and parse back", () => {
    const at = new Date("2026-01-15T12:00:00.789Z");
    expect(backupIdAt(at)).toBe("20260115T120000Z");
    expect(backupTime("20260115T120000Z").toISOString()).toBe("2026-01-15T12:00:00.000Z");
    expect(isBackupId("20260115T120000Z")).toBe(true);
    for (const bad of ["2026-01-15", "20261315T120000Z", "latest", "../x", "20260115T120000"])
      expect(isBackupId(bad)).toBe(false);
  });

  it("move to the next free second when one is taken", () => {
    const taken = new Set(["20260115T120000Z", "20260115T120001Z"]);
    expect(newBackupId((id) => taken.has(id), new Date("2026-01-15T12:00:00.500Z"))).toBe("20260115T120002Z");
  });

  it("resolve latest and refuse unknown or malformed ids with a usage error", () => {
    const ids = ["20260101T000000Z", "20260103T000000Z", "20260102T000000Z"];
    expect(resolveBackupId("latest", ids, "b")).toBe("20260103T000000Z");
    expect(resolveBackupId("20260102T000000Z", ids, "b")).toBe("20260102T000000Z");
    expect(() => resolveBackupId("20260104T000000Z", ids, "b")).toThrow(UsageError);
    expect(() => resolveBackupId("yesterday", ids, "b")).toThrow(/not a backup id/);
    expect(() => resolveBackupId("latest", [], "s3://b/p")).toThrow(/there is no backup in s3:\/\/b\/p/);
  });
});

describe("applyRetention", () => {
  const hourly = Array.from({ length: 24 * 100 }, (_, i) => {
    const at = new Date(Date.UTC(2026, 0, 1) + i * 3600_000);
    return { id: backupIdAt(at), at };
  });

  it("keeps the newest N whatever their age", () => {
    const d = applyRetention(hourly, { keepLast: 5, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
    expect([...d.keep.keys()]).toEqual(
      hourly
        .slice(-5)
        .reverse()
        .map((b) => b.id),
    );
    expect(d.drop).toHaveLength(hourly.length - 5);
  });

  it("keeps the newest backup of each of the last days, weeks and months", () => {
    const d = applyRetention(hourly, { keepLast: 1, keepDaily: 7, keepWeekly: 4, keepMonthly: 3 });
    const daily = [...d.keep].filter(([, r]) => r.includes("daily")).map(([id]) => id);
    expect(daily).toHaveLength(7);
    expect(daily.every((id) => id.endsWith("T230000Z"))).toBe(true);
    const monthly = [...d.keep].filter(([, r]) => r.includes("monthly")).map(([id]) => id);
    expect(monthly).toEqual(["20260410T230000Z", "20260331T230000Z", "20260228T230000Z"]);
    expect(d.keep.size + d.drop.length).toBe(hourly.length);
  });

  it("never drops the newest backup, whatever the policy", () => {
    const d = applyRetention(hourly, { keepLast: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
    expect([...d.keep.keys()]).toEqual([hourly[hourly.length - 1].id]);
  });
});

describe("checkBucket", () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await S3Server.start();
    await s3.createBucket("holdfast-backups");
  });
  afterAll(() => s3.cleanup());

  it("accepts a bucket that exists", async () => {
    await expect(checkBucket(s3.client(), "holdfast-backups")).resolves.toBeUndefined();
  });

  it("says in one line what is wrong: a missing bucket, unknown keys, an unreachable endpoint, a bad name", async () => {
    await expect(checkBucket(s3.client(), "no-such-bucket")).rejects.toThrow(
      new UsageError("bucket no-such-bucket does not exist"),
    );
    const wrongKeys = s3FromEnv({ ...s3.env, AWS_ACCESS_KEY_ID: "NOBODY" });
    await expect(checkBucket(wrongKeys, "holdfast-backups")).rejects.toThrow(
      /access to bucket holdfast-backups is denied/,
    );
    const nowhere = s3FromEnv({ ...s3.env, AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1" });
    await expect(checkBucket(nowhere, "holdfast-backups")).rejects.toThrow(/cannot reach the S3 endpoint/);
    await expect(checkBucket(s3.client(), "Bad_Name")).rejects.toThrow(/not a valid bucket name/);
  });
});
