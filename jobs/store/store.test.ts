// The parts of the backup store both stores share: ids that sort by time and never repeat, the
// catalogue's decisions (latest, a damaged backup asked for, retention of committed backups only),
// retention that keeps the newest N and then one per day, week and month, and the S3 preflight that
// turns a wrong bucket, wrong keys or an unreachable endpoint into one clear line (against a real s3rver).
import { backupIdAt, backupTime, compareBackupIds, isBackupId, newBackupId, notABackupId } from "./backup-id";
import { catalogOf, DamagedBackupRefused, resolveBackup, retentionOf, type BackupSummary } from "./catalog";
import { applyRetention } from "./retention";
import { checkBucket, s3FromEnv } from "./s3";
import { S3Server } from "../../harness/s3";
import { UsageError } from "../cli/errors";

describe("backup ids", () => {
  it("are the start time to the millisecond and a random suffix; they sort by time and parse back", () => {
    const at = new Date("2026-01-15T12:00:00.789Z");
    expect(newBackupId(at, "7f3a9c")).toBe("20260115T120000.789Z-7f3a9c");
    expect(backupTime("20260115T120000.789Z-7f3a9c").toISOString()).toBe("2026-01-15T12:00:00.789Z");
    expect(newBackupId(at)).toMatch(/^20260115T120000\.789Z-[0-9a-f]{6}$/);
    for (const bad of [
      "2026-01-15",
      "20261315T120000Z",
      "latest",
      "../x",
      "20260115T120000",
      "20260230T120000Z",
    ])
      expect(isBackupId(bad)).toBe(false);
    for (const bad of ["20260115T120000.78Z-7f3a9c", "20260115T120000.789Z", "20260115T120000.789Z-7F3A9C"])
      expect(isBackupId(bad)).toBe(false);
  });

  it("of the second-only form that earlier versions wrote stay valid, and sort among the new ones by time", () => {
    expect(backupIdAt(new Date("2026-01-15T12:00:00.789Z"))).toBe("20260115T120000Z");
    expect(isBackupId("20260115T120000Z")).toBe(true);
    expect(backupTime("20260115T120000Z").toISOString()).toBe("2026-01-15T12:00:00.000Z");
    const ids = [
      "20260115T120001Z",
      "20260115T120000.500Z-000001",
      "20260115T120000Z",
      "20260115T115959.999Z-ffffff",
    ];
    expect([...ids].sort(compareBackupIds)).toEqual([
      "20260115T115959.999Z-ffffff",
      "20260115T120000Z",
      "20260115T120000.500Z-000001",
      "20260115T120001Z",
    ]);
  });

  it("started in the same millisecond differ (24 random bits: no listing needed)", () => {
    const at = new Date();
    const ids = new Set(Array.from({ length: 1000 }, () => newBackupId(at)));
    expect(ids.size).toBe(1000);
  });

  it("refused in a message show control characters escaped, never raw", () => {
    expect(notABackupId("2026\u001b[31mred\n\u007f").message).toBe(
      '"2026\\u001b[31mred\\n\\u007f" is not a backup id (expected the form 20260115T120000.123Z-7f3a9c, or latest)',
    );
  });
});

describe("the catalogue", () => {
  const b = (id: string, reason = "scheduled"): BackupSummary => ({
    store: "redis",
    id,
    reason,
    completedAt: "",
    sizeBytes: 1,
    items: 1,
  });
  const catalog = catalogOf(
    "redis",
    "s3://b/p/redis/",
    [b("20260101T000000Z"), b("20260103T000000Z"), b("20260102T000000.000Z-0a0b0c")],
    [
      {
        store: "redis",
        id: "20260104T000000Z",
        problem: "the manifest of backup 20260104T000000Z is not valid JSON",
      },
    ],
  );

  it("resolves latest to the newest committed backup, never a newer damaged one", () => {
    expect(catalog.committed.map((x) => x.id)).toEqual([
      "20260103T000000Z",
      "20260102T000000.000Z-0a0b0c",
      "20260101T000000Z",
    ]);
    expect(resolveBackup(catalog, "latest").id).toBe("20260103T000000Z");
    expect(resolveBackup(catalog, " 20260102T000000.000Z-0a0b0c ").id).toBe("20260102T000000.000Z-0a0b0c");
  });

  it("refuses a damaged backup asked for by id as damaged (exit 1), an unknown or malformed one as bad input", () => {
    expect(() => resolveBackup(catalog, "20260104T000000Z")).toThrow(DamagedBackupRefused);
    expect(() => resolveBackup(catalog, "20260104T000000Z")).toThrow(
      "backup 20260104T000000Z is damaged: the manifest of backup 20260104T000000Z is not valid JSON",
    );
    expect(() => resolveBackup(catalog, "20260105T000000Z")).toThrow(
      new UsageError("no backup 20260105T000000Z in s3://b/p/redis/"),
    );
    expect(() => resolveBackup(catalog, "yesterday")).toThrow(/not a backup id/);
    expect(() => resolveBackup({ ...catalog, committed: [] }, "latest")).toThrow(
      new UsageError("there is no backup in s3://b/p/redis/"),
    );
  });

  it("applies retention to committed backups only: a damaged one is neither kept nor dropped", () => {
    const d = retentionOf(catalog, { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
    expect([...d.keep.keys()]).toEqual(["20260103T000000Z"]);
    expect(d.drop.sort()).toEqual(["20260101T000000Z", "20260102T000000.000Z-0a0b0c"]);
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
