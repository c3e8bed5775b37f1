// The integration tier's global setup: the engine (global-setup.ts), then the holdfast CLI compiled once
// (harness/holdfast-cli.ts) and named in HOLDFAST_BIN, which the workers inherit: every CLI the tests
// start runs it, as the job image does, rather than the sources through tsx. A HOLDFAST_BIN already set
// is kept (`HOLDFAST_BIN=$PWD/jobs/bin/holdfast.js` runs the sources, unless a fresh `npm run build`
// is there).
import * as path from "path";
import { compiledCli } from "../../harness/holdfast-cli";
import globalSetup from "./global-setup";

export default function integrationSetup(): void {
  globalSetup();
  if (process.env.HOLDFAST_BIN) return;
  const started = Date.now();
  const { bin, built } = compiledCli();
  process.env.HOLDFAST_BIN = bin;
  if (built) {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const folder = path.dirname(path.dirname(path.dirname(bin)));
    process.stderr.write(`holdfast tests: compiled the CLI in ${seconds} s into ${folder}\n`);
  }
}
