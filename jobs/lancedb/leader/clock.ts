// Time as the election sees it: one process's own monotonic-enough clock and a way to wait on it.
// Injected so the tests can run a whole failover timeline on simulated clocks with skew and drift.

/** A clock of one candidate. */
export interface Clock {
  /** Milliseconds on this candidate's clock. Only differences of two readings are meaningful. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The process's clock: performance.now() for durations, offset to wall time for readable records. */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
    }),
};
