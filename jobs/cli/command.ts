// The shape of a holdfast command: the words that name it, its typed flags, and what it does. A spec
// is cheap to import (no AWS, Kubernetes, Redis or LanceDB client): `load` imports the module that
// runs it only when it runs, so `holdfast --help` and each command load only what they use.
import type { FlagSpecs, Flags } from "./args";

/** What a command does with its parsed flags; resolves to the exit code (0 unless it reports one). */
export type RunCommand = (flags: Flags) => Promise<number | void>;

/** One command of the CLI, e.g. words ["backup", "redis"]. */
export interface Command {
  words: string[];
  /** One line for --help. */
  summary: string;
  /** Every flag, declared once with its type; parsed and typed before the command runs. */
  flags: FlagSpecs;
  /** Old spellings that keep working, hidden from help (e.g. ["redis", "init"]). */
  aliases?: string[][];
  /** Imports the module that runs the command (preferred: keeps start-up light). */
  load?: () => Promise<RunCommand>;
  /** Runs the command, for a command whose module is already loaded (tests, small commands). */
  run?: RunCommand;
  /**
   * The process exits as soon as the command returns, instead of once Node is idle and has torn down
   * its heap (0.2-0.6 s after a restore that read hundreds of MiB): for a command that leaves nothing
   * running in this process and whose caller waits for its exit.
   */
  exitOnReturn?: boolean;
}

/** The function that runs a command, loading its module if need be. */
export async function runnerOf(command: Command): Promise<RunCommand> {
  if (command.run) return command.run;
  if (command.load) return command.load();
  throw new Error(`command ${command.words.join(" ")} has neither run nor load`);
}

/** Groups that --help lists apart, with a line saying what they are. */
export const HIDDEN_GROUPS: Record<string, string> = {
  pod: "in-pod hooks: what the stack's pods run (init containers, sidecars, hooks, Jobs); not for operators",
};
