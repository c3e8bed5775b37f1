// What the continuous-protection tests share: the stream run as its Deployment runs it (the CLI, the
// replication user for now), a write load that records when each write was acknowledged, waiting for the
// stream to have made a moment durable, and a restore to a point served by a stock redis-server.
import * as fs from "fs";
import * as path from "path";
import type Redis from "ioredis";
import type { RedisSet } from "../../harness/redis-set";
import type { S3Server } from "../../harness/s3";
import { StandaloneRedis } from "../../harness/standalone-redis";
import { waitFor } from "../../harness/processes";
import { cronEnv, holdfast, startHoldfast, type CliRun } from "../backup/cli";

/** The environment of the stream's Deployment: the replication user on the data nodes. */
export function streamEnv(
  set: RedisSet,
  s3Env: Record<string, string>,
  prefix: string,
): Record<string, string> {
  return cronEnv(set, s3Env, prefix, {
    REDIS_USERNAME: "replication",
    REDIS_PASSWORD: set.password("replication"),
  });
}

/** Starts `holdfast stream redis`. */
export function startStream(env: Record<string, string>, extra: string[] = []): CliRun {
  return startHoldfast(["stream", "redis", "--segment-time", "200ms", ...extra], env);
}

/** The timeline as JSON. */
export async function timeline(env: Record<string, string>): Promise<{
  chains: {
    chain: number;
    to?: string;
    segments: number;
    backups?: { id: string; offset: number; startedAt: string }[];
  }[];
  gaps: unknown[];
  intervals: { from: string; to: string }[];
  newest?: string;
}> {
  const r = await holdfast(["timeline", "--json"], env);
  if (r.code !== 0) throw new Error(`timeline exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Waits until the stream's newest durable command is at or after `ms`. */
export async function waitDurable(
  env: Record<string, string>,
  ms: number,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    "the stream to make the moment durable",
    async () => {
      const t = await timeline(env);
      return t.newest !== undefined && Date.parse(t.newest) >= ms;
    },
    timeoutMs,
    300,
  );
}

/** A write load: key `w:<n>` = `<n>`, one at a time, each acknowledgement time kept. */
export class WriteLoad {
  readonly acked: { n: number; sentAt: number; ackedAt: number }[] = [];
  private stopped = false;
  private paused = false;
  private done?: Promise<void>;
  errors = 0;

  constructor(private readonly client: Redis) {}

  start(): void {
    this.done = (async () => {
      let n = 0;
      while (!this.stopped) {
        if (this.paused) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const sentAt = Date.now();
        try {
          await this.client.set(`w:${n}`, String(n));
          this.acked.push({ n, sentAt, ackedAt: Date.now() });
        } catch {
          this.errors++;
          await new Promise((r) => setTimeout(r, 50));
        }
        n++;
      }
    })();
  }

  pause(p: boolean): void {
    this.paused = p;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** Restores to `args` (e.g. --to-time T) into a fresh data dir and serves it with a stock redis-server. */
export async function restoreAndServe(
  env: Record<string, string>,
  work: string,
  name: string,
  args: string[],
  servers: StandaloneRedis[],
): Promise<{ code: number | null; stdout: string; stderr: string; client?: Redis; dataDir: string }> {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, "data"), { recursive: true });
  const r = await holdfast(["restore", "redis", ...args, "--data-dir", path.join(dir, "data")], env);
  if (r.code !== 0) return { ...r, dataDir: path.join(dir, "data") };
  const server = await StandaloneRedis.start(["appendonly yes"], dir);
  servers.push(server);
  return { ...r, client: server.client(), dataDir: path.join(dir, "data") };
}

/** What a continuous-protection test file started, to stop in its afterAll. */
export interface Started {
  stream?: CliRun;
  /** Serving servers the `--verify serving` restores started (pids). */
  serving: Set<number>;
  servers: StandaloneRedis[];
  set?: RedisSet;
  s3?: S3Server;
  /** The test's folder, removed unless HOLDFAST_KEEP_TEST_DIRS is set. */
  work?: string;
}

/** Stops everything a test file started: the stream, the serving servers, the servers, the set, s3rver. */
export async function stopAll(t: Started): Promise<void> {
  t.stream?.child.kill("SIGKILL");
  for (const pid of t.serving) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await Promise.all(t.servers.map((s) => s.cleanup()));
  await Promise.all([t.set?.cleanup(), t.s3?.cleanup()]);
  if (t.work && !process.env.HOLDFAST_KEEP_TEST_DIRS) fs.rmSync(t.work, { recursive: true, force: true });
}
