// Where a restore's time went: each step's milliseconds, taken as the step ends (the time since the
// previous one ended is added to it), in the order the steps ran. The restore reports it as `took`, so
// a slow restore says which step was slow: the plan, the base's download, the syncs, the serving
// server's load, or the checks and handover after it.
import { performance } from "perf_hooks";

/** A clock of a restore's steps. */
export class Took {
  private last = performance.now();
  private readonly ms = new Map<string, number>();

  /** Ends step `name` now: the time since the previous step ended is added to it. */
  end(name: string): void {
    const now = performance.now();
    this.ms.set(name, (this.ms.get(name) ?? 0) + now - this.last);
    this.last = now;
  }

  /** Gives the first `ms` of the time since the previous step ended to step `name` (timed elsewhere). */
  first(name: string, ms: number): void {
    const now = performance.now();
    const part = Math.min(ms, now - this.last);
    this.ms.set(name, (this.ms.get(name) ?? 0) + part);
    this.last += part;
  }

  /** Each step's milliseconds (whole), in the order they first ended. */
  steps(): Record<string, number> {
    return Object.fromEntries([...this.ms].map(([k, v]) => [k, Math.round(v)]));
  }
}

/** `took 2.1 s: plan 0.61 s, load 1.02 s, ...`: a breakdown as people read it. */
export function formatTook(totalMs: number, steps: Record<string, number>): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const parts = Object.entries(steps).map(([k, v]) => `${k} ${s(v)}`);
  return `took ${s(totalMs)}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}
