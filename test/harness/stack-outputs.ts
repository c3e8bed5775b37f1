// A stack's outputs as `pulumi stack output --json --show-secrets` would print them after `pulumi up`:
// the stack program run offline (tools/offline.ts) and its resolved exports, cached on disk by a hash of
// everything that shapes them, so test files do not each pay for a Pulumi mock run.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { runHoldfastStack } from "../../tools/offline";

const root = path.join(__dirname, "..", "..");

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [p] : [];
  });
}

function outputsKey(stack: string): string {
  const files = [
    ...sources(path.join(root, "components")),
    ...["stack.ts", "index.ts", "config.ts", "tools/offline.ts", "Pulumi.yaml", `Pulumi.${stack}.yaml`].map(
      (f) => path.join(root, f),
    ),
  ];
  const hash = createHash("sha256");
  for (const f of files.sort()) hash.update(f).update(fs.readFileSync(f));
  return `${stack}-outputs-${hash.digest("hex").slice(0, 16)}`;
}

/** The outputs of `stack`, rendered offline (cached across test workers). */
export async function renderedOutputs(stack: string): Promise<Record<string, unknown>> {
  const cacheDir = path.join(root, "node_modules", ".cache", "holdfast-render");
  const file = path.join(cacheDir, `${outputsKey(stack)}.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8"));
  const { outputs } = await runHoldfastStack(stack);
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(`${file}.${process.pid}`, JSON.stringify(outputs));
  fs.renameSync(`${file}.${process.pid}`, file);
  return outputs;
}
