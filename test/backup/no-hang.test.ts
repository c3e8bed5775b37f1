// Nothing a backup or a restore starts may hang or outlive it, with real processes: the Sentinel set of the
// harness, s3rver on loopback, the CLI as a subprocess.
// - S3 frozen (SIGSTOP) in the middle of a backup's upload or of a restore's download: the command ends
//   within a bound set by --s3-timeout, exit 1, saying what state things are in; no manifest is written and
//   the data directory is not touched.
// - A restore killed with SIGKILL while its throw-away redis-server holds the dataset: that server ends
//   within seconds (it does not keep replicating from a dead port), and a re-run restores.
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RedisSet } from "../../harness/redis-set";
import { waitFor } from "../../harness/processes";
import { listObjects } from "../../jobs/store/s3";
import { BUCKET, type CliResult, cronEnv, holdfast, jsonError, logLines, startHoldfast } from "./cli";
import { treeDigest } from "./files";
import { S3Server } from "../../harness/s3";

jest.setTimeout(240_000);

const MiB = 1024 * 1024;
const PREFIX = "no-hang";
/**
 * The S3 timeout the runs get, and how long a run may take to give up once S3 froze: three silent
 * attempts of the request, the abort of the upload (one timeout), and a few seconds of margin.
 */
const S3_TIMEOUT_S = 2;
const BOUND_MS = 5 * S3_TIMEOUT_S * 1000 + 5000;

let set: RedisSet;
let s3: S3Server;
let work: string;
let backupId: string;

beforeAll(async () => {
  [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  await s3.createBucket(BUCKET);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-no-hang-"));
  const admin = set.connect(await set.waitForHealthy(), "admin");
  await admin.connect();
  // About 24 MB of incompressible values: several upload parts, and a download long enough to stop.
  for (let i = 0; i < 240; i += 40) {
    const p = admin.pipeline();
    for (let j = i; j < i + 40; j++) p.set(`kb${j % 5}:emotives:${j}`, randomBytes(100_000));
    await p.exec();
  }
  await admin.call("WAIT", "2", "20000");
  const r = await holdfast(["backup", "redis", "--json"], env());
  expect(r.code).toBe(0);
  backupId = JSON.parse(r.stdout).id;
});

afterAll(async () => {
  await Promise.all([set?.cleanup(), s3?.cleanup()]);
  if (work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(work, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}) {
  return cronEnv(set, s3.env, PREFIX, { HOLDFAST_S3_TIMEOUT: `${S3_TIMEOUT_S}s`, ...extra });
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listObjects(s3.client(), BUCKET, prefix)) keys.push(o.key);
  return keys.sort();
}

/** Waits for a run to end, at most `ms`; a run still going then is killed and reported as hung. */
async function endsWithin(
  run: ReturnType<typeof startHoldfast>,
  ms: number,
): Promise<CliResult & { ms: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), ms)));
  const outcome = await Promise.race([run.done, hung]);
  clearTimeout(timer);
  if (outcome === "hung") {
    run.child.kill("SIGKILL");
    const r = await run.done;
    return {
      ...r,
      code: -1,
      stderr: `${r.stderr}\n(still running after ${ms} ms: killed)`,
      ms: Date.now() - started,
    };
  }
  return { ...outcome, ms: Date.now() - started };
}

/** Redis servers whose command line names `dir` (the throw-away servers of a restore into it). */
function serversIn(dir: string): number[] {
  return fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        const state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
        return /(^|\/)redis-server$/.test(cmd[0]) && cmd.some((a) => a.startsWith(dir)) && state !== "Z";
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("S3 frozen (SIGSTOP)", () => {
  afterEach(() => s3.thaw());

  it("in the middle of a backup's upload: exit 1 within the bound, no manifest, and it says how to go on", async () => {
    const { partBytes } = await s3.state();
    await s3.hold(partBytes + 10 * MiB);
    const run = startHoldfast(
      ["backup", "redis", "--part-size", "5MiB", "--upload-concurrency", "2", "--json"],
      env(),
    );
    await waitFor("S3 to hold the upload mid-stream", async () => (await s3.state()).waiting >= 1, 60_000);
    const id = String(logLines(run.stderr()).find((l) => l.msg === "streaming the snapshot")?.backup);
    s3.freeze();
    const r = await endsWithin(run, BOUND_MS);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: expect.any(String) });
    const error = jsonError(r.stderr);
    expect(error.message).toMatch(
      new RegExp(
        `^backup ${id} failed while streaming from \\S+: uploading part \\d+ of ${PREFIX}/redis/${id}/dump.rdb failed: ` +
          `S3 did not answer within ${S3_TIMEOUT_S}s`,
      ),
    );
    expect(error.state).toMatch(
      new RegExp(`^no manifest was written, so backup ${id} does not exist; .*Re-run the backup`),
    );
    s3.thaw();
    await s3.release();
    expect(await keysUnder(`${PREFIX}/redis/${id}/`)).not.toContain(`${PREFIX}/redis/${id}/manifest.json`);
    expect((await holdfast(["list", "--json"], env())).stdout).not.toMatch(id);
  });

  it("in the middle of a restore's download: exit 1 within the bound, the data directory untouched", async () => {
    const dir = path.join(work, "restore-frozen");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "dump.rdb"), "the data before the restore");
    const before = treeDigest(dir);
    await s3.throttle(2 * MiB);
    const run = startHoldfast(["restore", "redis", "--backup", backupId, "--data-dir", dir], env());
    const partial = path.join(dir, "holdfast-restore", "backup.rdb.partial");
    await waitFor(
      "the download to be under way",
      () => (fs.statSync(partial, { throwIfNoEntry: false })?.size ?? 0) > MiB,
    );
    s3.freeze();
    const r = await endsWithin(run, BOUND_MS);
    s3.thaw();
    await s3.throttle(0);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: expect.any(String) });
    expect(r.stderr).toMatch(
      new RegExp(
        `holdfast: the restore of backup ${backupId} stopped: S3 did not answer within ${S3_TIMEOUT_S}s`,
      ),
    );
    expect(r.stderr).toMatch(new RegExp(`holdfast: ${dir} was not touched\\. Re-run`));
    expect(treeDigest(dir)).toEqual(before);
    expect(serversIn(dir)).toEqual([]);
  });
});

describe("a restore killed with SIGKILL", () => {
  it("while its throw-away redis-server holds the dataset: that server ends within 5 s, and a re-run restores", async () => {
    const dir = path.join(work, "killed");
    fs.mkdirSync(dir, { recursive: true });
    const args = ["restore", "redis", "--backup", backupId, "--data-dir", dir];
    const killed = await holdfast(args, env({ HOLDFAST_FAILPOINTS: "restore-loaded" }));
    expect(killed.signal).toBe("SIGKILL");
    const t0 = Date.now();
    await waitFor("the throw-away redis-server to end", () => serversIn(dir).length === 0, 5000);
    expect(Date.now() - t0).toBeLessThan(5000);
    const again = await holdfast(args, env());
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(fs.readdirSync(dir).sort()).toEqual(["appendonlydir", "dump.rdb"]);
    expect(serversIn(dir)).toEqual([]);
  });
});
