// Drives an Elector: attempts every retry period (a follower with jitter), gives up on an attempt that
// hangs, and reports every change of leadership the moment it happens, including the moment a leader's
// deadline passes while a renew is still in flight. Stopping can release the lease for a fast hand-over.
import type { Clock } from "./clock";
import { Attempt, Elector, JITTER_FACTOR } from "./elector";

/** What the loop tells its owner. Handlers run synchronously inside the loop: keep them short. */
export interface ElectionEvents {
  /**
   * This candidate started (true) or stopped (false) leading. On start, `displaced` is the previous
   * holder it took the lease from, if any (so the caller can fence it).
   */
  onLeadershipChange?(leading: boolean, detail: { displaced?: string }): void;
  /** Every finished attempt, for logs. */
  onAttempt?(attempt: Attempt): void;
}

/** Tuning of the loop. */
export interface ElectionLoopOptions {
  /** Random source for the follower's jitter (tests pass a seeded one). Default Math.random. */
  random?: () => number;
  /** How long to wait for one attempt before abandoning it. Default: the renew deadline. */
  attemptTimeoutMs?: number;
}

/** Runs one candidate until stopped. */
export class ElectionLoop {
  private published = false;
  private stopping = false;
  private release = false;
  private wake?: AbortController;
  private running?: Promise<void>;
  private readonly random: () => number;
  private readonly attemptTimeoutMs: number;
  private lastAttemptAt = -Infinity;

  constructor(
    private readonly elector: Elector,
    private readonly clock: Clock,
    private readonly events: ElectionEvents = {},
    options: ElectionLoopOptions = {},
  ) {
    this.random = options.random ?? Math.random;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? elector.timings.renewDeadlineMs;
  }

  /** Whether the loop has reported this candidate as leader (what the sidecar acts on). */
  get leading(): boolean {
    return this.published;
  }

  /** When (this candidate's clock) the last attempt finished, whatever its outcome. */
  get lastAttemptFinishedAt(): number {
    return this.lastAttemptAt;
  }

  /** Starts the loop; resolves when it has stopped. Calling it again returns the same run. */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /**
   * Stops the loop. With `release`, a leader steps down first and then gives the lease up, so a standby
   * takes over within a retry period instead of a lease duration.
   */
  async stop(options: { release: boolean }): Promise<void> {
    this.stopping = true;
    this.release = options.release;
    this.wake?.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const t = this.elector.timings;
    while (!this.stopping) {
      const attempt = await this.waitUntil(
        this.clock.now() + this.attemptTimeoutMs,
        this.elector.tryAcquireOrRenew(),
      );
      if (attempt === undefined) this.elector.abandon();
      this.lastAttemptAt = this.clock.now();
      this.publish();
      if (attempt) this.events.onAttempt?.(attempt);
      if (this.stopping) break;
      const pause = this.elector.isLeader()
        ? t.retryPeriodMs
        : t.retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
      await this.waitUntil(this.clock.now() + pause);
    }
    // Step down before anyone else can be let in: the report goes out before the lease is released.
    this.elector.stepDown();
    this.elector.abandon();
    this.publish();
    if (this.release)
      await this.waitUntil(this.clock.now() + this.attemptTimeoutMs, this.elector.release(), true);
  }

  /**
   * Waits until `deadline` (this candidate's clock) or until `work` settles, whichever is first, waking
   * at the leader deadline to report the step-down on time. Resolves to work's value, or undefined when
   * the deadline came first or the loop is stopping (unless `ignoreStop`).
   */
  private async waitUntil<T>(
    deadline: number,
    work?: Promise<T>,
    ignoreStop = false,
  ): Promise<T | undefined> {
    let settled = false;
    let value: T | undefined;
    const done = work?.then(
      (v) => {
        settled = true;
        value = v;
      },
      () => {
        settled = true;
      },
    );
    for (;;) {
      if (settled) return value;
      if (this.stopping && !ignoreStop) return undefined;
      const now = this.clock.now();
      if (now >= deadline) return undefined;
      let wakeIn = deadline - now;
      if (this.published) wakeIn = Math.min(wakeIn, Math.max(0, this.elector.leaderUntil() - now));
      const wake = new AbortController();
      this.wake = wake;
      await Promise.race(
        done ? [done, this.clock.sleep(wakeIn, wake.signal)] : [this.clock.sleep(wakeIn, wake.signal)],
      );
      wake.abort();
      this.publish();
    }
  }

  /** Reports a change of this candidate's belief, once per change. */
  private publish(): void {
    const leading = this.elector.isLeader();
    if (leading === this.published) return;
    this.published = leading;
    this.events.onLeadershipChange?.(leading, leading ? { displaced: this.elector.displacedHolder() } : {});
  }
}
