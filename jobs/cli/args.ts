// Flag parsing for holdfast commands. Every flag is declared once, with its type, in its command's spec;
// the parser turns the arguments into typed values (durations and sizes as numbers, enums checked,
// repeatable flags as lists) before the command runs. Every flag has an environment twin (`--bucket` /
// HOLDFAST_BUCKET) so a CronJob spec reads naturally, and every mistake is a one-line UsageError.
import { UsageError } from "./errors";

/** The kinds of value a flag takes. */
export type FlagType = "string" | "boolean" | "integer" | "duration" | "bytes" | "enum";

/** Declares one flag of a command. */
export interface FlagSpec {
  type: FlagType;
  /** May be given more than once, and as a comma-separated list (string and enum flags). */
  repeatable?: boolean;
  /** The values an enum flag accepts. */
  choices?: readonly string[];
  /** Bounds of an integer flag, or of a duration or size (in ms or bytes). */
  min?: number;
  max?: number;
  /** Value when neither the flag nor its environment twin is set, written as on the command line. */
  default?: string | boolean;
  /** Required unless its environment twin is set. */
  required?: boolean;
  /** One line for --help. */
  help: string;
  /** Environment variable name when it is not HOLDFAST_<FLAG_NAME>. */
  env?: string;
  /** Old spellings that keep working (and their environment twins), hidden from help. */
  aliases?: readonly string[];
  /** The word --help shows for the value (default from the type). */
  value?: string;
  /** The value when the flag is given without one (`--wait` alone); only a value of the type is taken. */
  bare?: string;
  /** An old spelling kept working but left out of help, docs and completion. */
  hidden?: boolean;
  /** A word that stands for "not set" (e.g. `auto` for a size chosen by the command). */
  none?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** A parsed flag value: text, a switch, a number (integer, duration in ms, size in bytes) or a list. */
export type FlagValue = string | boolean | number | string[] | undefined;

/** Parsed flag values. */
export type Flags = Record<string, FlagValue>;

/** The environment twin of a flag: `--data-dir` is HOLDFAST_DATA_DIR. */
export function envName(flag: string, spec: Pick<FlagSpec, "env">): string {
  return spec.env ?? `HOLDFAST_${flag.replace(/-/g, "_").toUpperCase()}`;
}

/** Parses a duration such as `90s`, `30m`, `24h`, `7d` (or `0`) into milliseconds. */
export function durationMs(value: string, what = "duration"): number {
  if (value.trim() === "0") return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!m) throw new UsageError(`${what} must look like 30s, 15m, 24h or 7d, got "${value}"`);
  const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

/** Parses a size such as `16MiB`, `8M`, `1GiB` or a number of bytes. */
export function byteSize(value: string, what = "size"): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`${what} must be a size such as 16MiB, got "${value}"`);
  const unit = (m[2] ?? "B").toLowerCase().replace(/i?b$/, "");
  const factor = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit] ?? NaN;
  return Math.round(Number(m[1]) * factor);
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:PORT`). */
export function hostPort(value: string, what = "address"): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`${what} must be HOST:PORT, got "${value}"`);
  return { host: m[1], port };
}

/** A bound as the flag's type writes it: `1s` for a duration, `5242880 bytes` for a size. */
function showBound(n: number, type: FlagType): string {
  if (type === "duration") return n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`;
  return type === "bytes" ? `${n} bytes` : String(n);
}

function checkBounds(n: number, raw: string, name: string, spec: FlagSpec): number {
  const { min, max, type } = spec;
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    const range =
      max === undefined
        ? `at least ${showBound(min!, type)}`
        : min === undefined
          ? `at most ${showBound(max, type)}`
          : `${showBound(min, type)}..${showBound(max, type)}`;
    throw new UsageError(`--${name} must be ${range}, got "${raw}"`);
  }
  return n;
}

/** Turns one textual value into the flag's type. */
function typed(raw: string, name: string, spec: FlagSpec): FlagValue {
  if (spec.none !== undefined && raw === spec.none) return undefined;
  switch (spec.type) {
    case "integer": {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
        throw new UsageError(`--${name} must be a whole number, got "${raw}"`);
      return checkBounds(n, raw, name, spec);
    }
    case "duration":
      return checkBounds(durationMs(raw, `--${name}`), raw, name, spec);
    case "bytes":
      return checkBounds(byteSize(raw, `--${name}`), raw, name, spec);
    case "enum":
      if (!spec.choices?.includes(raw))
        throw new UsageError(`--${name} must be ${choiceList(spec.choices ?? [])}, got "${raw}"`);
      return raw;
    default:
      return raw;
  }
}

function boolFrom(text: string, name: string): boolean {
  const t = text.toLowerCase();
  if (["1", "true", "yes", "on"].includes(t)) return true;
  if (["0", "false", "no", "off", ""].includes(t)) return false;
  throw new UsageError(`--${name} is a switch: true or false, got "${text}"`);
}

function splitList(values: string[]): string[] {
  return values
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Maps every spelling (`--name` and hidden aliases) to the flag's name. */
function spellings(specs: FlagSpecs): Map<string, string> {
  const names = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    names.set(name, name);
    for (const alias of spec.aliases ?? []) names.set(alias, name);
  }
  return names;
}

function acceptsValue(text: string, name: string, spec: FlagSpec): boolean {
  try {
    typed(text, name, spec);
    return true;
  } catch {
    return false;
  }
}

/** The raw command-line values of each flag, by name. */
function scan(argv: string[], specs: FlagSpecs): Map<string, string[]> {
  const names = spellings(specs);
  const given = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      if (i + 1 < argv.length) throw new UsageError(`unexpected argument: ${argv[i + 1]}`);
      break;
    }
    if (!arg.startsWith("--") || arg === "--")
      throw new UsageError(
        arg.startsWith("-") && arg.length > 1
          ? `unknown flag ${arg} (flags are spelled --name)`
          : `unexpected argument: ${arg}`,
      );
    const eq = arg.indexOf("=");
    const spelled = arg.slice(2, eq < 0 ? undefined : eq);
    const name = names.get(spelled);
    if (!name) throw new UsageError(`unknown flag --${spelled}`);
    const spec = specs[name];
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (spec.type === "boolean") value = "true";
    else if (spec.bare !== undefined) {
      const next = argv[i + 1];
      const takes = next !== undefined && !next.startsWith("--") && acceptsValue(next, name, spec);
      value = takes ? next : spec.bare;
      if (takes) i++;
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2))
        throw new UsageError(
          `--${spelled} needs a value${next ? ` (got the flag ${next}; write --${spelled}=${next} if that is the value)` : ""}`,
        );
      value = next;
      i++;
    }
    const seen = given.get(name) ?? [];
    if (seen.length > 0 && !spec.repeatable) throw new UsageError(`--${spelled} is given more than once`);
    given.set(name, [...seen, value]);
  }
  return given;
}

/** The environment twin's value of a flag (its own, else an alias's), if set and not empty. */
function twinValue(name: string, spec: FlagSpec, env: NodeJS.ProcessEnv): string | undefined {
  for (const n of [name, ...(spec.aliases ?? [])]) {
    const v = env[envName(n, n === name ? spec : {})];
    if (v !== undefined && v !== "") return v;
  }
  return undefined;
}

/** The value of one flag from its raw command-line values, its twin or its default. */
function valueOf(name: string, spec: FlagSpec, raw: string[] | undefined, env: NodeJS.ProcessEnv): FlagValue {
  const twin = twinValue(name, spec, env);
  if (spec.type === "boolean") {
    if (raw) return boolFrom(raw[raw.length - 1], name);
    if (twin !== undefined) return boolFrom(twin, name);
    return spec.default === undefined ? false : Boolean(spec.default);
  }
  const texts = raw ?? (twin !== undefined ? [twin] : undefined);
  if (texts === undefined) {
    if (spec.required) throw new UsageError(`missing --${name} (or ${envName(name, spec)})`);
    if (spec.default === undefined || spec.default === false) return spec.repeatable ? [] : undefined;
    return spec.repeatable ? splitList([String(spec.default)]) : typed(String(spec.default), name, spec);
  }
  if (spec.repeatable) return splitList(texts).map((t) => typed(t, name, spec) as string);
  return typed(texts[0], name, spec);
}

/**
 * Parses `argv` against `specs`, falling back to environment twins and defaults; every value comes out
 * typed (see FlagType).
 * @param argv the arguments after the command words.
 * @param specs the command's flags.
 * @param env the environment to read twins from.
 * @throws UsageError with one line naming the flag at fault.
 */
export function parseFlags(argv: string[], specs: FlagSpecs, env: NodeJS.ProcessEnv = process.env): Flags {
  const given = scan(argv, specs);
  const flags: Flags = {};
  for (const [name, spec] of Object.entries(specs)) flags[name] = valueOf(name, spec, given.get(name), env);
  return flags;
}

/** Reads a string flag that parseFlags guaranteed or defaulted. */
export function str(flags: Flags, name: string): string {
  const v = flags[name];
  if (typeof v !== "string") throw new UsageError(`missing --${name}`);
  return v;
}

/** Reads an optional string flag (empty counts as not given). */
export function optStr(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Reads a number flag (integer, duration in ms, size in bytes) that parseFlags guaranteed or defaulted. */
export function num(flags: Flags, name: string): number {
  const v = flags[name];
  if (typeof v !== "number") throw new UsageError(`missing --${name}`);
  return v;
}

/** Reads an optional number flag. */
export function optNum(flags: Flags, name: string): number | undefined {
  const v = flags[name];
  return typeof v === "number" ? v : undefined;
}

/** Reads a repeatable flag (given as repeats and/or comma-separated values). */
export function list(flags: Flags, name: string): string[] {
  const v = flags[name];
  if (v === undefined || typeof v === "boolean") return [];
  return splitList(Array.isArray(v) ? v : [String(v)]);
}

/** "a" for one choice, "a or b" for two, "one of a, b, c" for more. */
function choiceList(choices: readonly string[]): string {
  if (choices.length <= 2) return choices.join(" or ");
  return `one of ${choices.join(", ")}`;
}
