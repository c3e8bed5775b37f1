// A throw-away redis-server that loads a restored dataset so a restore can prove itself: started on a
// folder laid out exactly as the data directory will be (or as a replica of RdbPrimary, loading the
// RDB while it downloads), listening only on a unix socket (no port to clash with), persisting nothing,
// and killed afterwards. It never outlives the process that started it: it runs under a small shell
// that kills it as soon as a pipe from this process closes, which the kernel does when this process
// ends in any way, SIGKILL included. Its pid is also kept in the folder, so a re-run can end a server
// left running should that shell itself have been killed.
import { type ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Redis from "ioredis";
import type { DatasetNames } from "../aof-layout";

/** How to start the server. */
export interface ScratchServerOptions {
  /** The folder Redis runs in (its `dir`), holding the dataset. */
  dir: string;
  appendonly: boolean;
  names: DatasetNames;
  /** The redis-server binary. */
  redisServer: string;
  /** Modules to load (for datasets holding module types). */
  modules?: string[];
  /** Bound on loading the dataset. Default 1 hour. */
  loadTimeoutMs?: number;
  /** Start as a replica of this loopback port (an RdbPrimary) instead of loading from `dir`. */
  replicaOf?: number;
  /**
   * As a replica: seconds the primary may send nothing before the server drops the link (Redis's
   * repl-timeout). Default 60.
   */
  replicaTimeoutS?: number;
  /** Databases the server has (`databases`); an RDB with keys in db N needs more than N. Default 16. */
  databases?: number;
}

/** The server could not start or load the dataset. */
let ioredis: typeof import("ioredis") | undefined;

/**
 * ioredis, loaded when the first client is made (about 0.15 s of the CLI's start otherwise): a client is
 * made once a server was started, so the loading overlaps the server's own start and load.
 */
function redisClient(): typeof Redis {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (ioredis ??= require("ioredis") as typeof import("ioredis")).default;
}

/** A client of the server on the Unix socket `socket` that never retries on its own. */
export function socketClient(socket: string): Redis {
  const RedisClient = redisClient();
  const c = new RedisClient({
    path: socket,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  c.on("error", () => undefined);
  return c;
}

export class ScratchServerError extends Error {}

const PID_FILE = "holdfast-scratch-redis.pid";
/** The server's log, in its folder. */
export const LOG_FILE = "holdfast-scratch-redis.log";

/**
 * The shell the server runs under (`sh -c TIED_TO_PARENT holdfast-scratch-redis redis-server ARGS...`).
 * Its stdin is a pipe from this process: when that pipe closes (this process stopped the server, or
 * exited, or was killed), the background reader sees end-of-file and kills the server. The shell prints
 * the server's pid, waits for it and exits with its status (128 + N when signal N ended it).
 */
const TIED_TO_PARENT = [
  "exec 3<&0",
  '"$@" </dev/null >/dev/null 3<&- &',
  "server=$!",
  'echo "$server"',
  '{ while read -r _ <&3; do :; done; kill -9 "$server" 2>/dev/null; } </dev/null >/dev/null 2>&1 &',
  "reader=$!",
  "exec 3<&-",
  'wait "$server"',
  "status=$?",
  'kill "$reader" 2>/dev/null',
  'exit "$status"',
].join("\n");

/** Exit statuses of the shell that mean it could not run the server binary at all. */
const NOT_RUNNABLE = [126, 127];

/** The command line of a throw-away server on `o.dir`, listening on `socket` only. */
function serverArgs(o: ScratchServerOptions, socket: string): string[] {
  return [
    "--port",
    "0",
    "--unixsocket",
    socket,
    "--unixsocketperm",
    "700",
    "--dir",
    o.dir,
    "--dbfilename",
    o.names.dbFilename,
    "--appendonly",
    o.appendonly && !o.replicaOf ? "yes" : "no",
    ...(o.replicaOf
      ? [
          "--replicaof",
          "127.0.0.1",
          String(o.replicaOf),
          "--repl-diskless-load",
          "on-empty-db",
          "--repl-timeout",
          String(o.replicaTimeoutS ?? 60),
        ]
      : []),
    "--appendfilename",
    o.names.appendFilename,
    "--appenddirname",
    o.names.appendDirname,
    "--appendfsync",
    "no",
    "--aof-load-truncated",
    "no",
    "--save",
    "",
    "--databases",
    String(o.databases ?? 16),
    "--daemonize",
    "no",
    "--protected-mode",
    "no",
    "--logfile",
    path.join(o.dir, LOG_FILE),
    // Keep the command line as started (Redis rewrites it by default): a re-run finds the server by it.
    "--set-proc-title",
    "no",
    ...(o.modules ?? []).flatMap((m) => ["--loadmodule", m]),
  ];
}

/** Why the shell ended, in words: the server's exit code or the signal that killed it. */
function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed by ${signal}`;
  const byNumber = Object.entries(os.constants.signals).find(([, n]) => n === (code ?? 0) - 128)?.[0];
  return code !== null && code > 128 && byNumber ? `was killed by ${byNumber}` : `exited with code ${code}`;
}

/** Kills a scratch server a killed run left in `dir`, if there is one. */
export function killLeftoverServer(dir: string): void {
  const pidFile = path.join(dir, PID_FILE);
  if (!fs.existsSync(pidFile)) return;
  let recorded: { pid?: number; socketDir?: string } = {};
  try {
    recorded = JSON.parse(fs.readFileSync(pidFile, "utf8"));
  } catch {
    // unreadable: nothing to end
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${recorded.pid}/cmdline`, "utf8");
    // Only a redis-server started on this folder: a recycled pid belongs to something else.
    if (/(redis|valkey)-server/.test(cmdline) && cmdline.includes(dir))
      process.kill(recorded.pid!, "SIGKILL");
  } catch {
    // gone already, or no /proc: nothing to end
  }
  if (recorded.socketDir?.includes("holdfast-redis-"))
    fs.rmSync(recorded.socketDir, { recursive: true, force: true });
  fs.rmSync(pidFile, { force: true });
}

/** A running throw-away server. */
export class ScratchServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly socketDir: string,
    readonly client: Redis,
    readonly dir: string,
    /** When loading started and ended (ms since the epoch). */
    readonly loadStartedAt: number,
    readonly loadedAt: number,
  ) {}

  /** Starts a server on `o.dir` and waits until it has loaded the dataset. */
  static async start(o: ScratchServerOptions): Promise<ScratchServer> {
    killLeftoverServer(o.dir);
    const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-redis-"));
    const socket = path.join(socketDir, "redis.sock");
    const args = serverArgs(o, socket);
    const loadStartedAt = Date.now();
    const child = spawn("sh", ["-c", TIED_TO_PARENT, "holdfast-scratch-redis", o.redisServer, ...args], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    let exit: string | undefined;
    const cannotRun = (why: string) =>
      new ScratchServerError(`cannot run ${o.redisServer} (${why}); set --redis-server`);
    const started = new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("\n")) resolve(Number(out.split("\n")[0]));
      });
      child.once("error", (err) => reject(cannotRun((err as Error).message)));
      child.once("exit", (code) => reject(cannotRun(`the shell starting it exited with code ${code}`)));
    });
    child.stdin!.on("error", () => undefined); // EPIPE once the shell is gone: nothing to tell it
    child.once("exit", (code, signal) => {
      exit = NOT_RUNNABLE.includes(code ?? -1) ? "could not be run" : describeExit(code, signal);
    });
    let pid: number;
    try {
      pid = await started;
    } catch (err) {
      fs.rmSync(socketDir, { recursive: true, force: true });
      throw err;
    }
    fs.writeFileSync(path.join(o.dir, PID_FILE), JSON.stringify({ pid, socketDir }));
    const client = socketClient(socket);
    const deadline = Date.now() + (o.loadTimeoutMs ?? 3600_000);
    const fail = (why: string) => {
      if (exit === "could not be run") {
        fs.rmSync(socketDir, { recursive: true, force: true });
        return cannotRun("not found or not executable");
      }
      child.stdin!.end();
      client.disconnect();
      fs.rmSync(socketDir, { recursive: true, force: true });
      const log = fs.existsSync(path.join(o.dir, LOG_FILE))
        ? fs.readFileSync(path.join(o.dir, LOG_FILE), "utf8").trim().split("\n").slice(-3).join(" | ")
        : "";
      return new ScratchServerError(`the throw-away redis-server ${why}${log ? `: ${log}` : ""}`);
    };
    for (;;) {
      if (exit) throw fail(`${exit} while loading the dataset`);
      if (Date.now() > deadline) throw fail("did not finish loading the dataset in time");
      if (fs.existsSync(socket)) {
        try {
          if (client.status === "wait" || client.status === "end") await client.connect();
          // A replica has nothing to load yet: it is ready once it answers.
          if (o.replicaOf && (await client.ping()) === "PONG") break;
          const info = String(await client.info("persistence"));
          if (/^loading:0/m.test(info)) break;
        } catch {
          if (client.status === "end" || client.status === "close") client.disconnect();
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const server = new ScratchServer(child, socketDir, client, o.dir, loadStartedAt, Date.now());
    server.exitReason = () => exit;
    return server;
  }

  /** Why the process ended, once it has. */
  exitReason: () => string | undefined = () => undefined;

  /** Whether the process still runs. */
  get alive(): boolean {
    return this.exitReason() === undefined;
  }

  /**
   * For a replica: waits until it has loaded the whole payload (link up, no sync, not loading).
   * @param failed a failure of the primary side to stop waiting for.
   */
  async waitSynced(failed: () => Error | undefined, timeoutMs = 3600_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = failed();
      if (f) throw new ScratchServerError(f.message);
      if (!this.alive)
        throw new ScratchServerError(`the throw-away redis-server ${this.exitReason()} while loading`);
      if (Date.now() > deadline)
        throw new ScratchServerError("the throw-away redis-server did not finish loading in time");
      const info =
        String(await this.client.info("replication")) + String(await this.client.info("persistence"));
      if (
        /^master_link_status:up/m.test(info) &&
        /^master_sync_in_progress:0/m.test(info) &&
        /^loading:0/m.test(info)
      )
        return Date.now();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kills the server (nothing of it is kept) and removes its pid file. */
  async stop(): Promise<void> {
    this.client.disconnect();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
      // Closing the pipe is what kills the server (see TIED_TO_PARENT); the shell then exits.
      this.child.stdin!.end();
      await exited;
    }
    fs.rmSync(this.socketDir, { recursive: true, force: true });
    fs.rmSync(path.join(this.dir, PID_FILE), { force: true });
  }
}
