// An S3-compatible server for tests: s3rver as its own process on loopback (so a test can kill it in the
// middle of an upload and start it again on the same data), with the environment the holdfast CLI
// reads (AWS_ENDPOINT_URL_S3, keys, region) and an SDK client for checking what landed.
import type { ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { s3FromEnv } from "../../jobs/store/s3";
import { freePort, ProcessGroup, waitFor } from "./processes";

const S3RVER = path.join(__dirname, "..", "..", "node_modules", "s3rver", "bin", "s3rver.js");

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
   * @param dir the data folder (created; the caller's to keep: cleanup leaves it). Default a new temporary one.
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

  /** Starts the server again on the same data (after `kill`). */
  async resume(): Promise<void> {
    this.process = this.processes.start(
      "s3rver",
      process.execPath,
      [
        S3RVER,
        "--directory",
        path.join(this.dir, "data"),
        "--address",
        "127.0.0.1",
        "--port",
        String(this.port),
        "--silent",
      ],
      { env: { PATH: process.env.PATH } },
    );
    await waitFor(`s3rver on port ${this.port}`, async () => {
      const r = await fetch(`http://127.0.0.1:${this.port}/`).catch(() => undefined);
      return r !== undefined;
    });
  }

  /** Kills the server at once (S3 going away in the middle of something). */
  async kill(): Promise<void> {
    if (this.process) await this.processes.stop(this.process, "SIGKILL");
    this.process = undefined;
  }

  /** Stops the server and removes its data. */
  async cleanup(): Promise<void> {
    await this.processes.killAll();
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS && this.owned)
      fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
