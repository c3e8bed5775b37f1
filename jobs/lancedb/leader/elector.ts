// Leader election over a LeaseStore, with client-go's safety rules:
// - a candidate treats someone else's lease as expired only after the lease duration has passed on ITS
//   OWN clock since it last saw the lease change (a new version), never by the holder's timestamps;
// - a leader believes it leads only until renewDeadline after the START of its last successful write,
//   and renewDeadline < leaseDuration, so it stops before anyone else's clock can call the lease expired;
// - every write is conditional on the version last read: a conflict means another candidate won.
// The Elector does one attempt at a time and is pure logic over injected store and clock; ElectionLoop
// (./loop) drives it.
import type { Clock } from "./clock";
import { LeaseConflictError, LeaseRecord, LeaseSnapshot, LeaseStore } from "./lease";

/** The election's timing, in milliseconds of each candidate's own clock. */
export interface ElectionTimings {
  /** How long a lease lasts without renewal: what the others wait, since they saw it change. */
  leaseDurationMs: number;
  /** How long a leader trusts its last successful renew (counted from when it started). < leaseDurationMs. */
  renewDeadlineMs: number;
  /** Pause between attempts (a follower adds jitter). */
  retryPeriodMs: number;
}

/** client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry. */
export const DEFAULT_TIMINGS: ElectionTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** The follower's jitter: it waits retryPeriod * (1 + random * JITTER_FACTOR), as client-go does. */
export const JITTER_FACTOR = 1.2;

/** What is wrong with a set of timings; empty when they are safe to use. */
export function timingProblems(t: ElectionTimings): string[] {
  const problems: string[] = [];
  if (!(t.retryPeriodMs > 0)) problems.push("retry period must be positive");
  if (!(t.renewDeadlineMs < t.leaseDurationMs))
    problems.push("renew deadline must be shorter than the lease duration (or two leaders could overlap)");
  if (!(t.renewDeadlineMs > JITTER_FACTOR * t.retryPeriodMs))
    problems.push(`renew deadline must exceed ${JITTER_FACTOR} x the retry period (room for a retry)`);
  return problems;
}

/** The lease duration a record promises, in ms: whole seconds, as a Kubernetes Lease stores it. */
export function leaseDurationSecondsFor(t: ElectionTimings): number {
  return Math.ceil(t.leaseDurationMs / 1000);
}

/** The outcome of one attempt, for logs and tests. */
export interface Attempt {
  /** Whether this candidate leads after the attempt (by its own clock, at the moment it returned). */
  leading: boolean;
  /** What happened: created, acquired, renewed, held, conflict, failed, abandoned. */
  result: "created" | "acquired" | "renewed" | "held" | "conflict" | "failed" | "abandoned";
  /** The holder the lease names after the attempt, when known. */
  holder?: string;
  /** The error of a failed attempt. */
  error?: Error;
}

/** One candidate of an election. */
export class Elector {
  /** The last version of the lease this candidate saw, and when (its clock) it first saw it. */
  private observed?: { snapshot: LeaseSnapshot; at: number };
  /** This candidate may act as leader while its clock reads less than this. */
  private validUntil = -Infinity;
  /** Sequence of attempts; results of an abandoned (older) attempt are discarded. */
  private attemptSeq = 0;
  /** The holder this candidate took the lease from at its last acquisition. */
  private displaced?: string;

  /**
   * @param identity unique per process incarnation (the sidecar uses `<pod>_<random>`), so a restarted
   *   process never inherits a lease a previous one may still believe in.
   * @param store where the lease lives.
   * @param clock this candidate's clock.
   * @param timings see ElectionTimings; must pass timingProblems.
   */
  constructor(
    public readonly identity: string,
    private readonly store: LeaseStore,
    private readonly clock: Clock,
    public readonly timings: ElectionTimings = DEFAULT_TIMINGS,
  ) {
    const problems = timingProblems(timings);
    if (problems.length > 0) throw new Error(`unsafe election timings: ${problems.join("; ")}`);
    if (!identity) throw new Error("an elector needs a non-empty identity");
  }

  /** Whether this candidate may act as leader right now (by its own clock). */
  isLeader(): boolean {
    return this.clock.now() < this.validUntil;
  }

  /** The time on this candidate's clock until which it may act as leader; -Infinity when it may not. */
  leaderUntil(): number {
    return this.validUntil;
  }

  /** The holder named by the last lease this candidate saw ("" when released or never seen). */
  observedHolder(): string {
    return this.observed?.snapshot.record.holderIdentity ?? "";
  }

  /** The previous holder this candidate displaced when it last acquired the lease, if any. */
  displacedHolder(): string | undefined {
    return this.displaced;
  }

  /** Stops believing it leads, at once. The lease itself is left to expire (see release). */
  stepDown(): void {
    this.validUntil = -Infinity;
  }

  /** Discards the result of the attempt in flight (it timed out or the loop is stopping). */
  abandon(): void {
    this.attemptSeq++;
  }

  /** One attempt to acquire the lease or renew it. Never rejects: failures are outcomes. */
  async tryAcquireOrRenew(): Promise<Attempt> {
    const seq = ++this.attemptSeq;
    const started = this.clock.now();
    const stale = () => seq !== this.attemptSeq;

    let current: LeaseSnapshot | undefined;
    try {
      current = await this.store.get();
    } catch (err) {
      return stale() ? this.abandoned() : this.failed(err);
    }
    if (stale()) return this.abandoned();

    if (!current) {
      try {
        const created = await this.store.create(this.freshRecord(started, 0));
        if (stale()) return this.abandoned();
        return this.won(created, started, undefined, "created");
      } catch (err) {
        return stale() ? this.abandoned() : this.failed(err);
      }
    }

    const now = this.clock.now();
    this.see(current, now);
    const holder = current.record.holderIdentity;
    if (holder && holder !== this.identity) {
      const expiresAt = this.observed!.at + this.promisedDurationMs(current.record);
      if (now < expiresAt) {
        this.validUntil = -Infinity;
        return { leading: false, result: "held", holder };
      }
    }

    const record: LeaseRecord =
      holder === this.identity
        ? { ...current.record, renewTime: now, leaseDurationSeconds: leaseDurationSecondsFor(this.timings) }
        : this.freshRecord(now, current.record.leaseTransitions + 1);
    try {
      const written = await this.store.update(record, current.version);
      if (stale()) return this.abandoned();
      return this.won(
        written,
        started,
        holder && holder !== this.identity ? holder : undefined,
        holder === this.identity ? "renewed" : "acquired",
      );
    } catch (err) {
      return stale() ? this.abandoned() : this.failed(err);
    }
  }

  /**
   * Gives the lease up so a standby need not wait for it to expire: steps down first, then, if the
   * lease still names this candidate, writes it with no holder. Returns whether it was released.
   */
  async release(): Promise<boolean> {
    this.stepDown();
    this.abandon();
    try {
      const current = await this.store.get();
      if (!current || current.record.holderIdentity !== this.identity) return false;
      const now = this.clock.now();
      await this.store.update(
        { ...current.record, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now },
        current.version,
      );
      return true;
    } catch {
      return false;
    }
  }

  private freshRecord(now: number, leaseTransitions: number): LeaseRecord {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: leaseDurationSecondsFor(this.timings),
      acquireTime: now,
      renewTime: now,
      leaseTransitions,
    };
  }

  /** The duration the holder promised in the record; ours when the record has none. */
  private promisedDurationMs(record: LeaseRecord): number {
    return record.leaseDurationSeconds > 0
      ? record.leaseDurationSeconds * 1000
      : this.timings.leaseDurationMs;
  }

  /** Records a version of the lease, restarting the expiry wait when it is one not seen before. */
  private see(snapshot: LeaseSnapshot, now: number): void {
    if (!this.observed || this.observed.snapshot.version !== snapshot.version) {
      this.observed = { snapshot, at: now };
    }
  }

  private won(
    written: LeaseSnapshot,
    started: number,
    displaced: string | undefined,
    result: "created" | "acquired" | "renewed",
  ): Attempt {
    this.see(written, this.clock.now());
    // Counted from when the attempt started: the write landed after that, so every other candidate
    // saw the new version after it too, and waits a full lease duration from then.
    this.validUntil = started + this.timings.renewDeadlineMs;
    if (result !== "renewed") this.displaced = displaced;
    return { leading: this.isLeader(), result, holder: this.identity };
  }

  private failed(err: unknown): Attempt {
    const error = err instanceof Error ? err : new Error(String(err));
    if (err instanceof LeaseConflictError) {
      // Someone else wrote the lease since we read it: whatever we believed, we do not lead now.
      this.validUntil = -Infinity;
      return { leading: false, result: "conflict", holder: this.observedHolder(), error };
    }
    // A failed call changes nothing we know: a leader keeps leading until its deadline passes.
    return { leading: this.isLeader(), result: "failed", holder: this.observedHolder(), error };
  }

  private abandoned(): Attempt {
    return { leading: this.isLeader(), result: "abandoned", holder: this.observedHolder() };
  }
}
