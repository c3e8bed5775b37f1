// docs/cli.md is what the command specs say: a change to a command, a flag or its help that is not
// followed by `npm run docs:cli` fails here.
import * as fs from "fs";
import { CLI_REFERENCE, cliReference } from "./cli-reference";

it("docs/cli.md is generated from the current command specs (run `npm run docs:cli` after changing them)", () => {
  expect(fs.readFileSync(CLI_REFERENCE, "utf8")).toBe(cliReference());
});

it("documents every command and no hidden flag or alias as a command", () => {
  const doc = cliReference();
  for (const words of ["backup redis", "stack restore lancedb", "pod init redis", "pod elect lancedb"])
    expect(doc).toContain(`### holdfast ${words}\n`);
  expect(doc).not.toContain("### holdfast redis init");
  expect(doc).not.toContain("`--sentinels");
  const stackBackup = doc.slice(
    doc.indexOf("### holdfast stack backup redis"),
    doc.indexOf("### holdfast stack backup lancedb"),
  );
  expect(stackBackup).toContain("`--wait DURATION`");
  expect(stackBackup).not.toContain("`--timeout");
});
