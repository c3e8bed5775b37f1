// What the executor reads from a Job's log: the failure a holdfast command reported, and where a volume
// Job moved the previous content; and the progress record it keeps on the StatefulSet.
import { UsageError } from "../cli/errors";
import { asideFromLog, failureLines } from "./execute";
import { readRecord, RESTORE_ANNOTATION, serializeRecord, withDone, type RestoreRecord } from "./record";

test("a failed command's own lines, else its last error log line", () => {
  expect(
    failureLines(
      [
        '{"level":"info","msg":"downloading"}',
        "holdfast: the restored dataset of backup X does not match its manifest: DBSIZE db0 1 (backup: 2)",
        "holdfast: /data was not touched.",
      ].join("\n"),
    ),
  ).toBe(
    "holdfast: the restored dataset of backup X does not match its manifest: DBSIZE db0 1 (backup: 2) holdfast: /data was not touched.",
  );
  expect(failureLines('{"level":"info","msg":"a"}\n{"level":"error","msg":"S3 went away"}\nKilled')).toBe(
    "S3 went away",
  );
  expect(failureLines("")).toBe("");
});

test("where the previous content went: a --json result, or the LanceDB restore's log line", () => {
  expect(
    asideFromLog(
      '{"msg":"x"}\n{"dir":"/data","asideDir":"/data/holdfast-aside/T-pre-restore","moved":["dump.rdb"]}',
    ),
  ).toBe("/data/holdfast-aside/T-pre-restore");
  expect(asideFromLog('{"id":"X","asideDir":null}')).toBeUndefined();
  expect(
    asideFromLog(
      '{"level":"info","msg":"snapshot restored","aside":"/app/lancedb_data/holdfast-aside/T-restore-X"}',
    ),
  ).toBe("/app/lancedb_data/holdfast-aside/T-restore-X");
  expect(asideFromLog("moved nothing")).toBeUndefined();
});

test("the progress record: written, read back, refused when it is not ours", () => {
  const r: RestoreRecord = {
    version: 1,
    store: "redis",
    backup: "20260115T120000Z",
    startedAt: "2026-01-16T08:00:00.000Z",
    replicas: { redis: 3 },
    done: [],
  };
  const done = withDone(withDone(r, "scale-down:redis"), "scale-down:redis");
  expect(done.done).toEqual(["scale-down:redis"]);
  expect(readRecord({ [RESTORE_ANNOTATION]: serializeRecord(done) }, "redis")).toEqual(done);
  expect(readRecord({}, "redis")).toBeUndefined();
  expect(() => readRecord({ [RESTORE_ANNOTATION]: "step 3" }, "redis")).toThrow(UsageError);
});
