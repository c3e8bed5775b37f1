// A standalone redis-server for tests and benchmarks of the backup code: its own folder and port, the
// config lines a test gives, a client of the default user, and SAVE to get the RDB Redis itself writes.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis, { type RedisOptions } from "ioredis";
import type { ChildProcess } from "child_process";
import { freePort, ProcessGroup, waitFor } from "./processes";

/** A running redis-server. */
export class StandaloneRedis {
  readonly processes: ProcessGroup;
  private server?: ChildProcess;
  private readonly clients = new Set<Redis>();

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly config: string[],
    private readonly ownsDir: boolean,
  ) {
    this.processes = new ProcessGroup(path.join(dir, "logs"));
  }

  /**
   * Starts a server.
   * @param config extra redis.conf lines (they win over the defaults: no persistence, debug commands on).
   * @param dir data folder; default a new temporary folder removed by `cleanup`.
   */
  static async start(config: string[] = [], dir?: string): Promise<StandaloneRedis> {
    const own = dir === undefined;
    const folder = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-standalone-"));
    fs.mkdirSync(path.join(folder, "data"), { recursive: true });
    const r = new StandaloneRedis(folder, await freePort(), config, own);
    await r.resume();
    return r;
  }

  /** The data directory (`dir` of the server). */
  get dataDir(): string {
    return path.join(this.dir, "data");
  }

  /** Starts the server again on the same data (after `stop`). */
  async resume(): Promise<void> {
    const conf = [
      `port ${this.port}`,
      "bind 127.0.0.1",
      `dir ${this.dataDir}`,
      'save ""',
      "appendonly no",
      "enable-debug-command yes",
      "repl-diskless-sync yes",
      "repl-diskless-sync-delay 0",
      ...this.config,
    ];
    const confFile = path.join(this.dir, "redis.conf");
    fs.writeFileSync(confFile, conf.join("\n") + "\n");
    this.server = this.processes.start("redis", "redis-server", [confFile]);
    await waitFor(`redis-server on port ${this.port}`, async () => {
      const c = this.client({ connectTimeout: 300 });
      try {
        return (await c.ping()) === "PONG" && !/loading:1/.test(await c.info("persistence"));
      } finally {
        c.disconnect();
        this.clients.delete(c);
      }
    });
  }

  /** A client of the default user (closed by cleanup). */
  client(extra: RedisOptions = {}): Redis {
    const c = new Redis({
      host: "127.0.0.1",
      port: this.port,
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
      retryStrategy: () => null,
      // Its closing is not waited for: ioredis keeps a 2 s timer for a socket that does not close (a
      // probe of a server still starting), which would keep the test file's worker alive at its end.
      disconnectTimeout: 0,
      ...extra,
    });
    c.on("error", () => undefined);
    this.clients.add(c);
    return c;
  }

  /** SAVEs and returns the path of the RDB the server wrote, copied to `name` when given. */
  async save(name?: string): Promise<string> {
    const c = this.client();
    try {
      await c.save();
    } finally {
      c.disconnect();
      this.clients.delete(c);
    }
    const file = path.join(this.dataDir, "dump.rdb");
    if (!name) return file;
    const copy = path.join(this.dir, name);
    fs.copyFileSync(file, copy);
    return copy;
  }

  /** Stops the server (SIGKILL unless `graceful`). */
  async stop(graceful = false): Promise<void> {
    if (this.server) await this.processes.stop(this.server, graceful ? "SIGTERM" : "SIGKILL");
    this.server = undefined;
  }

  /** Stops the server and removes its folder (unless given by the caller or HOLDFAST_KEEP_TEST_DIRS). */
  async cleanup(): Promise<void> {
    for (const c of this.clients) c.disconnect();
    this.clients.clear();
    await this.processes.killAll();
    if (this.ownsDir && !process.env.HOLDFAST_KEEP_TEST_DIRS)
      fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
