// Real processes for tests: free loopback ports, children whose output goes to log files, and a group
// that always kills what it started, even when a test fails or the worker exits.
import { ChildProcess, spawn, SpawnOptions } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

// Ports come from below the kernel's ephemeral range (32768 and up), so an outgoing connection can
// never hold a port a test is about to give a server, and each Jest worker draws from its own slice
// of it, so two test files running side by side never pick the same port.
const PORT_BASE = 20000;
const PORT_SLICE = 1500;
const PORT_SLICES = 8;
// HOLDFAST_PORT_SLICE sets the slice of a Jest run that runs beside another (the image test in CI).
const slice = Number(process.env.HOLDFAST_PORT_SLICE ?? process.env.JEST_WORKER_ID ?? 0) % PORT_SLICES;
let nextPort = Math.floor(Math.random() * PORT_SLICE);

function listensFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A loopback port nothing listens on right now, from this worker's own slice of ports. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORT_SLICE; tries++) {
    const port = PORT_BASE + slice * PORT_SLICE + (nextPort++ % PORT_SLICE);
    if (await listensFree(port)) return port;
  }
  throw new Error(`no free loopback port in ${PORT_BASE + slice * PORT_SLICE}+${PORT_SLICE}`);
}

/** Thrown by a `waitFor` check to stop waiting at once (the thing waited for can no longer happen). */
export class GiveUp extends Error {}

/** Waits until `check` resolves true, polling every `intervalMs`; throws `what` on timeout. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof GiveUp) throw new Error(`gave up waiting for ${what}: ${err.message}`);
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The outcome of a process run to completion. */
export interface Completed {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/**
 * Runs a process to completion, capturing its output.
 * @param options spawn options, and `input` for its stdin (empty by default).
 * @param started sees the child as soon as it is spawned.
 */
export function capture(
  command: string,
  args: string[],
  options: SpawnOptions & { input?: string } = {},
  started?: (child: ChildProcess) => void,
): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["pipe", "pipe", "pipe"] });
    started?.(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin!.end(options.input ?? "");
  });
}

/** Children started by one test file; `killAll` in afterAll ends whatever is left. */
export class ProcessGroup {
  private readonly children = new Set<ChildProcess>();

  /**
   * @param logDir where each child's stdout and stderr go (`<name>.log`).
   */
  constructor(private readonly logDir: string) {
    fs.mkdirSync(logDir, { recursive: true });
  }

  /** The last `lines` lines a process started as `name` wrote. */
  logTail(name: string, lines = 20): string {
    try {
      return fs
        .readFileSync(path.join(this.logDir, `${name}.log`), "utf8")
        .trimEnd()
        .split("\n")
        .slice(-lines)
        .join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** Starts a long-running process. */
  start(name: string, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const out = fs.openSync(path.join(this.logDir, `${name}.log`), "a");
    const child = spawn(command, args, { ...options, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    this.track(child);
    return child;
  }

  /** Runs a process to completion, capturing its output. */
  run(command: string, args: string[], options: SpawnOptions & { input?: string } = {}): Promise<Completed> {
    return capture(command, args, options, (child) => this.track(child));
  }

  /** Sends `signal` and waits until the process has exited. */
  async stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 20000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Kills every process of the group that still runs. */
  async killAll(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.stop(c, "SIGKILL")));
  }

  private track(child: ChildProcess): void {
    this.children.add(child);
    live.add(child);
    child.once("exit", () => {
      this.children.delete(child);
      live.delete(child);
    });
  }
}
