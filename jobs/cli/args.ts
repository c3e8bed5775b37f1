// Flag parsing for holdfast commands: every flag has an environment twin (`--bucket` / HOLDFAST_BUCKET)
// so a CronJob spec reads naturally, and every mistake is a UsageError.
import { parseArgs } from "util";
import { UsageError } from "./errors";

/** Declares one flag of a command. */
export interface FlagSpec {
  type: "string" | "boolean";
  /** May be given more than once (string flags only). */
  multiple?: boolean;
  /** Value when neither the flag nor its environment twin is set. */
  default?: string | boolean | string[];
  /** Required unless its environment twin is set. */
  required?: boolean;
  /** One line for --help. */
  help: string;
  /** Environment variable name when it is not HOLDFAST_<FLAG_NAME>. */
  env?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** Parsed flag values. */
export type Flags = Record<string, string | boolean | string[] | undefined>;

/** The environment twin of a flag: `--data-dir` is HOLDFAST_DATA_DIR. */
export function envName(flag: string, spec: FlagSpec): string {
  return spec.env ?? `HOLDFAST_${flag.replace(/-/g, "_").toUpperCase()}`;
}

/**
 * Parses `argv` against `specs`, falling back to environment twins and defaults.
 * @param argv the arguments after the command words.
 * @param specs the command's flags.
 * @param env the environment to read twins from.
 */
export function parseFlags(argv: string[], specs: FlagSpecs, env: NodeJS.ProcessEnv = process.env): Flags {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(specs))
    options[name] = spec.multiple ? { type: spec.type, multiple: true } : { type: spec.type };
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true }));
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const flags: Flags = {};
  for (const [name, spec] of Object.entries(specs)) {
    let value = values[name] as Flags[string];
    const twin = env[envName(name, spec)];
    if (value === undefined && twin !== undefined && twin !== "") {
      if (spec.type === "boolean") value = ["1", "true", "yes"].includes(twin.toLowerCase());
      else
        value = spec.multiple
          ? twin
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean)
          : twin;
    }
    if (value === undefined) value = spec.default;
    if (value === undefined && spec.required)
      throw new UsageError(`missing --${name} (or ${envName(name, spec)})`);
    flags[name] = value;
  }
  return flags;
}

/** Renders the flag list of a command for --help. */
export function describeFlags(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const flag = s.type === "boolean" ? `--${name}` : `--${name} ${name.toUpperCase().replace(/-/g, "_")}`;
      const extra = [s.required ? "required" : "", `env ${envName(name, s)}`].filter(Boolean).join(", ");
      return `  ${flag.padEnd(34)} ${s.help} (${extra})`;
    })
    .join("\n");
}

/** Reads a string flag that parseFlags guaranteed or defaulted. */
export function str(flags: Flags, name: string): string {
  const v = flags[name];
  if (typeof v !== "string") throw new UsageError(`missing --${name}`);
  return v;
}

/** Reads an optional string flag. */
export function optStr(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Reads a list flag given as repeats and/or comma-separated values. */
export function list(flags: Flags, name: string): string[] {
  const v = flags[name];
  if (v === undefined || v === false) return [];
  const items = Array.isArray(v) ? v : [String(v)];
  return items
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:PORT`). */
export function hostPort(value: string, what = "address"): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`${what} must be HOST:PORT, got "${value}"`);
  return { host: m[1], port };
}

/** Parses a duration such as `90s`, `30m`, `24h`, `7d` into milliseconds. */
export function durationMs(value: string, what = "duration"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!m) throw new UsageError(`${what} must look like 30s, 15m, 24h or 7d, got "${value}"`);
  const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}
