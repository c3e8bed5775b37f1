// A simulated world for the election tests: one true timeline, candidates whose clocks are offset from it and
// run fast or slow, and an in-memory lease store whose calls take simulated time and can fail, hang or
// lose their response (a partition that lets the write land). Nothing here waits on real time.
import type { Clock } from "../jobs/lancedb/leader/clock";
import { LeaseConflictError, LeaseRecord, LeaseSnapshot, LeaseStore } from "../jobs/lancedb/leader/lease";

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

/** The true timeline. Timers fire in order; after each, pending promise reactions run to completion. */
export class SimWorld {
  /** True time, ms. */
  time = 0;
  private timers: Timer[] = [];
  private seq = 0;
  /** Called after every timer (and at every step) so a test can check an invariant at that instant. */
  observers: Array<(time: number) => void> = [];

  /** Resolves when true time reaches now + ms (or at once, on the next step, when aborted). */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fire: resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        "abort",
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Advances true time to `until`, firing every timer due on the way, and observing after each. */
  async runUntil(until: number): Promise<void> {
    await settle();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.fire();
      await settle();
      this.observe();
    }
    this.time = until;
    await settle();
    this.observe();
  }

  /** Advances in steps of `step` ms up to `until`, observing at every step (and after every timer). */
  async runInSteps(until: number, step: number): Promise<void> {
    while (this.time < until) await this.runUntil(Math.min(until, this.time + step));
  }

  private observe(): void {
    for (const o of this.observers) o(this.time);
  }
}

/** Lets every pending promise reaction run (microtasks chain until the queue is empty). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A candidate's clock: `offset + rate * trueTime`. Sleeping `ms` of it takes `ms / rate` of true time. */
export class SimClock implements Clock {
  constructor(
    private readonly world: SimWorld,
    public offset = 0,
    public rate = 1,
  ) {}

  now(): number {
    return this.offset + this.rate * this.world.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.world.sleep(ms / this.rate, signal);
  }
}

/** How one client's calls to the in-memory store behave. */
export interface ClientFaults {
  /** True ms from the call to the server applying it. Default 0. */
  requestLatency?: number | (() => number);
  /** True ms from the server applying it to the caller seeing the result. Default 0. */
  responseLatency?: number | (() => number);
  /**
   * A partition: "error" fails every call after the request latency without reaching the server;
   * "blackhole" never answers and never reaches the server; "lost-response" reaches the server (writes
   * land) and never answers.
   */
  partition?: "error" | "blackhole" | "lost-response";
}

function ms(v: number | (() => number) | undefined): number {
  return typeof v === "function" ? v() : (v ?? 0);
}

/** The lease as the server holds it, shared by every client. */
export class InMemoryLease {
  private current?: LeaseSnapshot;
  private version = 0;
  /** Every successful write, in order, with the true time it landed. */
  readonly writes: Array<{ time: number; record: LeaseRecord }> = [];

  constructor(private readonly world: SimWorld) {}

  /** The lease now (a copy). */
  peek(): LeaseSnapshot | undefined {
    return this.current && { record: { ...this.current.record }, version: this.current.version };
  }

  /** A client of this lease, with its own faults (mutable during a test). */
  client(name: string, faults: ClientFaults = {}): InMemoryLeaseClient {
    return new InMemoryLeaseClient(this, this.world, name, faults);
  }

  /** @internal server side of get. */
  serveGet(): LeaseSnapshot | undefined {
    return this.peek();
  }

  /** @internal server side of create. */
  serveCreate(record: LeaseRecord): LeaseSnapshot {
    if (this.current) throw new LeaseConflictError("lease already exists");
    return this.write(record);
  }

  /** @internal server side of a conditional update. */
  serveUpdate(record: LeaseRecord, version: string): LeaseSnapshot {
    if (!this.current) throw new LeaseConflictError("lease does not exist");
    if (this.current.version !== version)
      throw new LeaseConflictError(`lease is at version ${this.current.version}, not ${version}`);
    return this.write(record);
  }

  private write(record: LeaseRecord): LeaseSnapshot {
    this.current = { record: { ...record }, version: String(++this.version) };
    this.writes.push({ time: this.world.time, record: { ...record } });
    return this.peek()!;
  }
}

/** One candidate's connection to the in-memory lease. */
export class InMemoryLeaseClient implements LeaseStore {
  readonly description: string;

  constructor(
    private readonly lease: InMemoryLease,
    private readonly world: SimWorld,
    name: string,
    public faults: ClientFaults,
  ) {
    this.description = `memory lease (client ${name})`;
  }

  get(): Promise<LeaseSnapshot | undefined> {
    return this.call(() => this.lease.serveGet());
  }

  create(record: LeaseRecord): Promise<LeaseSnapshot> {
    return this.call(() => this.lease.serveCreate(record));
  }

  update(record: LeaseRecord, version: string): Promise<LeaseSnapshot> {
    return this.call(() => this.lease.serveUpdate(record, version));
  }

  private async call<T>(serve: () => T): Promise<T> {
    const partition = this.faults.partition;
    await this.world.sleep(ms(this.faults.requestLatency));
    if (partition === "error" || this.faults.partition === "error") throw new Error("connection refused");
    if (partition === "blackhole") return new Promise<T>(() => undefined);
    let result: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      result = { ok: true, value: serve() };
    } catch (error) {
      result = { ok: false, error };
    }
    if (partition === "lost-response" || this.faults.partition === "lost-response")
      return new Promise<T>(() => undefined);
    await this.world.sleep(ms(this.faults.responseLatency));
    if (!result.ok) throw result.error;
    return result.value;
  }
}

/** A small deterministic PRNG (mulberry32) for jitter and random latencies. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
