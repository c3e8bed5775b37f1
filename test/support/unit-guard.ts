// The `unit` project's guard (jest.config.js): a unit test starts no process and opens no port. Either
// throws here, naming the rule, so a test that needs a real server moves to the integration tier
// (tools/test-tiers.js) instead of slowing the fast loop. The real functions come back after each file
// (a worker may run an integration test next).
/* eslint-disable @typescript-eslint/no-require-imports */
const childProcess = require("child_process") as Record<string, unknown>;
const net = require("net") as typeof import("net");

const NAMES = ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"];
const saved = new Map<string, unknown>();
const savedListen = net.Server.prototype.listen;

function refuse(what: string): never {
  throw new Error(`a unit test may not ${what}: make it an integration test (tools/test-tiers.js)`);
}

beforeAll(() => {
  for (const name of NAMES) {
    saved.set(name, childProcess[name]);
    childProcess[name] = () => refuse(`start a process (${name})`);
  }
  net.Server.prototype.listen = function listen(): never {
    return refuse("open a port (listen)");
  };
});

afterAll(() => {
  for (const [name, f] of saved) childProcess[name] = f;
  net.Server.prototype.listen = savedListen;
});
