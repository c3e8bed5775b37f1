// The election sidecar of a LanceDB pod: runs the election and makes its outcome visible.
// - Marker file: written when this pod starts leading, removed the moment it stops (local, instant).
// - Pod condition for the readiness gate: True on the leader, False otherwise, reconciled after every
//   attempt until the API accepts it. A new leader first sets the displaced holder's pod to False (so
//   a partitioned old leader stops receiving traffic even if it cannot reach the API), then its own.
// - Health endpoints for the kubelet: /leader answers 200 only while leading (the sidecar's readiness,
//   which keeps the pod out of the Service whenever the local belief lapses, even if the API is
//   unreachable), /healthz answers 200 while the loop keeps making attempts (liveness).
import * as http from "http";
import type { AddressInfo } from "net";
import { Clock, systemClock } from "./clock";
import { Attempt, ElectionTimings, Elector } from "./elector";
import type { LeaseStore } from "./lease";
import { ElectionLoop } from "./loop";
import { removeMarker, writeMarker } from "./marker";
import type { PodConditionWriter } from "./pod-condition";

/** What the sidecar reports (logs, /status). */
export interface SidecarLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** Settings of one sidecar. */
export interface SidecarOptions {
  /** This process's identity in the lease: `<pod>_<random>` (see podOfIdentity). */
  identity: string;
  /** This pod's name: whose condition it sets. */
  pod: string;
  timings: ElectionTimings;
  store: LeaseStore;
  conditions: PodConditionWriter;
  /** The marker file; empty writes none. */
  markerFile: string;
  /** Port of the health endpoints; undefined serves none, 0 picks a free one (tests). */
  healthPort?: number;
  clock?: Clock;
  log?: SidecarLog;
  random?: () => number;
}

/** A lease identity for a pod: the pod name and a random suffix unique to this process. */
export function identityFor(pod: string, suffix: string): string {
  return `${pod}_${suffix}`;
}

/** The pod an identity names (`lancedb-0_3fa2c1d0` -> `lancedb-0`); pod names never contain `_`. */
export function podOfIdentity(identity: string): string {
  return identity.split("_")[0];
}

const quiet: SidecarLog = { info: () => undefined, warn: () => undefined };

/** The sidecar. */
export class ElectionSidecar {
  readonly elector: Elector;
  readonly loop: ElectionLoop;
  private readonly clock: Clock;
  private readonly log: SidecarLog;
  private health?: http.Server;
  private running?: Promise<void>;
  /** What this pod's condition was last set to (undefined: unknown, e.g. at start or after a failure). */
  private published?: boolean;
  /** A displaced holder's pod still to be set False before this pod's condition goes True. */
  private fence?: string;
  private reconciling = false;
  private again = false;
  private halted = false;
  private lastResult?: string;

  constructor(private readonly o: SidecarOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.log ?? quiet;
    this.elector = new Elector(o.identity, o.store, this.clock, o.timings);
    this.loop = new ElectionLoop(
      this.elector,
      this.clock,
      {
        onLeadershipChange: (leading, detail) => this.changed(leading, detail.displaced),
        onAttempt: (a) => this.attempted(a),
      },
      { random: o.random },
    );
  }

  /** Whether this sidecar currently acts as leader. */
  get leading(): boolean {
    return this.loop.leading;
  }

  /** The health endpoints' port, once started. */
  get healthPort(): number | undefined {
    return (this.health?.address() as AddressInfo | null)?.port;
  }

  /** Starts serving health and running the election; resolves once the health endpoints listen. */
  async start(): Promise<void> {
    if (this.o.healthPort !== undefined) {
      this.health = http.createServer((req, res) => this.serveHealth(req, res));
      await new Promise<void>((resolve) => this.health!.listen(this.o.healthPort, resolve));
    }
    if (this.o.markerFile) removeMarker(this.o.markerFile);
    this.log.info("election started", { identity: this.o.identity, lease: this.o.store.description });
    this.running = this.loop.run();
    void this.reconcile();
  }

  /**
   * Stops: steps down (marker removed, condition False), then with `release` gives the lease up so a
   * standby takes over at once. Run it only once the application has stopped writing.
   */
  async stop(options: { release: boolean }): Promise<void> {
    await this.loop.stop(options);
    await this.running;
    if (this.o.markerFile) removeMarker(this.o.markerFile);
    try {
      await this.o.conditions.set(
        this.o.pod,
        false,
        "Stopped",
        `election sidecar ${this.o.identity} stopped`,
      );
    } catch (err) {
      this.log.warn("could not clear the leader condition at exit", { error: (err as Error).message });
    }
    await this.closeHealth();
    this.log.info("election stopped", { identity: this.o.identity, released: options.release });
  }

  /** Stops at once, as a killed process would: no step-down through the API, no release, marker left. */
  async halt(): Promise<void> {
    this.halted = true;
    void this.loop.stop({ release: false });
    await this.closeHealth();
  }

  /** What /status reports. */
  status(): Record<string, unknown> {
    return {
      identity: this.o.identity,
      pod: this.o.pod,
      leading: this.loop.leading,
      holder: this.elector.observedHolder(),
      conditionPublished: this.published ?? null,
    };
  }

  private changed(leading: boolean, displaced: string | undefined): void {
    if (this.halted) return;
    if (leading) {
      if (this.o.markerFile)
        writeMarker(this.o.markerFile, {
          holder: this.o.identity,
          pod: this.o.pod,
          since: new Date().toISOString(),
        });
      const displacedPod = displaced ? podOfIdentity(displaced) : undefined;
      this.fence = displacedPod && displacedPod !== this.o.pod ? displacedPod : undefined;
      this.log.info("leading", { identity: this.o.identity, displaced: displaced ?? null });
    } else {
      if (this.o.markerFile) removeMarker(this.o.markerFile);
      this.log.info("not leading", {
        identity: this.o.identity,
        holder: this.elector.observedHolder() || null,
      });
    }
    void this.reconcile();
  }

  private attempted(a: Attempt): void {
    const summary = `${a.result}${a.error ? `: ${a.error.message}` : ""}`;
    if (summary !== this.lastResult && (a.result === "failed" || a.result === "abandoned"))
      this.log.warn("lease attempt did not complete", { result: a.result, error: a.error?.message ?? null });
    this.lastResult = summary;
    void this.reconcile();
  }

  /** Brings this pod's condition (and a displaced holder's) in line with the loop; one run at a time. */
  private async reconcile(): Promise<void> {
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    try {
      do {
        this.again = false;
        if (this.halted) return;
        const leading = this.loop.leading;
        if (leading && this.fence) {
          const fenced = this.fence;
          await this.o.conditions.set(fenced, false, "LeaseLost", `lease taken over by ${this.o.identity}`);
          if (this.fence === fenced) this.fence = undefined;
          this.log.info("fenced the previous leader's pod", { pod: fenced });
        }
        if (this.loop.leading !== leading) {
          this.again = true;
          continue;
        }
        if (this.published !== leading) {
          this.published = undefined;
          await this.o.conditions.set(
            this.o.pod,
            leading,
            leading ? "LeaseHeld" : "Standby",
            leading
              ? `holds the lease as ${this.o.identity}`
              : `lease held by ${this.elector.observedHolder() || "nobody"}`,
          );
          this.published = leading;
        }
      } while (this.again || this.published !== this.loop.leading);
    } catch (err) {
      this.log.warn("could not update the leader condition; will retry", { error: (err as Error).message });
    } finally {
      this.reconciling = false;
    }
  }

  private serveHealth(req: http.IncomingMessage, res: http.ServerResponse): void {
    const t = this.o.timings;
    const answer = (status: number, body: Record<string, unknown>) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body) + "\n");
    };
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/leader") return answer(this.loop.leading ? 200 : 503, this.status());
    if (path === "/healthz") {
      // An attempt finishes at least every renewDeadline + a jittered retry period: allow twice that.
      const since = this.clock.now() - this.loop.lastAttemptFinishedAt;
      const alive =
        this.running !== undefined &&
        (since < 2 * (t.renewDeadlineMs + 2.2 * t.retryPeriodMs) || !Number.isFinite(since));
      return answer(alive ? 200 : 503, {
        ...this.status(),
        lastAttemptMsAgo: Number.isFinite(since) ? Math.round(since) : null,
      });
    }
    if (path === "/status") return answer(200, this.status());
    answer(404, { error: "not found" });
  }

  private async closeHealth(): Promise<void> {
    const server = this.health;
    if (!server) return;
    this.health = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
