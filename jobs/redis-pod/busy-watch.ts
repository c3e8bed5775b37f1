// The busy-script watch of a data pod's sidecar. A script that keeps Redis busy past busy-reply-threshold
// makes Redis answer every other client BUSY; Sentinel counts those answers as no answer, marks the
// primary down after down-after-milliseconds, and only then sends SCRIPT KILL — too late to stop the
// failover (measured: 3 failovers in 3 tries with a 20 s script). This watch keeps a PING outstanding on
// the local node, and the moment the answer is BUSY it sends SCRIPT KILL (FUNCTION KILL for a function),
// with half of down-after still to spare. The application user's scripts are read-only, so each can be
// killed; one that has written (only admin can run such a script) cannot, and is reported.
import Redis from "ioredis";
import type { Credentials, NodeAddress } from "../redis/client";

/** How often the watch asks the node, when it answers. */
export const BUSY_CHECK_INTERVAL_MS = 250;

/** Settings of the watch. */
export interface BusyWatchOptions {
  local: NodeAddress;
  /** A user that may run SCRIPT KILL and FUNCTION KILL (the sidecar's admin). */
  credentials: Credentials;
  intervalMs?: number;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  warn: (msg: string, fields?: Record<string, unknown>) => void;
}

/** The command that ends what a BUSY answer names: a script (SCRIPT KILL) or a function (FUNCTION KILL). */
export function killCommandFor(busyAnswer: string): [string, string] | undefined {
  if (!busyAnswer.startsWith("BUSY")) return undefined;
  if (/FUNCTION KILL/i.test(busyAnswer)) return ["FUNCTION", "KILL"];
  if (/SCRIPT KILL/i.test(busyAnswer)) return ["SCRIPT", "KILL"];
  return undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}

/** Watches the local node until `signal` aborts, killing scripts that keep it busy. */
export async function watchBusyScripts(o: BusyWatchOptions, signal: AbortSignal): Promise<void> {
  const client = new Redis({
    host: o.local.host,
    port: o.local.port,
    username: o.credentials.username,
    password: o.credentials.password,
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    // A node restarting is normal: try again every second, for as long as the pod runs.
    retryStrategy: () => 1000,
  });
  client.on("error", () => undefined);
  signal.addEventListener("abort", () => client.disconnect(), { once: true });
  let reportedUnkillable = false;
  await client.connect().catch(() => undefined);
  while (!signal.aborted) {
    // No command timeout: a node busy but not yet past busy-reply-threshold answers this PING at the
    // threshold, with BUSY.
    const answer = await client.ping().then(
      () => undefined,
      (err: Error) => err.message,
    );
    const kill = answer ? killCommandFor(answer) : undefined;
    if (kill) {
      const t0 = Date.now();
      const outcome = await client.call(...kill).then(
        () => "killed",
        (err: Error) => err.message,
      );
      if (outcome === "killed") {
        reportedUnkillable = false;
        o.log("killed a script that kept Redis busy past busy-reply-threshold", {
          command: kill.join(" "),
          ms: Date.now() - t0,
        });
        continue;
      }
      if (outcome.startsWith("UNKILLABLE") && !reportedUnkillable) {
        reportedUnkillable = true;
        o.warn(
          "a script that has written keeps Redis busy and cannot be killed: past down-after-milliseconds " +
            "the sentinels fail the primary over and its writes are lost; SHUTDOWN NOSAVE is the only way to stop it",
          { answer: outcome },
        );
      }
    } else if (!answer) reportedUnkillable = false;
    await sleep(o.intervalMs ?? BUSY_CHECK_INTERVAL_MS, signal);
  }
  client.disconnect();
}
