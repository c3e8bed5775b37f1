// `npm run render -- --stack dev|prod --out DIR`: runs the stack program offline under Pulumi mocks and
// writes every Kubernetes object as YAML under DIR/manifests/ and every resource to DIR/resources.json,
// like `helm template` for a Holdfast stack; the alerts of each PrometheusRule also go to DIR/rules/ as
// Prometheus rule files, the form `promtool check rules` and `promtool test rules` read.
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { stringify } from "yaml";
import { runHoldfastStack, RecordedResource } from "./offline";

/** A Kubernetes object rendered from a recorded resource. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** True for resources that are Kubernetes objects (not the provider, not components). */
export function isKubernetesObject(r: RecordedResource): boolean {
  return r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:");
}

/** `kubernetes:apps/v1:StatefulSet` -> apiVersion `apps/v1`, kind `StatefulSet`; core/v1 -> `v1`. */
export function apiVersionKind(type: string): { apiVersion: string; kind: string } {
  const [, group, kind] = type.split(":");
  return { apiVersion: group.startsWith("core/") ? group.slice("core/".length) : group, kind };
}

/** The object a Kubernetes resource's inputs describe, as the API server would receive it. */
export function toObject(r: RecordedResource): RenderedObject {
  const { apiVersion, kind } = apiVersionKind(r.type);
  const { apiVersion: _a, kind: _k, ...rest } = r.inputs;
  return { apiVersion, kind, ...rest } as RenderedObject;
}

/** A file name for an object: `<kind>-<namespace>-<name>.yaml`, lower case. */
export function manifestFileName(o: RenderedObject): string {
  return `${[o.kind, o.metadata.namespace, o.metadata.name].filter(Boolean).join("-").toLowerCase()}.yaml`;
}

/** A Prometheus rule file: what a PrometheusRule's spec holds, under its file name. */
export interface RuleFile {
  /** `<namespace>-<name>.rules.yaml` of the PrometheusRule. */
  name: string;
  content: string;
}

/** The rule files of every PrometheusRule among `objects`, as the Prometheus Operator hands them over. */
export function ruleFiles(objects: RenderedObject[]): RuleFile[] {
  return objects
    .filter((o) => o.kind === "PrometheusRule")
    .map((o) => ({
      name: `${[o.metadata.namespace, o.metadata.name].filter(Boolean).join("-")}.rules.yaml`,
      content: stringify(o.spec, { lineWidth: 0 }),
    }));
}

/**
 * Renders a stack into `outDir`.
 * @returns the objects written and the number of resources recorded.
 */
export async function renderStack(
  stack: string,
  outDir: string,
): Promise<{ objects: RenderedObject[]; resources: number }> {
  const run = await runHoldfastStack(stack);
  const manifests = path.join(outDir, "manifests");
  fs.rmSync(manifests, { recursive: true, force: true });
  fs.mkdirSync(manifests, { recursive: true });
  const objects = run.resources.filter(isKubernetesObject).map(toObject);
  for (const o of objects) {
    fs.writeFileSync(path.join(manifests, manifestFileName(o)), stringify(o, { lineWidth: 0 }));
  }
  const rules = path.join(outDir, "rules");
  fs.rmSync(rules, { recursive: true, force: true });
  for (const file of ruleFiles(objects)) {
    fs.mkdirSync(rules, { recursive: true });
    fs.writeFileSync(path.join(rules, file.name), file.content);
  }
  const resources = run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    parent: r.parent ?? null,
    protect: r.protect,
    retainOnDelete: r.retainOnDelete,
    provider: r.provider ?? null,
    inputs: r.inputs,
  }));
  fs.writeFileSync(
    path.join(outDir, "resources.json"),
    JSON.stringify({ stack, resources, outputs: run.outputs }, null, 2) + "\n",
  );
  return { objects, resources: resources.length };
}

async function main(): Promise<number> {
  let values: { stack?: string; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { stack: { type: "string" }, out: { type: "string" }, help: { type: "boolean" } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`render: ${(err as Error).message.split("\n")[0]}\n`);
    return 2;
  }
  if (values.help || !values.stack || !values.out) {
    process.stderr.write("usage: npm run render -- --stack dev|prod --out DIR\n");
    return values.help ? 0 : 2;
  }
  if (!fs.existsSync(path.join(__dirname, "..", `Pulumi.${values.stack}.yaml`))) {
    process.stderr.write(`render: no stack "${values.stack}" (no Pulumi.${values.stack}.yaml)\n`);
    return 2;
  }
  try {
    const { objects, resources } = await renderStack(values.stack, values.out);
    const rules = ruleFiles(objects).length;
    process.stdout.write(
      `rendered stack ${values.stack}: ${objects.length} Kubernetes objects in ${path.join(values.out, "manifests")}, ` +
        `${resources} resources in ${path.join(values.out, "resources.json")}` +
        (rules > 0 ? `, ${rules} rule file(s) in ${path.join(values.out, "rules")}` : "") +
        "\n",
    );
    return 0;
  } catch (err) {
    process.stderr.write(`render: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code));
}
