// The order Jest starts test files in (jest.config.js `testSequencer`): the longest first, so the two
// workers of `npm test` finish together instead of one running a four-minute file alone at the end.
// Jest orders by the durations it cached from the previous run on this machine; a fresh clone (CI) has
// none, and Jest then orders by file size, which started the sandbox's short run (84 lines, about four
// minutes) among the last. So each file's expected time is Jest's own record when there is one, else
// the seconds below; a file that failed last time still goes first (Jest's rule), and a file neither
// knows goes after the listed ones, largest first.
const path = require("path");
const Sequencer = require("@jest/test-sequencer").default;

/**
 * Seconds each test file of five seconds or more took in a full `npm test` on a two-core machine (Jest,
 * two workers, Redis 7). Only the order matters: a new file that takes more than a few seconds gets its
 * line here (`npx jest --verbose path` prints its time).
 */
const SECONDS = {
  "test/sandbox.test.ts": 239,
  "test/backup/faults.test.ts": 146,
  "test/stack/redis-restore.test.ts": 129,
  "test/backup/catalogue.test.ts": 99,
  "test/stack/redis-point-restore.test.ts": 71,
  "test/doctor/doctor.test.ts": 64,
  "test/redis/startup.test.ts": 62,
  "test/backup/round-trip.test.ts": 58,
  "test/stack/stack-commands.test.ts": 55,
  "test/redis/persistence.test.ts": 53,
  "test/backup/no-hang.test.ts": 48,
  "test/lancedb/catalogue.test.ts": 46,
  "test/redis-stream/follow.test.ts": 44,
  "test/redis-stream/protection-checks.test.ts": 42,
  "test/backup/serving-restore.test.ts": 37,
  "test/redis/access.test.ts": 34,
  "jobs/schedule/trigger.test.ts": 33,
  "test/redis/handover.test.ts": 31,
  "test/backup/rdb-defects.test.ts": 31,
  "test/schedule/declared-jobs-run.test.ts": 31,
  "test/redis/failover.test.ts": 31,
  "components/monitoring/promtool.test.ts": 30,
  "test/redis-stream/point-in-time.test.ts": 30,
  "test/lancedb/faults.test.ts": 27,
  "test/redis/busy-script.test.ts": 25,
  "test/lancedb/backup-restore.test.ts": 25,
  "components/library.test.ts": 23,
  "test/stack.test.ts": 22,
  "test/policies/evaluate.test.ts": 20,
  "test/stack/lancedb-restore.test.ts": 17,
  "test/lancedb/concurrent.test.ts": 17,
  "test/schedule/push-outcome.test.ts": 15,
  "test/lancedb/prune.test.ts": 14,
  "jobs/redis-backup/transfer/upload.test.ts": 13,
  "test/redis-stream/segment-writer.test.ts": 13,
  "components/jobs-image/dockerfile.test.ts": 13,
  "jobs/redis-backup/replication/stream.test.ts": 11,
  "jobs/lancedb/leader/sidecar.test.ts": 10,
  "components/backup-bucket/backup-bucket.test.ts": 9,
  "components/monitoring/dashboard.test.ts": 8,
  "components/lancedb/lancedb-store.test.ts": 8,
  "components/backup-schedule/backup-schedule.test.ts": 7,
  "jobs/lancedb/leader/commands.test.ts": 7,
  "components/continuous-backup/continuous-backup.test.ts": 7,
  "components/monitoring/alerts.test.ts": 6,
  "components/jobs-image/jobs-image.test.ts": 6,
  "components/components.test.ts": 6,
  "jobs/cli/cli.test.ts": 5,
  "components/redis/sentinel-redis.test.ts": 5,
};

/**
 * Orders test files: failed last time first, then by expected milliseconds (Jest's record, else
 * SECONDS), longest first, then the files neither knows, largest first.
 * @param files `{ rel, ms, failed, size }`: the path from the root, Jest's record (or undefined),
 *   whether it failed last time, its size in bytes
 * @returns the same objects, in the order to start them
 */
function order(files) {
  const expected = (f) => f.ms ?? (SECONDS[f.rel] === undefined ? undefined : SECONDS[f.rel] * 1000);
  const rank = (f) => [f.failed ? 0 : 1, expected(f) === undefined ? 1 : 0, -(expected(f) ?? f.size)];
  return [...files].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0;
  });
}

/** Jest's sequencer with the order above. */
class LongestFirst extends Sequencer {
  sort(tests) {
    const files = tests.map((test) => ({
      test,
      rel: path.relative(test.context.config.rootDir, test.path).split(path.sep).join("/"),
      ms: this.time(test) || undefined,
      failed: this.hasFailed(test),
      size: test.context.hasteFS.getSize(test.path) ?? 0,
    }));
    return order(files).map((f) => f.test);
  }
}

module.exports = LongestFirst;
module.exports.order = order;
module.exports.SECONDS = SECONDS;
