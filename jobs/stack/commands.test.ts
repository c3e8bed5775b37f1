// The stack commands' --help: the CLI reference (docs/cli.md) is generated from it, so every flag with a
// default says what it is.
import { commandHelp } from "../cli/help";
import { stackCommands } from "./specs";

test("--help names the default of every flag that has one", () => {
  const silent: string[] = [];
  for (const c of stackCommands) {
    const help = commandHelp(c);
    for (const [name, f] of Object.entries(c.flags))
      if (!f.hidden && typeof f.default === "string" && !help.includes(`default ${f.default}`))
        silent.push(`${c.words.join(" ")} --${name}`);
  }
  expect(silent).toEqual([]);
});
