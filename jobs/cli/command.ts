// The shape of a holdfast command: the words that name it, its flags, and what it does.
import type { FlagSpecs, Flags } from "./args";

/** One command of the CLI, e.g. words ["backup", "redis"]. */
export interface Command {
  words: string[];
  summary: string;
  flags: FlagSpecs;
  /** Runs the command; resolves to the exit code (0 unless it reports a condition, e.g. status). */
  run(flags: Flags): Promise<number | void>;
}
