// The stack commands' --help: docs/cli.md's command reference is taken from it, so every flag with a
// default says what it is.
import { stackCommands } from "./commands";

test("--help names the default of every flag that has one", () => {
  const silent: string[] = [];
  for (const c of stackCommands)
    for (const [name, f] of Object.entries(c.flags))
      if (f.type === "string" && f.default !== undefined && !/default/.test(f.help))
        silent.push(`${c.words.join(" ")} --${name}`);
  expect(silent).toEqual([]);
});
