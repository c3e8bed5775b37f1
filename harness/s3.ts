// An S3-compatible server for tests, the sandbox and the benchmarks: s3rver as its own process on
// loopback (so a test can kill it in the middle of an upload and start it again on the same data),
// started through s3rver.js, which adds what s3rver 3.7 lacks (AbortMultipartUpload, create-only
// writes) and fault hooks (hold part uploads, throttle or hold downloads, freeze the process). Gives
// the environment the holdfast CLI and the AWS CLI read, an SDK client for checking what landed, and
// which incomplete multipart uploads are left.
import type { ChildProcess } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { s3FromEnv } from "../jobs/store/s3";
import { freePort, GiveUp, ProcessGroup, waitFor } from "./processes";

const ROOT = path.join(__dirname, "..");
const SCRIPT = path.join(__dirname, "s3rver.js");

/** One HTTP request without keep-alive (a pooled socket would keep Jest waiting after the tests). */
function request(port: number, method: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: urlPath, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** What the fault hooks report. */
export interface HoldState {
  waiting: number;
  partBytes: number;
  holding: boolean;
}

/** A running (or stopped) s3rver. */
export class S3Server {
  private process?: ChildProcess;
  readonly processes: ProcessGroup;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.processes = new ProcessGroup(path.join(dir, "logs"));
  }

  /** The data folder is this server's to remove. */
  private owned = true;

  /**
   * Starts a server with an empty data folder; create buckets with `createBucket`.
   * @param dir the folder (created; the caller's to keep: cleanup leaves it). Default a new temporary one.
   */
  static async start(dir?: string): Promise<S3Server> {
    if (dir) fs.mkdirSync(dir, { recursive: true });
    const server = new S3Server(
      dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-s3-")),
      await freePort(),
    );
    server.owned = !dir;
    await server.resume();
    return server;
  }

  /** The process id of the server while it runs (for a benchmark's CPU accounting). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** The data folder s3rver keeps buckets in. */
  get dataDir(): string {
    return path.join(this.dir, "data");
  }

  /** The environment the holdfast CLI and the AWS CLI read to reach this server. */
  get env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${this.port}`,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${this.port}`,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
  }

  /** An SDK client for this server. */
  client(): S3Client {
    return s3FromEnv(this.env);
  }

  async createBucket(name: string): Promise<void> {
    await this.client().send(new CreateBucketCommand({ Bucket: name }));
  }

  /** Starts the server (again, on the same data after `kill`). */
  async resume(): Promise<void> {
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.process = this.processes.start(
      "s3rver",
      process.execPath,
      [SCRIPT, this.dataDir, String(this.port)],
      {
        env: { PATH: process.env.PATH, NODE_PATH: path.join(ROOT, "node_modules") },
        cwd: ROOT,
      },
    );
    const started = this.process;
    await waitFor(
      `s3rver on port ${this.port}`,
      async () => {
        if (started.exitCode !== null || started.signalCode !== null)
          throw new GiveUp(`it exited; its log ends:\n${this.processes.logTail("s3rver")}`);
        const r = await request(this.port, "GET", "/__faults/state").catch(() => undefined);
        return r?.status === 200;
      },
      60000, // a Node process loading its modules: over 15 s on a machine at load 20
    );
  }

  private async control(what: string): Promise<HoldState> {
    return JSON.parse((await request(this.port, "POST", `/__faults/${what}`)).body) as HoldState;
  }

  /**
   * From now on, part uploads past `afterBytes` (counted from the server's start) wait for `release`;
   * with `rdbGets`, downloads of *.rdb objects too.
   */
  hold(afterBytes: number, rdbGets = false): Promise<HoldState> {
    return this.control(`hold?afterBytes=${afterBytes}${rdbGets ? "&rdbGets=1" : ""}`);
  }

  release(): Promise<HoldState> {
    return this.control("release");
  }

  /** Downloads of *.rdb objects flow at about `bytesPerSecond` from now on (0: full speed). */
  throttle(bytesPerSecond: number): Promise<HoldState> {
    return this.control(`throttle?bytesPerSecond=${bytesPerSecond}`);
  }

  /**
   * From now on every write of a stream segment (*.seg) waits `delayMs`, and the first segment written
   * after this call is refused (503) for `failFirstMs` from its first attempt while the others pass.
   */
  segmentFaults(f: { delayMs?: number; failFirstMs?: number }): Promise<HoldState> {
    return this.control(`segments?delayMs=${f.delayMs ?? 0}&failFirstMs=${f.failFirstMs ?? 0}`);
  }

  /**
   * Declares a bucket's versioning and Object Lock, which s3rver does not keep: GetBucketVersioning and
   * GetObjectLockConfiguration of `bucket` answer them from now on (see s3rver.js).
   */
  async bucketSettings(
    bucket: string,
    s: { versioning?: "Enabled" | "Suspended"; objectLock?: { mode: string; days: number } },
  ): Promise<void> {
    const q = new URLSearchParams({ bucket, versioning: s.versioning ?? "" });
    if (s.objectLock) {
      q.set("objectLock", s.objectLock.mode);
      q.set("days", String(s.objectLock.days));
    }
    await this.control(`bucket-settings?${q.toString()}`);
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open and the kernel still accepts new ones, but
   * nothing answers, as with a hung endpoint or a network path that drops everything.
   */
  freeze(): void {
    this.process?.kill("SIGSTOP");
  }

  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void {
    this.process?.kill("SIGCONT");
  }

  async state(): Promise<HoldState> {
    return JSON.parse((await request(this.port, "GET", "/__faults/state")).body) as HoldState;
  }

  /** Ids of multipart uploads started and neither completed nor aborted, in `bucket`. */
  incompleteUploads(bucket: string): string[] {
    const dir = path.join(this.dataDir, bucket, "._S3rver_uploads");
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  }

  /** Kills the server at once (S3 going away in the middle of something; a frozen one too). */
  async kill(): Promise<void> {
    this.thaw();
    if (this.process) await this.processes.stop(this.process, "SIGKILL");
    this.process = undefined;
  }

  /** Stops the server and removes its data (unless the caller gave the folder). */
  async cleanup(): Promise<void> {
    this.thaw();
    await this.processes.killAll();
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS && this.owned)
      fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
