// Redis's glob-style key patterns (`KEYS`, `SCAN MATCH`, `redis-cli --scan --pattern`), matched on raw
// key bytes exactly as Redis 7 matches them (a port of stringmatchlen in util.c: `*`, `?`, `[...]` with
// `^` and ranges, backslash escapes), so counts taken from an RDB agree with SCAN on the loaded data.

/** C's signed char, which Redis compares in `[a-z]` ranges. */
const signed = (b: number) => (b > 127 ? b - 256 : b);

function matchImpl(
  p: Uint8Array,
  pi: number,
  s: Uint8Array,
  si: number,
  state: { skipLonger: boolean },
  nesting: number,
): boolean {
  if (nesting > 1000) return false;
  const pEnd = p.length;
  const sEnd = s.length;
  while (pi < pEnd && si < sEnd) {
    const c = p[pi];
    if (c === 0x2a /* * */) {
      while (pi + 1 < pEnd && p[pi + 1] === 0x2a) pi++;
      if (pi + 1 === pEnd) return true;
      while (si < sEnd) {
        if (matchImpl(p, pi + 1, s, si, state, nesting + 1)) return true;
        if (state.skipLonger) return false;
        si++;
      }
      state.skipLonger = true;
      return false;
    } else if (c === 0x3f /* ? */) {
      si++;
    } else if (c === 0x5b /* [ */) {
      pi++;
      const not = p[pi] === 0x5e; /* ^ */
      if (not) pi++;
      let match = false;
      for (;;) {
        if (p[pi] === 0x5c /* \ */ && pEnd - pi >= 2) {
          pi++;
          if (p[pi] === s[si]) match = true;
        } else if (p[pi] === 0x5d /* ] */) {
          break;
        } else if (pi >= pEnd) {
          pi--;
          break;
        } else if (pEnd - pi >= 3 && p[pi + 1] === 0x2d /* - */) {
          let start = signed(p[pi]);
          let end = signed(p[pi + 2]);
          const ch = signed(s[si]);
          if (start > end) [start, end] = [end, start];
          pi += 2;
          if (ch >= start && ch <= end) match = true;
        } else if (p[pi] === s[si]) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      if (c === 0x5c /* \ */ && pEnd - pi >= 2) pi++;
      if (p[pi] !== s[si]) return false;
      si++;
    }
    pi++;
    if (si === sEnd) {
      while (pi < pEnd && p[pi] === 0x2a) pi++;
      break;
    }
  }
  return pi >= pEnd && si === sEnd;
}

/** Whether `key` matches the Redis glob `pattern` (both raw bytes; case-sensitive, as SCAN MATCH). */
export function globMatch(pattern: Uint8Array, key: Uint8Array): boolean {
  return matchImpl(pattern, 0, key, 0, { skipLonger: false }, 0);
}

/**
 * A compiled pattern. `*` alone matches every key, the empty one included, as SCAN and KEYS treat it
 * (they skip the matcher, which never matches an empty key).
 */
export function keyMatcher(pattern: string): (key: Uint8Array) => boolean {
  const p = Buffer.from(pattern, "utf8");
  if (pattern === "*") return () => true;
  return (key) => globMatch(p, key);
}
