// Setting a volume's content aside: the dataset and role record of a data directory, the learnt config
// of a sentinel, renamed (same inode, nothing copied, nothing deleted) into holdfast-aside/; a volume with
// nothing to move is left alone; the CLI commands report it and refuse bad input with exit 2.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HOLDFAST_BIN } from "../../harness/redis-set";
import { setAsideDataset, setAsideSentinelState } from "./set-aside";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-set-aside-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(rel: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
}

const NOW = new Date("2026-01-15T12:00:00Z");

test("a data directory's dataset and role record move into holdfast-aside/, by rename", () => {
  write("appendonlydir/appendonly.aof.1.base.rdb", "base");
  write("appendonlydir/appendonly.aof.1.incr.aof", "incr");
  write("dump.rdb", "rdb");
  write("holdfast-role.json", '{"role":"primary"}');
  write("holdfast-aside/20260101T000000Z-aof-repair/appendonly.aof", "older copy");
  write("unrelated.txt", "stays");
  const inode = fs.statSync(path.join(dir, "dump.rdb")).ino;
  const out = setAsideDataset(dir, "pre-restore", NOW);
  const aside = path.join(dir, "holdfast-aside", "20260115T120000Z-pre-restore");
  expect(out).toEqual({ asideDir: aside, moved: ["appendonlydir", "dump.rdb", "holdfast-role.json"] });
  expect(fs.readdirSync(dir).sort()).toEqual(["holdfast-aside", "unrelated.txt"]);
  expect(fs.statSync(path.join(aside, "dump.rdb")).ino).toBe(inode);
  expect(fs.readFileSync(path.join(aside, "appendonlydir/appendonly.aof.1.incr.aof"), "utf8")).toBe("incr");
  expect(
    fs.readFileSync(path.join(dir, "holdfast-aside/20260101T000000Z-aof-repair/appendonly.aof"), "utf8"),
  ).toBe("older copy");
  // Twice is safe: nothing left to move, nothing changes.
  expect(setAsideDataset(dir, "pre-restore", NOW)).toEqual({ moved: [] });
  expect(fs.readdirSync(path.join(dir, "holdfast-aside")).sort()).toEqual([
    "20260101T000000Z-aof-repair",
    "20260115T120000Z-pre-restore",
  ]);
});

test("a second set-aside in the same second gets a folder of its own", () => {
  write("dump.rdb", "one");
  setAsideDataset(dir, "pre-restore", NOW);
  write("dump.rdb", "two");
  const second = setAsideDataset(dir, "pre-restore", NOW);
  expect(second.asideDir).toBe(path.join(dir, "holdfast-aside", "20260115T120000Z-pre-restore-2"));
  expect(fs.readFileSync(path.join(second.asideDir!, "dump.rdb"), "utf8")).toBe("two");
});

test("a sentinel's learnt config moves aside; its volume's other files stay", () => {
  write("sentinel.conf", "sentinel monitor holdfast redis-2 6379 2\n");
  write("sentinel.conf.tmp", "half-written");
  write("lost+found/x", "");
  const out = setAsideSentinelState(dir, "pre-restore", NOW);
  expect(out.moved).toEqual(["sentinel.conf", "sentinel.conf.tmp"]);
  expect(fs.existsSync(path.join(dir, "sentinel.conf"))).toBe(false);
  expect(fs.readFileSync(path.join(out.asideDir!, "sentinel.conf"), "utf8")).toMatch(/redis-2/);
  expect(fs.existsSync(path.join(dir, "lost+found/x"))).toBe(true);
});

test("the commands report what they moved, and refuse a missing directory or a bad reason with exit 2", () => {
  write("dump.rdb", "rdb");
  const run = (args: string[]) =>
    spawnSync(process.execPath, [HOLDFAST_BIN, ...args], {
      encoding: "utf8",
      env: { PATH: process.env.PATH },
    });
  const ok = run(["redis", "set-aside", "--data-dir", dir, "--json"]);
  expect(ok.status).toBe(0);
  const result = JSON.parse(ok.stdout.trim());
  expect(result.moved).toEqual(["dump.rdb"]);
  expect(result.asideDir).toMatch(/holdfast-aside\/\d{8}T\d{6}Z-pre-restore$/);
  const nothing = run(["sentinel", "set-aside", "--state-dir", dir]);
  expect(nothing.status).toBe(0);
  expect(nothing.stdout).toMatch(/holds no sentinel state; nothing moved/);
  const missing = run(["redis", "set-aside", "--data-dir", path.join(dir, "nope")]);
  expect(missing.status).toBe(2);
  expect(missing.stderr.trim()).toMatch(/^holdfast: --data-dir .* is not a directory$/);
  const bad = run(["redis", "set-aside", "--data-dir", dir, "--reason", "../x"]);
  expect(bad.status).toBe(2);
});
