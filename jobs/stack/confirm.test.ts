// A protected stack asks for its name on a terminal, refuses without one unless --yes, and an
// unprotected stack is never asked about.
import { PassThrough } from "stream";
import { checkConfirmable, confirmStack, type Terminal } from "./confirm";
import type { StackOutputs } from "./outputs";

const stack = (name: string, protectedStack?: boolean) =>
  ({ stack: name, protected: protectedStack }) as unknown as StackOutputs;

function terminal(answer: string | undefined, isTTY = true): Terminal & { written: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = "";
  output.on("data", (d) => (written += d));
  if (answer !== undefined) setImmediate(() => input.end(`${answer}\n`));
  return { input, output, isTTY, written: () => written };
}

test("the operator types the stack's name", async () => {
  const t = terminal("prod");
  await expect(
    confirmStack(stack("prod"), false, "This restores backup X into it.", t),
  ).resolves.toBeUndefined();
  expect(t.written()).toBe(
    "stack prod is protected. This restores backup X into it.\nType the stack name to go on: ",
  );
  await expect(confirmStack(stack("prod"), false, "", terminal("dev"))).rejects.toThrow(
    "the stack name was not typed; nothing was changed",
  );
});

test("--yes, or a stack that is not protected, asks nothing; no terminal and no --yes refuses", async () => {
  const t = terminal(undefined);
  await confirmStack(stack("prod"), true, "", t);
  await confirmStack(stack("dev"), false, "", t);
  await confirmStack(stack("staging", false), false, "", t);
  expect(t.written()).toBe("");
  expect(() => checkConfirmable(stack("dev", true), false, terminal(undefined, false))).toThrow(
    "stack dev is protected: pass --yes to restore it (there is no terminal to type its name on)",
  );
  expect(() => checkConfirmable(stack("dev", true), true, terminal(undefined, false))).not.toThrow();
});
