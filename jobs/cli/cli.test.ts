// The CLI as a shell and a pod run it (processes): bash completion sourced in a real bash offers the
// groups, subcommands and flags; the in-pod hooks' old spellings still run (pods of deployed stacks
// call them); --help and --version load no AWS, Kubernetes, Redis or LanceDB client.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..", "..");
const BIN = path.join(root, "jobs", "bin", "holdfast.js");

function holdfast(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-cli-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("completion bash", () => {
  let script: string;
  beforeAll(() => {
    const r = holdfast(["completion", "bash"]);
    expect(r.code).toBe(0);
    script = path.join(dir, "holdfast.bash");
    fs.writeFileSync(script, r.stdout);
  });

  /** What the completion offers for the words typed so far (the last one being completed). */
  function offers(...words: string[]): string[] {
    const line = ["holdfast", ...words];
    const program = [
      `source ${JSON.stringify(script)}`,
      `COMP_WORDS=(${line.map((w) => JSON.stringify(w)).join(" ")})`,
      `COMP_CWORD=${line.length - 1}`,
      "_holdfast",
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join("\n");
    const r = spawnSync("bash", ["--norc", "--noprofile", "-c", program], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter(Boolean).sort();
  }

  it("offers the groups, their subcommands and a command's flags", () => {
    expect(offers("")).toEqual(expect.arrayContaining(["backup", "restore", "stack", "pod", "completion"]));
    expect(offers("st")).toEqual(["stack", "status", "stream"]);
    expect(offers("stack", "")).toEqual(["backup", "doctor", "list", "restore", "status"]);
    expect(offers("restore", "")).toEqual(["lancedb", "redis"]);
    expect(offers("restore", "redis", "--d")).toEqual(["--data-dir", "--dbfilename", "--dry-run"]);
    expect(offers("backup", "redis", "--bucket", "b", "--sen")).toEqual(["--sentinel"]);
    expect(offers("completion", "")).toEqual(["bash", "zsh"]);
  });

  it("leaves hidden aliases out", () => {
    expect(offers("backup", "redis", "--sentinels")).toEqual([]);
    expect(offers("")).not.toContain("sentinel");
    expect(offers("")).not.toContain("doctor");
  });
});

it("runs the in-pod hooks under their new and their old spellings", () => {
  for (const words of [
    ["pod", "set-aside", "redis"],
    ["redis", "set-aside"],
  ]) {
    const data = fs.mkdtempSync(path.join(dir, "data-"));
    fs.writeFileSync(path.join(data, "dump.rdb"), "a dataset");
    const r = holdfast([...words, "--data-dir", data, "--reason", "test", "--json"]);
    expect({ words, code: r.code }).toEqual({ words, code: 0 });
    expect(JSON.parse(r.stdout)).toMatchObject({ dir: data, moved: ["dump.rdb"] });
    expect(fs.existsSync(path.join(data, "dump.rdb"))).toBe(false);
  }
  for (const words of [
    ["pod", "set-aside", "sentinel"],
    ["sentinel", "set-aside"],
  ]) {
    const state = fs.mkdtempSync(path.join(dir, "state-"));
    const r = holdfast([...words, "--state-dir", state]);
    expect({ words, code: r.code, stdout: r.stdout }).toEqual({
      words,
      code: 0,
      stdout: `${state} holds no sentinel state; nothing moved\n`,
    });
  }
  const help = holdfast(["redis", "init", "--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: holdfast pod init redis/);
});

it("answers --help and --version without loading a client library", () => {
  const program = [
    'require("tsx/cjs");',
    'const { main } = require("./jobs/cli.ts");',
    "process.stdout.write = () => true;",
    "(async () => {",
    '  for (const argv of [["--help"], ["--version"], ["backup", "redis", "--help"], ["stack", "--help"]])',
    "    await main(argv);",
    "  const heavy = Object.keys(require.cache).filter((f) =>",
    "    /node_modules\\/(@aws-sdk|@kubernetes|ioredis|@lancedb|apache-arrow)\\//.test(f));",
    "  process.stderr.write(JSON.stringify(heavy.slice(0, 3)));",
    "})();",
  ].join("\n");
  const r = spawnSync(process.execPath, ["-e", program], { cwd: root, encoding: "utf8" });
  expect(r.stderr).toBe("[]");
});
