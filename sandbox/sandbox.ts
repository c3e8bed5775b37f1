// The sandbox's world: the dev stack with continuous protection on, "deployed" on this machine
// (harness/stack-cluster: the Kubernetes API stand-in holding the rendered objects, the Redis pods as real
// redis-server and sentinel processes on their claims' folders, Jobs and the stream's Deployment as local
// processes of the holdfast CLI, s3rver as the backup bucket) plus
// the LanceDB application's pod running the proposal-log writer on its claim. Everything lives under one
// folder the user may inspect afterwards; `cleanup` ends every process and leaves the folder.
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type Redis from "ioredis";
import { HOLDFAST_BIN } from "../harness/redis-set";
import type { PodRuntime } from "../harness/kubelet";
import { ProcessGroup, waitFor } from "../harness/processes";
import { StackCluster } from "../harness/stack-cluster";
import { readCommits, type AppCommit } from "./proposal-log-app";
import { describeLogLine } from "./report";

/** A finished holdfast command. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Sizes of a sandbox run. */
export interface SandboxSize {
  /** Patterns per knowledge base in Redis (each has four keys). */
  patternsPerBase: number;
  /** Rows the proposal log starts with. */
  initialRows: number;
}

/** Where the sandbox says what happens (one line each). */
export type Say = (line: string) => void;

const APP = path.join(__dirname, "proposal-log-app.ts");

/** See the module comment. */
export class Sandbox {
  private constructor(
    readonly dir: string,
    readonly cluster: StackCluster,
    /** The proposal-log application's commit log. */
    readonly appLog: string,
    private readonly say: Say,
  ) {}

  /**
   * Deploys the dev stack under `dir` and waits until the Redis set is healthy and the application has
   * committed its first rows.
   */
  static async start(dir: string, size: SandboxSize, say: Say, jobImage?: string): Promise<Sandbox> {
    fs.mkdirSync(dir, { recursive: true });
    const appLog = path.join(dir, "proposal-log-commits.jsonl");
    const cluster = await StackCluster.start({
      stack: "dev",
      // Continuous protection on (dev leaves it off): the stream's Deployment runs beside the set.
      config: { "holdfast:continuousBackup": true },
      dir,
      jobImage,
      runtimes: (claimDir) => ({ lancedb: applicationRuntime(claimDir, appLog, dir, size.initialRows) }),
    });
    const sandbox = new Sandbox(dir, cluster, appLog, say);
    try {
      await waitFor(
        "the proposal-log application's first commit",
        () => readCommits(appLog).length > 0,
        60_000,
      );
    } catch (err) {
      await sandbox.cleanup();
      throw err;
    }
    return sandbox;
  }

  /** Arguments naming the stack, for `holdfast stack ...`. */
  get stackArgs(): string[] {
    return ["--stack", "dev", "--outputs", this.cluster.outputsFile, "--poll-interval", "250ms"];
  }

  /** The LanceDB application's data directory (its claim). */
  get lancedbDir(): string {
    return this.cluster.claimDir("data-lancedb-0");
  }

  /** The application's commits so far. */
  commits(): AppCommit[] {
    return readCommits(this.appLog);
  }

  /**
   * Runs `holdfast <args>` as an operator would against the stack, showing its log lines as they come
   * (indented) and the command itself first; `quiet` shows neither (a poll).
   */
  holdfast(args: string[], o: { quiet?: boolean } = {}): Promise<CommandResult> {
    const say: Say = o.quiet ? () => undefined : this.say;
    say(
      `  $ holdfast ${args.map((a) => (a === this.cluster.outputsFile ? "outputs-dev.json" : a)).join(" ")}`,
    );
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [HOLDFAST_BIN, ...args], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED:
            process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED,
          ...this.cluster.env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      let partial = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d: Buffer) => {
        stderr += d;
        const lines = (partial + d.toString()).split("\n");
        partial = lines.pop()!;
        for (const line of lines) {
          const shown = describeLogLine(line);
          if (shown) say(`    │ ${shown}`);
        }
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** Sets a StatefulSet's replicas through the API and waits until its pods match. */
  async scale(statefulSet: string, replicas: number, timeoutMs = 90_000): Promise<void> {
    const store = this.cluster.server.store;
    const sts = store.type("apps/v1", "StatefulSet");
    store.patch(sts, this.cluster.namespace, statefulSet, "application/merge-patch+json", {
      spec: { replicas },
    });
    const pods = () =>
      this.cluster
        .objects("v1", "Pod")
        .filter((p) => new RegExp(`^${statefulSet}-\\d+$`).test(p.metadata.name));
    await waitFor(
      `${statefulSet} to have ${replicas} ready pods`,
      () => {
        const found = pods();
        const ready = found.filter((p) =>
          (
            (p as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? []
          ).some((c) => c.type === "Ready" && c.status === "True"),
        );
        return found.length === replicas && ready.length === replicas;
      },
      timeoutMs,
      200,
    );
  }

  /** An admin connection to the set's current primary. */
  async admin(): Promise<Redis> {
    const set = this.cluster.set;
    const c = set.connect(await set.waitForHealthy(60_000), "admin");
    await c.connect();
    return c;
  }

  /** Ends every process; the folder stays. */
  async cleanup(): Promise<void> {
    await this.cluster.cleanup();
  }
}

/**
 * With a pod user (--runtime docker: the jobs run in containers as the pods' users, as in a cluster), the
 * application runs as that uid and gid, on its claim that the kubelet handed to it, and its commit log is
 * that user's; otherwise as this process's user. Jobs then read the files it writes as the backup
 * Job's user would in a cluster, owner-only modes included.
 */
function podIdentity(appLog: string, user: string | undefined): { uid?: number; gid?: number } {
  if (!user) return {};
  const [uid, gid] = user.split(":").map(Number);
  if (!fs.existsSync(appLog)) fs.writeFileSync(appLog, "");
  fs.chownSync(appLog, uid, gid);
  return { uid, gid };
}

/**
 * The LanceDB pod: the proposal-log application on the claim's folder. Ready while it runs; stopped
 * with SIGTERM (it finishes its commit), then SIGKILL after 10 s, as a kubelet does.
 */
function applicationRuntime(
  claimDir: (claim: string) => string,
  appLog: string,
  dir: string,
  initialRows: number,
): PodRuntime {
  const processes = new ProcessGroup(dir);
  let app: ChildProcess | undefined;
  return {
    async start(ordinal, pod) {
      const committed = readCommits(appLog).length;
      const child = processes.start(
        `lancedb-${ordinal}`,
        process.execPath,
        ["-r", "tsx/cjs", APP, claimDir(`data-lancedb-${ordinal}`), appLog, String(initialRows)],
        podIdentity(appLog, pod?.user),
      );
      app = child;
      await waitFor(
        "the proposal-log application to commit",
        () => {
          if (child.exitCode !== null) throw new Error(`the application exited ${child.exitCode}`);
          return readCommits(appLog).length > committed;
        },
        60_000,
      );
    },
    async stop() {
      const child = app;
      app = undefined;
      if (child) await processes.stop(child, "SIGTERM", 10_000);
    },
    async ready() {
      return Boolean(app && app.exitCode === null && app.signalCode === null);
    },
  };
}
