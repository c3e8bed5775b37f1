// The guard on a protected stack (prod): before a restore changes anything, the operator types the
// stack's name on the terminal, or passes --yes. Without a terminal and without --yes, it refuses.
import * as readline from "readline";
import { UsageError } from "../cli/errors";
import { isProtected, type StackOutputs } from "./outputs";

/** Where the question is asked. */
export interface Terminal {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  isTTY: boolean;
}

const processTerminal = (): Terminal => ({
  input: process.stdin,
  output: process.stderr,
  isTTY: Boolean(process.stdin.isTTY && process.stderr.isTTY),
});

/** Refuses early when a protected stack cannot be confirmed (no --yes and no terminal). */
export function checkConfirmable(o: StackOutputs, yes: boolean, term: Terminal = processTerminal()): void {
  if (!isProtected(o) || yes || term.isTTY) return;
  throw new UsageError(
    `stack ${o.stack} is protected: pass --yes to restore it (there is no terminal to type its name on)`,
  );
}

/** Asks for the stack's name on a protected stack; throws when it is not typed. */
export async function confirmStack(
  o: StackOutputs,
  yes: boolean,
  what: string,
  term: Terminal = processTerminal(),
): Promise<void> {
  checkConfirmable(o, yes, term);
  if (!isProtected(o) || yes) return;
  const rl = readline.createInterface({ input: term.input, output: term.output, terminal: false });
  const answer = await new Promise<string>((resolve) => {
    term.output.write(`stack ${o.stack} is protected. ${what}\nType the stack name to go on: `);
    rl.once("line", resolve);
    rl.once("close", () => resolve(""));
  });
  rl.close();
  if (answer.trim() !== o.stack) throw new UsageError(`the stack name was not typed; nothing was changed`);
}
