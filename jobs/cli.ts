// The holdfast CLI: finds the command named by the first words (or an old spelling of it), parses and
// types its flags, then loads the module that runs it. `--help` at any level (a group or a command),
// `--version` and `completion bash|zsh` come from the specs alone, loading nothing else.
// Exit codes: 0 done, 1 failed (with the state left behind), 2 bad input. With --json, errors are JSON
// on stderr too.
import { parseFlags } from "./cli/args";
import { type Command, runnerOf } from "./cli/command";
import { completionScript } from "./cli/completion";
import { OperationError, UsageError } from "./cli/errors";
import { commandHelp, commandsUnder, groupHelp, mainHelp } from "./cli/help";
import { cliVersion } from "./cli/version";
import { commands } from "./commands";

/**
 * A message as it may reach a terminal or a log: control characters (which an id or a path typed with a
 * stray escape sequence may carry) escaped as \xNN, and, with `oneLine`, line breaks too.
 */
export function printable(message: string, oneLine = true): string {
  let out = "";
  for (const c of message) {
    const code = c.charCodeAt(0);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
    out += control && (oneLine || c !== "\n") ? `\\x${code.toString(16).padStart(2, "0")}` : c;
  }
  return out;
}

/** The words before the first flag. */
function leadingWords(argv: string[]): string[] {
  const end = argv.findIndex((a) => a.startsWith("-"));
  return end < 0 ? argv : argv.slice(0, end);
}

/**
 * Finds the command whose words (or one of its hidden aliases) begin argv; returns it with the
 * remaining arguments.
 * @throws UsageError naming what is unknown.
 */
export function findCommand(
  argv: string[],
  list: Command[] = commands,
): { command: Command; rest: string[] } {
  let best: { command: Command; length: number } | undefined;
  for (const command of list)
    for (const words of [command.words, ...(command.aliases ?? [])])
      if (words.every((w, i) => argv[i] === w) && words.length > (best?.length ?? 0))
        best = { command, length: words.length };
  if (!best) {
    const given = leadingWords(argv).join(" ");
    throw new UsageError(
      given ? `unknown command: ${given} (see holdfast --help)` : "no command given (see holdfast --help)",
    );
  }
  const rest = argv.slice(best.length);
  if (rest.length > 0 && !rest[0].startsWith("-"))
    throw new UsageError(
      `unexpected argument: ${rest[0]} (see holdfast ${best.command.words.join(" ")} --help)`,
    );
  return { command: best.command, rest };
}

/** The help `argv` asks for, or undefined when it names a command to run. */
function helpFor(argv: string[], list: Command[]): { text: string; code: number } | undefined {
  const asked = argv.includes("--help") || argv.includes("-h");
  const words = leadingWords(argv);
  if (words.length === 0 && !asked) return undefined;
  if (words.length === 0 || (words.length === 1 && words[0] === "help"))
    return { text: mainHelp(list), code: 0 };
  const exact = list.find((c) =>
    [c.words, ...(c.aliases ?? [])].some((w) => w.join(" ") === words.join(" ")),
  );
  if (exact) return asked ? { text: commandHelp(exact), code: 0 } : undefined;
  // A group: `holdfast stack`, `holdfast backup --help`, `holdfast pod init --help`.
  if (commandsUnder(words, list).length > 0) return { text: groupHelp(words, list), code: asked ? 0 : 2 };
  return undefined;
}

/** Writes an error as Holdfast's one line (or JSON with --json) and returns its exit code. */
function report(err: unknown, json: boolean): number {
  const usage = err instanceof UsageError;
  const failure = err instanceof OperationError;
  const message = usage || failure ? err.message : `unexpected failure: ${(err as Error).message}`;
  const code = usage ? 2 : 1;
  if (json) {
    const kind = usage ? "usage" : failure ? "failure" : "unexpected";
    const state = failure ? err.state : undefined;
    process.stderr.write(JSON.stringify({ error: { kind, message, state, exitCode: code } }) + "\n");
  } else {
    process.stderr.write(`holdfast: ${printable(message, usage)}\n`);
    if (failure && err.state) process.stderr.write(`holdfast: ${printable(err.state, false)}\n`);
  }
  if (!usage && !failure && process.env.HOLDFAST_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  return code;
}

/** `holdfast completion bash|zsh`. */
function completion(argv: string[], list: Command[]): number {
  const shell = argv[1];
  if ((shell !== "bash" && shell !== "zsh") || argv.length > 2)
    throw new UsageError("usage: holdfast completion bash|zsh");
  process.stdout.write(completionScript(shell, list));
  return 0;
}

/** Whether the command that ran asked to exit as soon as it returned (Command.exitOnReturn). */
let exitOnReturn = false;

/**
 * Ends the CLI with `code`: at once after a command that asked to (its output is written: stdout and
 * stderr are synchronous on Linux for files and pipes), otherwise once Node is idle.
 */
export function finish(code: number): void {
  if (exitOnReturn) process.exit(code);
  process.exitCode = code;
}

/** Runs the CLI and resolves to its exit code. */
export async function main(argv: string[], list: Command[] = commands): Promise<number> {
  // The AWS SDK warns on every run under Node 20 (the job image's Node) that future SDK releases will
  // need Node 22: noise in every job log, with nothing an operator can do about it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const json = argv.includes("--json");
  try {
    if (argv.length === 0) {
      process.stdout.write(mainHelp(list) + "\n");
      return 2;
    }
    if (argv[0] === "--version" || argv[0] === "version") {
      process.stdout.write(`holdfast ${cliVersion()}\n`);
      return 0;
    }
    if (argv[0] === "completion") return completion(argv, list);
    const help = helpFor(argv, list);
    if (help) {
      (help.code === 0 ? process.stdout : process.stderr).write(help.text + "\n");
      return help.code;
    }
    const { command, rest } = findCommand(argv, list);
    const flags = parseFlags(rest, command.flags);
    exitOnReturn = command.exitOnReturn === true;
    const run = await runnerOf(command);
    const code = await run(flags);
    return typeof code === "number" ? code : 0;
  } catch (err) {
    return report(err, json);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(finish);
}
