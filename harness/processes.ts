// Real processes for tests: free loopback ports, children whose output goes to log files, and a group
// that always kills what it started, even when a test fails or the worker exits.
import { ChildProcess, spawn, SpawnOptions } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

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
