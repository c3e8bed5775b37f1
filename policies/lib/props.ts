// Reading a resource's properties as the policy runtime presents them: plain JSON with secrets already
// unwrapped, behind a proxy that throws UnknownValueError when a policy touches a value the engine cannot
// know during preview (an output of a resource not yet created). Resource policies let that error
// through, so the runtime reports "can't run policy during preview" as an advisory and judges the real
// value at update time; stack policies catch it per resource with `tryKnown`, so one unknown value never
// hides the verdict on the resources around it.

/** A resource's properties, as a policy receives them. */
export type Props = Record<string, unknown>;

/**
 * The values the engine sends in place of unknown properties (the same sentinels as @pulumi/policy's
 * proxy and Pulumi's Go `plugin` package), by the type the value would have had.
 */
export const UNKNOWN_SENTINELS = {
  boolean: "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  number: "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  string: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  array: "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
  asset: "030794c1-ac77-496b-92df-f27374a8bd58",
  archive: "e48ece36-62e2-4504-bad9-02848725956a",
  object: "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
} as const;

const SENTINELS = new Set<unknown>(Object.values(UNKNOWN_SENTINELS));

/** True for a raw unknown sentinel (seen only when reading around the runtime's proxy). */
export function isUnknownSentinel(value: unknown): boolean {
  return SENTINELS.has(value);
}

/** True when `err` is the runtime's "value unknown during preview" error. */
export function isUnknownValueError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.constructor.name === "UnknownValueError" || /can't be known during preview/.test(err.message))
  );
}

/** The outcome of reading something that may be unknown during preview. */
export type Known<T> = { known: true; value: T } | { known: false; reason: string };

/** Runs `read`; an unknown value met on the way gives `{ known: false }` instead of an error. */
export function tryKnown<T>(read: () => T): Known<T> {
  try {
    const value = read();
    if (isUnknownSentinel(value)) return { known: false, reason: "value unknown during preview" };
    return { known: true, value };
  } catch (err) {
    if (isUnknownValueError(err)) return { known: false, reason: (err as Error).message };
    throw err;
  }
}

/**
 * Follows `path` from `value`: undefined as soon as a step is missing or not an object. Reading through
 * the runtime's proxy, touching an unknown value throws its UnknownValueError.
 */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  if (isUnknownSentinel(current)) throw new UnknownSentinelError(path);
  return current;
}

/** Thrown by `at` when it meets a raw sentinel (props not behind the runtime's proxy). */
class UnknownSentinelError extends Error {
  constructor(path: (string | number)[]) {
    super(`value at .${path.join(".")} can't be known during preview`);
    this.name = "UnknownValueError";
  }
}

/** `value` when it is a string. */
export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** `value` when it is a number (or a string holding one, as Helm values and annotations often do). */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) return Number(value);
  return undefined;
}

/** `value` when it is a boolean (or the strings "true" / "false"). */
export function asBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  return undefined;
}

/** `value` when it is an array, else an empty one. */
export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `value` when it is a plain object. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The string elements of an array value. */
export function strings(value: unknown): string[] {
  return asArray(value).filter((v): v is string => typeof v === "string");
}

/** The string values of an object value (labels, tags); values unknown during preview are left out. */
export function stringMap(value: unknown): Record<string, string> {
  const record = asRecord(value) ?? {};
  const out: Record<string, string> = {};
  for (const key of Object.keys(record)) {
    const v = tryKnown(() => record[key]);
    if (v.known && typeof v.value === "string") out[key] = v.value;
  }
  return out;
}

/* eslint-disable @typescript-eslint/no-require-imports */
/** The runtime's own error class: the analyzer server turns exactly this into its preview advisory. */
const RuntimeUnknownValueError = (
  require("@pulumi/policy") as { UnknownValueError?: new (sentinel: string, path: string[]) => Error }
).UnknownValueError;
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * What a stack policy could not decide because values are unknown during preview. It reports what it
 * can decide as it goes, notes the rest here, and `close` then throws the runtime's UnknownValueError:
 * the violations already reported stand, and the runtime adds its "can't run policy during preview"
 * advisory for the rest, so an undecided check is shown, never passed in silence. The policy is decided
 * in full when it runs again with known values (`pulumi up`, or a later preview).
 */
export class PreviewGaps {
  private readonly gaps: string[] = [];

  /** Notes one check that could not be decided. */
  note(what: string): void {
    this.gaps.push(what);
  }

  /** Throws the runtime's unknown-value error naming every gap, if there is any. */
  close(): void {
    if (this.gaps.length === 0) return;
    const path = [this.gaps.join("; ")];
    if (RuntimeUnknownValueError) throw new RuntimeUnknownValueError(UNKNOWN_SENTINELS.string, path);
    throw new UnknownSentinelError(path);
  }
}
