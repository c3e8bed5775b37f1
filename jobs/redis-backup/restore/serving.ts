// The serving redis-server of `restore redis --verify serving`: the server that will serve the restored
// data directory, started by the restore so that its own first load of the dataset is the verification.
// It starts on the data directory with the operator's redis.conf (if any), listening only on a private
// unix socket (port 0, mode 700), so no client reaches it before the restore has compared what it loaded
// with the manifest; `--rdbchecksum yes` makes its load check the RDB's CRC-64. Then the restore opens
// its port (CONFIG SET port) and leaves it running: it is started in its own session, outlives the
// restore and is never tied to it. Its output goes to redis-server.log in the data directory.
import { type ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type Redis from "ioredis";
import type { DatasetNames } from "../aof-layout";
import { socketClient } from "../scratch/server";

/** What the state file records of the serving server (a re-run finds it by its socket). */
export interface ServingRecord {
  /** The port it serves on once the restore hands it over. */
  port: number;
  /** The redis.conf it starts with. */
  config?: string;
  /** Its private unix socket, recorded before it starts. */
  socket?: string;
  pid?: number;
}

/** The file in the data directory the serving server's standard output and error go to. */
export const SERVING_LOG = "redis-server.log";

/** How the serving server is started. */
export interface ServingStart {
  dataDir: string;
  appendonly: boolean;
  names: DatasetNames;
  redisServer: string;
  modules?: string[];
}

/** The serving server could not start or load the dataset; `log` is the end of its output. */
export class ServingLoadError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(message);
    this.name = "ServingLoadError";
  }
}

/** A new private socket path (in its own folder under the temporary directory). */
export function newSocket(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-serve-")), "redis.sock");
}

/** The serving server's command line: the operator's config, then what the restore needs of it. */
export function servingArgs(o: ServingStart, rec: ServingRecord & { socket: string }): string[] {
  return [
    ...(rec.config ? [rec.config] : []),
    ...["--dir", o.dataDir, "--port", "0", "--unixsocket", rec.socket, "--unixsocketperm", "700"],
    ...["--appendonly", o.appendonly ? "yes" : "no", "--appendfilename", o.names.appendFilename],
    ...["--appenddirname", o.names.appendDirname, "--dbfilename", o.names.dbFilename],
    ...["--rdbchecksum", "yes", "--daemonize", "no"],
    // Keep the command line as started (Redis rewrites it by default): a re-run finds it by its socket.
    ...["--set-proc-title", "no"],
    ...(o.modules ?? []).flatMap((m) => ["--loadmodule", m]),
  ];
}

/** Whether process `pid` runs (a zombie does not). */
export function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/** The redis-server started on `socket` (an earlier run's serving server), if it runs. */
export function findServing(socket: string | undefined): number | undefined {
  if (!socket) return undefined;
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (/(^|\/)(redis|valkey)-server/.test(cmd[0]) && cmd.includes(socket) && running(Number(pid)))
        return Number(pid);
    } catch {
      // gone, or not ours to look at
    }
  }
  return undefined;
}

/** Kills a serving server with SIGKILL (it writes nothing on the way out) and waits until it is gone. */
export async function killServing(pid: number, timeoutMs = 30_000): Promise<void> {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (running(pid)) {
    if (Date.now() > deadline) throw new Error(`redis-server pid ${pid} did not end after SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether nothing listens on `port` (checked before the data directory is touched). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, () => s.close(() => resolve(true)));
  });
}

/** The last lines of the server's output. */
function logTail(dataDir: string, lines = 5): string {
  try {
    return fs
      .readFileSync(path.join(dataDir, SERVING_LOG), "utf8")
      .trim()
      .split("\n")
      .slice(-lines)
      .join("\n");
  } catch {
    return "";
  }
}

/** A serving server this run started. */
export class ServingServer {
  private exit: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly socket: string,
    private readonly dataDir: string,
  ) {
    child.once("exit", (code, signal) => {
      this.exit = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    });
  }

  /** Starts the server in its own session; it outlives this process. */
  static start(o: ServingStart, rec: ServingRecord & { socket: string }): Promise<ServingServer> {
    const out = fs.openSync(path.join(o.dataDir, SERVING_LOG), "a");
    try {
      const child = spawn(o.redisServer, servingArgs(o, rec), {
        cwd: o.dataDir,
        detached: true,
        stdio: ["ignore", out, out],
      });
      return new Promise((resolve, reject) => {
        child.once("error", (err) =>
          reject(
            new ServingLoadError(`cannot run ${o.redisServer} (${err.message}); set --redis-server`, ""),
          ),
        );
        child.once("spawn", () => {
          child.unref();
          resolve(new ServingServer(child, child.pid!, rec.socket, o.dataDir));
        });
      });
    } finally {
      fs.closeSync(out);
    }
  }

  /** Waits until the server has loaded the dataset; a client of its socket. */
  async loaded(timeoutMs = 3600_000): Promise<Redis> {
    const client = socketClient(this.socket);
    const deadline = Date.now() + timeoutMs;
    const fail = (why: string) => {
      client.disconnect();
      const log = logTail(this.dataDir);
      return new ServingLoadError(
        `the serving redis-server ${why}${log ? `: ${log.split("\n").join(" | ")}` : ""}`,
        log,
      );
    };
    for (;;) {
      if (this.exit) throw fail(`${this.exit} while loading the dataset`);
      if (Date.now() > deadline) {
        await killServing(this.pid);
        throw fail("did not finish loading the dataset in time");
      }
      if (fs.existsSync(this.socket)) {
        try {
          if (client.status === "wait" || client.status === "end") await client.connect();
          if (/^loading:0/m.test(String(await client.info("persistence")))) return client;
        } catch {
          if (client.status === "end" || client.status === "close") client.disconnect();
        }
      }
      // Polled often: the restore is done once the server has loaded, and a poll costs it little.
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** A client of an already running serving server (a re-run handing over what the first run checked). */
export async function connectServing(socket: string): Promise<Redis> {
  const c = socketClient(socket);
  await c.connect();
  return c;
}

/**
 * Opens the server's port: from here on clients reach it.
 * @throws Error with Redis's answer when it cannot listen there.
 */
export async function openPort(client: Redis, port: number): Promise<void> {
  await client.config("SET", "port", String(port));
}
