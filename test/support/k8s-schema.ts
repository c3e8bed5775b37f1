// Validates rendered Kubernetes objects against the Kubernetes OpenAPI schema (npm kubernetes-models),
// so a wrong type or a missing required field fails a test instead of a `pulumi up`.
import * as path from "path";

/** Validates one object; resolves to a list of problems, empty when it is valid. */
export function schemaProblems(o: { apiVersion: string; kind: string }): string[] {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  const dir = group ? `${group}/${version}` : version;
  // The Prometheus Operator's CRDs come from their own models package.
  const pkg =
    group === "monitoring.coreos.com" ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  let Model: { new (data: unknown): { validate(): void } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Model = require(path.posix.join(pkg, dir, o.kind))[o.kind];
  } catch {
    return [`no schema for ${o.apiVersion} ${o.kind}`];
  }
  try {
    new Model(o).validate();
    return [];
  } catch (err) {
    return String((err as Error).message)
      .split(", ")
      .map((m) => m.trim());
  }
}
