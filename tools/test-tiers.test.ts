// @tier unit
// The test tiers: a test lands in `integration` when it starts a process or opens a port, else in
// `unit`; and the unit tier's guard refuses both, so a misfiled test fails instead of slowing the loop.
import * as childProcess from "child_process";
import * as net from "net";
import * as path from "path";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { tierOf } = require("./test-tiers") as { tierOf: (file: string) => string };

const root = path.join(__dirname, "..");

it("files each test by what it starts", () => {
  const tier = (f: string) => tierOf(path.join(root, f));
  expect(tier("jobs/cli/cli.test.ts")).toBe("integration");
  expect(tier("test/backup/catalogue.test.ts")).toBe("integration");
  expect(tier("jobs/schedule/trigger.test.ts")).toBe("integration");
  expect(tier("jobs/cli/args.test.ts")).toBe("unit");
  expect(tier("components/redis/sentinel-redis.test.ts")).toBe("unit");
  expect(tier("tools/test-tiers.test.ts")).toBe("unit");
});

it("refuses a process or a port in a unit test", () => {
  expect(() => childProcess.spawnSync("true")).toThrow(/a unit test may not start a process \(spawnSync\)/);
  expect(() => new net.Server().listen(0)).toThrow(/a unit test may not open a port/);
});
