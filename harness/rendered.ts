// What a stack renders, as the harness consumes them: its Kubernetes objects, and its outputs as
// `pulumi stack output --json --show-secrets` would print them after `pulumi up`. The stack program is
// run offline once and both are cached on disk by a hash of everything that shapes them, so every test
// worker reads the same rendering without paying for another Pulumi mock run.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { runHoldfastStack } from "../tools/offline";
import { isKubernetesObject, RenderedObject, toObject } from "../tools/render";

const root = path.join(__dirname, "..");

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [p] : [];
  });
}

function renderKey(stack: string, overrides: Record<string, unknown>): string {
  const files = [
    ...sources(path.join(root, "components")),
    path.join(root, "stack.ts"),
    path.join(root, "index.ts"),
    path.join(root, "config.ts"),
    path.join(root, "tools", "offline.ts"),
    path.join(root, "Pulumi.yaml"),
    path.join(root, `Pulumi.${stack}.yaml`),
  ];
  const hash = createHash("sha256");
  if (Object.keys(overrides).length > 0) hash.update(JSON.stringify(overrides));
  for (const f of files.sort()) hash.update(f).update(fs.readFileSync(f));
  return `${stack}-${hash.digest("hex").slice(0, 16)}`;
}

/** One offline run of a stack: its Kubernetes objects and its resolved outputs. */
interface Rendering {
  objects: RenderedObject[];
  outputs: Record<string, unknown>;
}

/** Runs in progress in this process, by cache key: callers at once share one run. */
const inProgress = new Map<string, Promise<Rendering>>();

async function rendering(stack: string, overrides: Record<string, unknown>): Promise<Rendering> {
  const cacheDir = path.join(root, "node_modules", ".cache", "holdfast-render");
  const key = renderKey(stack, overrides);
  const file = path.join(cacheDir, `${key}.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as Rendering;
  let run = inProgress.get(key);
  if (!run) {
    run = runHoldfastStack(stack, overrides).then(({ resources, outputs }) => {
      const result: Rendering = { objects: resources.filter(isKubernetesObject).map(toObject), outputs };
      fs.mkdirSync(cacheDir, { recursive: true });
      fs.writeFileSync(`${file}.${process.pid}`, JSON.stringify(result));
      fs.renameSync(`${file}.${process.pid}`, file);
      return result;
    });
    inProgress.set(key, run);
    run.then(
      () => inProgress.delete(key),
      () => inProgress.delete(key),
    );
  }
  return run;
}

/**
 * Every Kubernetes object of `stack`, rendered offline (cached across test workers).
 * @param overrides config values set over the stack file's (keys like `holdfast:pushgatewayUrl`).
 */
export async function renderedObjects(
  stack: string,
  overrides: Record<string, unknown> = {},
): Promise<RenderedObject[]> {
  return (await rendering(stack, overrides)).objects;
}

/** The outputs of `stack`, rendered offline (cached across test workers). */
export async function renderedOutputs(
  stack: string,
  overrides: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  return (await rendering(stack, overrides)).outputs;
}

/** The object of `kind` named `name` among `objects`. */
export function objectNamed<T = RenderedObject>(objects: RenderedObject[], kind: string, name: string): T {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`the rendering has no ${kind} ${name}`);
  return o as unknown as T;
}
