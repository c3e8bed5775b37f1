// promtool, the Prometheus project's checker, for tests: run it, and decide what a machine without it
// does. Without promtool the tests that need it are skipped with a warning, except in CI (CI=true or
// HOLDFAST_REQUIRE_PROMTOOL=1, which .ci/run sets), where they fail.
import { spawnSync } from "child_process";

const INSTALL = "apt-get install --no-install-recommends prometheus";
const found = !spawnSync("promtool", ["--version"]).error;
const required = process.env.CI === "true" || process.env.HOLDFAST_REQUIRE_PROMTOOL === "1";

/**
 * A describe block of tests that run promtool: skipped with a warning where promtool is missing and not
 * required; in CI a missing promtool fails every test of the block.
 * @param name the block's name, also in the warning.
 * @param fn the block.
 */
export function describeWithPromtool(name: string, fn: () => void): void {
  if (!found && !required) {
    console.warn(`promtool is not on PATH: "${name}" is skipped (${INSTALL})`);
    describe.skip(name, fn);
    return;
  }
  describe(name, () => {
    beforeAll(() => {
      if (!found) throw new Error(`promtool is required here (CI) but is not on PATH: ${INSTALL}`);
    });
    fn();
  });
}

/**
 * Runs promtool.
 * @param args its arguments.
 * @param input what it reads on stdin (`check metrics`).
 */
export function promtool(args: string[], input?: string): { code: number | null; output: string } {
  const r = spawnSync("promtool", args, { encoding: "utf8", timeout: 60_000, input });
  if (r.error) throw new Error(`cannot run promtool (${INSTALL}): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
