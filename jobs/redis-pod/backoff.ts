// How often a starting data pod asks the sentinels again while it waits (pure): quickly at first, so a
// pod decides within a fraction of a second of the sentinels answering (a restore brings sentinels and
// data pods back together), then less and less often up to a ceiling, so a pod that waits for minutes
// does not keep the sentinels busy; back to quick when what the sentinels say changes.

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
