// The holdfast CLI: finds the command named by the first words, parses its flags and runs it.
// Exit codes: 0 done, 1 failed (with the state left behind), 2 bad input.
import * as fs from "fs";
import * as path from "path";
import { describeFlags, parseFlags } from "./cli/args";
import type { Command } from "./cli/command";
import { OperationError, UsageError } from "./cli/errors";
import { commands } from "./commands";

function usage(list: Command[]): string {
  const lines = list.map((c) => `  holdfast ${c.words.join(" ").padEnd(26)} ${c.summary}`);
  return ["usage: holdfast <command> [flags]   (holdfast <command> --help for its flags)", "", ...lines].join(
    "\n",
  );
}

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

/** Finds the command whose words begin argv; returns it with the remaining arguments. */
export function findCommand(
  argv: string[],
  list: Command[] = commands,
): { command: Command; rest: string[] } {
  const matches = list
    .filter((c) => c.words.every((w, i) => argv[i] === w))
    .sort((a, b) => b.words.length - a.words.length);
  if (matches.length === 0) {
    const given = argv
      .filter((a) => !a.startsWith("-"))
      .slice(0, 2)
      .join(" ");
    throw new UsageError(
      given ? `unknown command: ${given} (see holdfast --help)` : "no command given (see holdfast --help)",
    );
  }
  return { command: matches[0], rest: argv.slice(matches[0].words.length) };
}

/** The version in package.json: beside jobs/ in a checkout, two levels up from dist/jobs/ in the image. */
export function cliVersion(): string {
  for (const up of ["..", "../.."]) {
    const file = path.join(__dirname, up, "package.json");
    if (fs.existsSync(file))
      return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
  }
  return "unknown";
}

/** Runs the CLI and resolves to its exit code. */
export async function main(argv: string[]): Promise<number> {
  // The AWS SDK warns on every run under Node 20 (the job image's Node) that future SDK releases will
  // need Node 22: noise in every job log, with nothing an operator can do about it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  if (argv.length === 1 && argv[0] === "--version") {
    process.stdout.write(`holdfast ${cliVersion()}\n`);
    return 0;
  }
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    process.stdout.write(usage(commands) + "\n");
    return argv.length === 0 ? 2 : 0;
  }
  try {
    const { command, rest } = findCommand(argv);
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(
        `holdfast ${command.words.join(" ")}: ${command.summary}\n\n${describeFlags(command.flags)}\n`,
      );
      return 0;
    }
    const flags = parseFlags(rest, command.flags);
    const code = await command.run(flags);
    return typeof code === "number" ? code : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`holdfast: ${printable(err.message)}\n`);
      return 2;
    }
    if (err instanceof OperationError) {
      process.stderr.write(`holdfast: ${printable(err.message, false)}\n`);
      if (err.state) process.stderr.write(`holdfast: ${printable(err.state, false)}\n`);
      return 1;
    }
    const e = err as Error;
    process.stderr.write(`holdfast: unexpected failure: ${printable(e.message, false)}\n`);
    if (process.env.HOLDFAST_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
