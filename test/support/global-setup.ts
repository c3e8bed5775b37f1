// Jest's global setup: runs once in the parent process before any worker starts, so the engine chosen
// with HOLDFAST_TEST_ENGINE is on the PATH every worker and every process it spawns inherits.
import { useTestEngine } from "../../harness/engine";

export default function globalSetup(): void {
  const before = process.env.PATH;
  const engine = useTestEngine();
  if (engine.binDir && process.env.PATH !== before)
    process.stderr.write(`holdfast tests: engine ${engine.name} from ${engine.binDir}\n`);
}
