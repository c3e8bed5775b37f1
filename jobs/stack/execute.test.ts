// What the executor reads from a Job's log: the failure a holdfast command reported, and where a volume
// Job moved the previous content; the progress record it keeps on the StatefulSet; and how the actions
// of one group run (together, and a failure waits for the others before it stops the run).
import { UsageError } from "../cli/errors";
import { asideFromLog, executePlan, failureLines, RunFailed, timingsFromLog } from "./execute";
import type { StackKube } from "./kube";
import type { Plan } from "./plan";
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

test("what a volume Job says of its own time: the Redis restore's --json result, the LanceDB restore's log line", () => {
  expect(
    timingsFromLog(
      '{"msg":"x"}\n{"id":"X","asideDir":null,"timings":{"downloadMs":1200,"verifyMs":800,"placeMs":30,"totalMs":2100}}',
    ),
  ).toBe("own work 2.1s (download 1.2s, verify 0.8s, place 0.0s)");
  expect(
    timingsFromLog(
      '{"level":"info","msg":"snapshot restored","aside":"/d/a","timings":{"recordMs":100,"downloadMs":3000,"verifyMs":1500,"placeMs":10,"totalMs":4610}}',
    ),
  ).toBe("own work 4.6s (record 0.1s, download 3.0s, verify 1.5s, place 0.0s)");
  expect(timingsFromLog('{"msg":"moved nothing"}')).toBeUndefined();
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

test("a group's actions run at once, and a failure stops the run only once every one of them has ended", async () => {
  const events: string[] = [];
  const started = new Map<string, number>();
  const kube = {
    namespace: "holdfast",
    pollMs: 10,
    async scale(name: string) {
      started.set(name, Date.now());
      events.push(`scale ${name}`);
      if (name === "broken") throw new Error("refused");
    },
    async waitForPods(name: string) {
      await new Promise((r) => setTimeout(r, 150));
      events.push(`ready ${name}`);
      return [{ name: `${name}-0`, phase: "Running", ready: true }];
    },
  } as unknown as StackKube;
  const scale = (statefulSet: string, group?: string) => ({
    key: `scale-up:${statefulSet}`,
    kind: "scale" as const,
    statefulSet,
    from: 0,
    replicas: 1,
    does: `scale ${statefulSet}`,
    ...(group ? { group } : {}),
  });
  const plan = (actions: Plan["steps"][0]["actions"]): Plan => ({
    operation: "restore redis",
    stack: "dev",
    namespace: "holdfast",
    context: "",
    image: "x",
    backup: { id: "X", requested: "X", reason: "r", completedAt: "", items: 0, sizeBytes: 0 },
    checked: [],
    warnings: [],
    steps: [{ n: 5, title: "bring back and verify", actions }],
  });
  const run = (actions: Plan["steps"][0]["actions"]) =>
    executePlan({
      kube,
      plan: plan(actions),
      store: "redis",
      listBackups: async () => [],
      jobTimeoutMs: 1000,
      readyTimeoutMs: 1000,
      backupTimeoutMs: 1000,
    });

  const out = await run([scale("redis-sentinel", "up"), scale("redis", "up"), scale("after")]);
  // Both of the group started before either was ready; the next action only after both.
  expect(Math.abs(started.get("redis")! - started.get("redis-sentinel")!)).toBeLessThan(100);
  expect(events.slice(0, 2).sort()).toEqual(["scale redis", "scale redis-sentinel"]);
  expect(events.indexOf("scale after")).toBeGreaterThan(events.indexOf("ready redis"));
  expect(out.actions.map((a) => a.key)).toEqual([
    "scale-up:redis-sentinel",
    "scale-up:redis",
    "scale-up:after",
  ]);

  events.length = 0;
  const failed = await run([scale("broken", "up"), scale("slow", "up"), scale("never")]).catch((e) => e);
  expect(failed).toBeInstanceOf(RunFailed);
  expect((failed as RunFailed).action.key).toBe("scale-up:broken");
  // The other action of the group finished (and is reported) before the run stopped; nothing after it ran.
  expect(events).toEqual(["scale broken", "scale slow", "ready slow"]);
  expect((failed as RunFailed).outcome.actions.map((a) => a.key)).toEqual(["scale-up:slow"]);
});
