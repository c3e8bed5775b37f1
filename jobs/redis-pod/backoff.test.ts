// The init container's pauses between looks at the sentinels: quick first, growing to a ceiling, never past
// the timeout.
import { nextPause, ROLE_BACKOFF, waitBackoff } from "./backoff";

function pauses(n: number, remaining?: (elapsed: number) => number): number[] {
  const out: number[] = [];
  let last: number | undefined;
  let elapsed = 0;
  for (let i = 0; i < n; i++) {
    last = nextPause(ROLE_BACKOFF, last, remaining?.(elapsed));
    out.push(last);
    elapsed += last;
  }
  return out;
}

describe("nextPause", () => {
  it("starts at 100 ms and doubles to 2 s, where it stays", () => {
    expect(pauses(8)).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  });

  it("asks at most every 2 s once it has waited 3 s, and nine times in the first 10 s (a fixed 2 s pause: six)", () => {
    const p = pauses(20);
    let t = 0;
    const looks = [0];
    for (const x of p) looks.push((t += x));
    expect(looks.filter((x) => x <= 10_000)).toHaveLength(9);
    expect(p.slice(5).every((x) => x === 2000)).toBe(true);
  });

  it("never sleeps past the time left", () => {
    expect(pauses(8, (elapsed) => 5000 - elapsed)).toEqual([100, 200, 400, 800, 1600, 1900, 0, 0]);
  });

  it("starts quick again after what was seen changed (previous undefined)", () => {
    expect(nextPause(ROLE_BACKOFF, undefined)).toBe(100);
  });
});

describe("waitBackoff (the stack commands' waits on the cluster)", () => {
  it("looks after 50 ms, then doubles up to the poll interval, where it stays", () => {
    const b = waitBackoff(250);
    const out: number[] = [];
    let last: number | undefined;
    for (let i = 0; i < 6; i++) out.push((last = nextPause(b, last)));
    expect(out).toEqual([50, 100, 200, 250, 250, 250]);
  });

  it("never looks less often than the poll interval asks, nor waits longer than it at first", () => {
    expect(nextPause(waitBackoff(20), undefined)).toBe(20);
    expect(nextPause(waitBackoff(1000), 800)).toBe(1000);
  });
});
