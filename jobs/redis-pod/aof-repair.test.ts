// AOF repair with the real redis-check-aof on AOFs a real redis-server wrote: a truncated tail and a
// corrupted middle are fixed (the originals kept aside) and the result loads in Redis; a corrupt base
// cannot be fixed and is refused with the files left in place; a valid AOF is not touched.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { AofRepairError, isIncompleteWrite, repairAof } from "./aof-repair";
import { ASIDE_DIR } from "./aside";
import { freePort, waitFor } from "../../harness/processes";

jest.setTimeout(60_000);

const KEYS = 500;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Runs redis-server with AOF on `dir` until `fn` is done, then kills it. */
async function withServer<T>(dir: string, fn: (client: Redis) => Promise<T>): Promise<T> {
  const port = await freePort();
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--dir", dir, "--appendonly", "yes", "--save", ""],
    {
      stdio: "ignore",
    },
  );
  const client = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => undefined);
  try {
    await waitFor(
      "redis-server",
      async () => (await client.connect().then(() => client.ping())) === "PONG",
      10000,
    );
    await waitFor("the AOF to load", async () => !/loading:1/.test(await client.info("persistence")), 10000);
    return await fn(client);
  } finally {
    client.disconnect();
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGKILL");
    await exited;
  }
}

/** A data directory holding an AOF of KEYS sets written by a real redis-server. */
async function dataDirWithAof(): Promise<{ dir: string; incr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-aof-"));
  dirs.push(dir);
  await withServer(dir, async (c) => {
    const p = c.pipeline();
    for (let i = 0; i < KEYS; i++) p.set(`pattern:${i}`, `v${i}`);
    await p.exec();
    // appendfsync everysec: give the writes a moment to reach the file.
    await waitFor("the AOF to be written", async () =>
      /aof_pending_bio_fsync:0/.test(await c.info("persistence")),
    );
  });
  const aofDir = path.join(dir, "appendonlydir");
  const incr = fs.readdirSync(aofDir).find((f) => f.endsWith(".incr.aof"))!;
  return { dir, incr: path.join(aofDir, incr) };
}

const sha = (file: string) => spawnSync("sha256sum", [file], { encoding: "utf8" }).stdout.split(" ")[0];

describe("repairAof", () => {
  it("leaves a valid AOF alone and keeps nothing aside", async () => {
    const { dir, incr } = await dataDirWithAof();
    const before = sha(incr);
    expect(repairAof(dir).state).toBe("valid");
    expect(sha(incr)).toBe(before);
    expect(fs.existsSync(path.join(dir, ASIDE_DIR))).toBe(false);
  });

  it("fixes a truncated tail, keeps the original byte for byte, and Redis loads every whole command", async () => {
    const { dir, incr } = await dataDirWithAof();
    fs.truncateSync(incr, fs.statSync(incr).size - 7);
    const truncated = sha(incr);
    const outcome = repairAof(dir);
    expect(outcome.state).toBe("repaired");
    if (outcome.state !== "repaired") return;
    expect(sha(path.join(outcome.keptAt, "appendonlydir", path.basename(incr)))).toBe(truncated);
    expect(outcome.onlyIncompleteWriteRemoved).toBe(true);
    const size = await withServer(dir, (c) => c.dbsize());
    expect(size).toBe(KEYS - 1);
  });

  it("fixes a corrupted middle by cutting at the damage, keeping the original", async () => {
    const { dir, incr } = await dataDirWithAof();
    // Break the command header half-way through the file (damage inside a value would still parse).
    const bytes = fs.readFileSync(incr);
    const header = bytes.indexOf("*3\r\n$3\r\nset", Math.floor(bytes.length / 2));
    bytes.write("GARBAGE!", header);
    fs.writeFileSync(incr, bytes);
    const corrupted = sha(incr);
    const outcome = repairAof(dir);
    expect(outcome.state).toBe("repaired");
    if (outcome.state !== "repaired") return;
    expect(sha(path.join(outcome.keptAt, "appendonlydir", path.basename(incr)))).toBe(corrupted);
    expect(outcome.onlyIncompleteWriteRemoved).toBe(false);
    const size = await withServer(dir, (c) => c.dbsize());
    expect(size).toBeGreaterThan(KEYS / 2 - 10);
    expect(size).toBeLessThan(KEYS);
  });

  it("refuses a corrupt base it cannot fix, leaving the files where they were and a copy aside", async () => {
    const { dir } = await dataDirWithAof();
    const aofDir = path.join(dir, "appendonlydir");
    const base = path.join(
      aofDir,
      fs.readdirSync(aofDir).find((f) => f.includes(".base."))!,
    );
    const fd = fs.openSync(base, "r+");
    fs.writeSync(fd, Buffer.from("XX"), 0, 2, 30);
    fs.closeSync(fd);
    const before = sha(base);
    let error: unknown;
    try {
      repairAof(dir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AofRepairError);
    expect((error as Error).message).toMatch(/cannot fix it.*not starting Redis.*kept at/s);
    expect(sha(base)).toBe(before);
    expect(fs.existsSync((error as AofRepairError).keptAt!)).toBe(true);
  });
});

describe("isIncompleteWrite", () => {
  const cmd = (...args: string[]) =>
    `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;
  const set = cmd("set", "emotives:1", "joy");

  it("recognises a single command cut short at any byte", () => {
    for (let cut = 0; cut < set.length; cut++)
      expect(isIncompleteWrite(Buffer.from(set.slice(0, cut)))).toBe(true);
  });

  it("recognises a MULTI block whose EXEC never made it", () => {
    expect(isIncompleteWrite(Buffer.from(cmd("multi") + set + set.slice(0, 9)))).toBe(true);
    expect(isIncompleteWrite(Buffer.from(cmd("multi") + set + cmd("exec")))).toBe(false);
  });

  it("treats whole commands or unparsable bytes as damage", () => {
    expect(isIncompleteWrite(Buffer.from(set))).toBe(false);
    expect(isIncompleteWrite(Buffer.from(set + set.slice(0, 5)))).toBe(false);
    expect(isIncompleteWrite(Buffer.from("GARBAGE!" + set))).toBe(false);
    expect(isIncompleteWrite(Buffer.from("*3\r\n$3\r\nsetXX"))).toBe(false);
  });
});
