// The command registry, in-process: every spelling names one command, every spec's defaults parse, the
// constants a spec repeats (to stay cheap to import) equal the modules' own, every command loads a
// runner, group help lists a group's commands, and with --json an error is JSON on stderr.
import { storeModules } from "../backup/stores";
import { STORE_KINDS } from "../backup/specs";
import { findCommand, main } from "../cli";
import { commands } from "../commands";
import { DEFAULT_LANCEDB_CONCURRENCY } from "../lancedb/backup/specs";
import { DEFAULT_TRANSFER } from "../lancedb/backup/transfer";
import { DEFAULT_UPLOAD_CONCURRENCY } from "../redis-backup/specs";
import { DEFAULT_CONCURRENCY } from "../redis-backup/transfer/upload";
import { type FlagSpecs, parseFlags } from "./args";
import { runnerOf } from "./command";
import { groupHelp } from "./help";

/** Runs main in-process; resolves to its exit code and what it wrote. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = jest.spyOn(process.stdout, "write").mockImplementation((s) => ((stdout += String(s)), true));
  const err = jest.spyOn(process.stderr, "write").mockImplementation((s) => ((stderr += String(s)), true));
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Values for the required flags of a command, so its defaults can be parsed. */
function requiredValues(flags: FlagSpecs): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, f] of Object.entries(flags))
    if (f.required) env[f.env ?? `HOLDFAST_${name.replace(/-/g, "_").toUpperCase()}`] = "x:1";
  return env;
}

it("gives every spelling (words and hidden aliases) to one command", () => {
  const spellings = commands.flatMap((c) => [c.words, ...(c.aliases ?? [])].map((w) => w.join(" ")));
  expect(spellings.length).toBe(new Set(spellings).size);
  for (const c of commands)
    for (const words of [c.words, ...(c.aliases ?? [])])
      expect(findCommand([...words, "--help"]).command).toBe(c);
});

it("parses every command's defaults into typed values", () => {
  for (const c of commands) {
    const flags = parseFlags([], c.flags, requiredValues(c.flags));
    for (const [name, f] of Object.entries(c.flags)) {
      if (f.default === undefined || f.default === false || f.none === f.default) continue;
      const expected = { integer: "number", duration: "number", bytes: "number", boolean: "boolean" }[
        f.type as string
      ];
      if (!f.repeatable)
        expect([c.words.join(" "), name, typeof flags[name]]).toEqual([
          c.words.join(" "),
          name,
          expected ?? "string",
        ]);
    }
  }
});

it("repeats in its specs the same constants the modules use", () => {
  expect([...STORE_KINDS]).toEqual(storeModules.map((m) => m.kind));
  expect(DEFAULT_UPLOAD_CONCURRENCY).toBe(DEFAULT_CONCURRENCY);
  expect(DEFAULT_LANCEDB_CONCURRENCY).toBe(DEFAULT_TRANSFER.concurrency);
});

it("loads a runner for every command", async () => {
  for (const c of commands) expect(typeof (await runnerOf(c))).toBe("function");
});

it("answers --help for every group and lists the pod group apart", async () => {
  for (const group of ["stack", "backup", "restore", "pod", "pod init", "stack restore"]) {
    const r = await run([...group.split(" "), "--help"]);
    expect({ group, code: r.code }).toEqual({ group, code: 0 });
    expect(r.stdout).toBe(groupHelp(group.split(" "), commands) + "\n");
    expect(r.stdout).toMatch(new RegExp(`holdfast ${group} \\S+`));
  }
  const top = await run(["--help"]);
  expect(top.stdout).toMatch(/In-pod hooks \(listed apart\):\n {2}holdfast pod --help/);
  expect(top.stdout).not.toMatch(/holdfast pod init redis|holdfast redis init/);
  const bare = await run(["stack"]);
  expect(bare.code).toBe(2);
  expect(bare.stderr).toContain("holdfast stack restore redis");
});

it("prints the version of package.json", async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require("../../package.json");
  expect(await run(["--version"])).toEqual({ code: 0, stdout: `holdfast ${version}\n`, stderr: "" });
});

it("writes errors as one line, or as JSON with --json, with the same exit codes", async () => {
  const plain = await run(["list", "--bucket"]);
  expect(plain).toEqual({ code: 2, stdout: "", stderr: "holdfast: --bucket needs a value\n" });
  const json = await run(["list", "--json", "--bucket"]);
  expect(json.code).toBe(2);
  expect(JSON.parse(json.stderr)).toEqual({
    error: { kind: "usage", message: "--bucket needs a value", exitCode: 2 },
  });
  const unknown = await run(["restore", "mysql", "--json"]);
  expect(JSON.parse(unknown.stderr).error).toMatchObject({ kind: "usage", exitCode: 2 });
  expect(JSON.parse(unknown.stderr).error.message).toMatch(/^unknown command: restore mysql/);
});
