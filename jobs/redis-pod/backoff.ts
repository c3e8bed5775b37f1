// How often a starting data pod asks the sentinels again while it waits (pure): quickly at first, so a
// pod decides within a fraction of a second of the sentinels answering (a restore brings sentinels and
// data pods back together), then less and less often up to a ceiling, so a pod that waits for minutes
// does not keep the sentinels busy; back to quick when what the sentinels say changes. The stack
// commands' waits on the cluster (a Job, a StatefulSet's pods) pause the same way (waitBackoff).

/** The pauses of a wait. */
export interface Backoff {
  /** The first pause, in milliseconds. */
  firstMs: number;
  /** The longest pause, in milliseconds. */
  maxMs: number;
  /** Each pause is the previous one times this. */
  factor: number;
}

/** 100 ms, doubling to 2 s: the pod decides quickly and asks at most every 2 s after the first 3 s. */
export const ROLE_BACKOFF: Backoff = { firstMs: 100, maxMs: 2000, factor: 2 };

/**
 * The pause before the next look.
 * @param previousMs the last pause; undefined for the first one, or after what was seen changed.
 * @param remainingMs time left before the wait gives up (undefined: it never does); never slept past.
 */
export function nextPause(b: Backoff, previousMs: number | undefined, remainingMs?: number): number {
  const pause = previousMs === undefined ? b.firstMs : Math.min(b.maxMs, Math.ceil(previousMs * b.factor));
  return remainingMs === undefined ? pause : Math.max(0, Math.min(pause, remainingMs));
}

/**
 * The pauses of a wait on the cluster (a Job, pods going or coming): 50 ms, doubling up to `pollMs`.
 * What is waited for often ends within a second (pods of a scale-down gone, a short Job): it is seen
 * then, not up to a whole poll interval later; a long wait costs a few more looks at its start only.
 */
export function waitBackoff(pollMs: number): Backoff {
  return { firstMs: Math.min(50, pollMs), maxMs: pollMs, factor: 2 };
}
