// The jobs push their outcome whether they succeed or fail, and a Pushgateway that is down or refuses
// never turns a good backup into a failed job: the CLI as a process against s3rver and a receiver.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { JOB_METRICS } from "../../core/metrics";
import { holdfast, logLines } from "../backup/cli";
import { freePort } from "../../harness/processes";
import { S3Server } from "../../harness/s3";
import { PushReceiver } from "../support/push-receiver";

const BUCKET = "holdfast-backups";
let s3: S3Server;
let receiver: PushReceiver;
let dir: string;

beforeAll(async () => {
  [s3, receiver] = await Promise.all([S3Server.start(), PushReceiver.start()]);
  await s3.createBucket(BUCKET);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-push-"));
});
afterAll(async () => {
  await Promise.all([s3?.cleanup(), receiver?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  receiver.pushes.length = 0;
  receiver.status = 200;
});

const env = (extra: Record<string, string> = {}) => ({
  ...s3.env,
  HOLDFAST_BUCKET: BUCKET,
  HOLDFAST_PREFIX: "push",
  HOLDFAST_STACK: "dev",
  ...extra,
});

/** An empty LanceDB data directory: a snapshot of it needs no table (--allow-empty). */
function emptyDataDir(name: string): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

test("bad --pushgateway or a missing --stack: one line, exit 2, nothing pushed", async () => {
  const data = emptyDataDir("bad");
  const notUrl = await holdfast(
    ["backup", "lancedb", "--data-dir", data, "--allow-empty", "--pushgateway", "pushgateway:9091"],
    env(),
  );
  expect(notUrl.code).toBe(2);
  expect(notUrl.stderr).toBe(
    'holdfast: --pushgateway must be an http(s) URL such as http://pushgateway:9091, got "pushgateway:9091"\n',
  );
  const noStack = await holdfast(
    ["backup", "redis", "--sentinel", "127.0.0.1:1", "--master-name", "holdfast"],
    env({ HOLDFAST_STACK: "", HOLDFAST_PUSHGATEWAY: receiver.url }),
  );
  expect(noStack.code).toBe(2);
  expect(noStack.stderr).toBe(
    "holdfast: missing --stack (or HOLDFAST_STACK): the metrics pushed to --pushgateway are labelled by stack\n",
  );
  expect(receiver.pushes).toEqual([]);
});

test("a failed backup pushes the time of its failure and keeps its own exit code", async () => {
  const closed = await freePort();
  const before = Date.now() / 1000;
  const redis = await holdfast(
    ["backup", "redis", "--sentinel", `127.0.0.1:${closed}`, "--master-name", "holdfast"],
    env({ HOLDFAST_PUSHGATEWAY: receiver.url }),
  );
  expect(redis.code).toBe(2);
  expect(redis.stderr).toMatch(/holdfast: .*sentinel/i);
  const data = emptyDataDir("failing");
  const lance = await holdfast(
    ["backup", "lancedb", "--data-dir", data, "--bucket", "no-such-bucket"],
    env({ HOLDFAST_PUSHGATEWAY: receiver.url }),
  );
  expect(lance.code).toBe(2);
  expect(lance.stderr).toMatch(/bucket no-such-bucket does not exist/);

  expect(receiver.pushes.map((p) => p.group)).toEqual([
    { job: "holdfast", stack: "dev", store: "redis", database: "holdfast" },
    { job: "holdfast", stack: "dev", store: "lancedb", database: data },
  ]);
  for (const p of receiver.pushes) {
    expect(p.method).toBe("POST");
    expect(Object.keys(p.metrics)).toEqual([JOB_METRICS.backupLastFailure]);
    expect(p.metrics[JOB_METRICS.backupLastFailure]).toBeGreaterThanOrEqual(Math.floor(before));
    expect(p.metrics[JOB_METRICS.backupLastFailure]).toBeLessThanOrEqual(p.receivedAt / 1000);
  }
});

test("a Pushgateway that is down or refuses leaves a good backup good, with a warning", async () => {
  const data = emptyDataDir("good");
  const closed = await freePort();
  const down = await holdfast(
    ["backup", "lancedb", "--data-dir", data, "--allow-empty"],
    env({ HOLDFAST_PUSHGATEWAY: `http://127.0.0.1:${closed}` }),
  );
  expect(down.code).toBe(0);
  const warning = logLines(down.stderr).find((l) => l.level === "warn");
  expect(warning).toMatchObject({
    msg: "the outcome was not pushed to the Pushgateway; the job's result stands",
    stack: "dev",
    store: "lancedb",
    database: data,
  });
  expect(String(warning?.error)).toMatch(new RegExp(`cannot push to http://127.0.0.1:${closed}`));

  receiver.status = 400;
  const refused = await holdfast(
    ["backup", "lancedb", "--data-dir", data, "--allow-empty"],
    env({ HOLDFAST_PUSHGATEWAY: receiver.url }),
  );
  expect(refused.code).toBe(0);
  expect(logLines(refused.stderr).find((l) => l.level === "warn")?.error).toBe(
    "the Pushgateway answered 400 refused by the test",
  );
  // What it tried to push: a success with duration, size, bytes sent and rows (an empty snapshot: 0).
  expect(receiver.pushes).toHaveLength(1);
  expect(receiver.pushes[0].metrics).toEqual({
    [JOB_METRICS.backupLastSuccess]: expect.any(Number),
    [JOB_METRICS.backupDuration]: expect.any(Number),
    [JOB_METRICS.backupSize]: 0,
    [JOB_METRICS.backupUploaded]: 0,
    [JOB_METRICS.backupKeys]: 0,
  });
});

test("a failed drill pushes its failure under the database its backup names", async () => {
  const data = emptyDataDir("drilled");
  const backup = await holdfast(["backup", "lancedb", "--data-dir", data, "--allow-empty"], env());
  expect(backup.code).toBe(0);
  await new Promise((r) => setTimeout(r, 1100));
  // The newest backup is older than --max-age: the drill fails, and says so to the Pushgateway.
  const drill = await holdfast(
    ["drill", "--store", "lancedb", "--max-age", "1s", "--scratch-dir", dir],
    env({ HOLDFAST_PUSHGATEWAY: receiver.url }),
  );
  expect(drill.stdout).toMatch(/FAILED/);
  expect(drill.code).toBe(1);
  expect(receiver.pushes.map((p) => [p.group, Object.keys(p.metrics)])).toEqual([
    [{ job: "holdfast", stack: "dev", store: "lancedb", database: data }, [JOB_METRICS.drillLastFailure]],
  ]);
});
