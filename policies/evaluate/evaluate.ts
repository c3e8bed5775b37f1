// The offline evaluation of the pack: every policy over every resource of a program run under Pulumi
// mocks, with the levels and properties of a config file, as `pulumi preview --policy-pack` would run
// them; and the report, in the shape of the preview's policy section or as JSON.
import type { EnforcementLevel, Policies, ResourceValidationPolicy } from "@pulumi/policy";
import type { PackConfig } from "./config";
import {
  ResourceRecord,
  Violation,
  effectiveConfig,
  isStackPolicy,
  runResourcePolicy,
  runStackPolicy,
  urnFactory,
} from "./runtime";

/** A violation with the resource it is about, as `type::name`. */
export interface Finding extends Violation {
  resource?: { type: string; name: string };
}

/** The outcome of evaluating a pack over a program's resources. */
export interface Evaluation {
  /** What was evaluated: `stack dev` or `program test/x.ts`. */
  target: string;
  pack: { name: string; version: string };
  resources: number;
  policies: number;
  findings: Finding[];
  /** Count of findings by enforcement level. */
  mandatory: number;
  advisory: number;
}

/** What evaluatePack needs besides the policies and resources. */
export interface EvaluationOptions {
  target: string;
  stack: string;
  project: string;
  pack: { name: string; version: string; enforcementLevel: EnforcementLevel };
  config: PackConfig;
}

/** Runs every policy, resource policies first, in the order of the pack. */
export async function evaluatePack(
  policies: Policies,
  records: ResourceRecord[],
  o: EvaluationOptions,
): Promise<Evaluation> {
  const ctx = { records, stack: o.stack, project: o.project };
  const urn = urnFactory(o.stack, o.project, records);
  const byUrn = new Map(records.map((r) => [urn(r), r]));
  const findings: Finding[] = [];
  const ordered = [...policies.filter((p) => !isStackPolicy(p)), ...policies.filter(isStackPolicy)];
  for (const p of ordered) {
    const config = effectiveConfig(p, o.pack.enforcementLevel, o.config);
    const found = isStackPolicy(p)
      ? await runStackPolicy(p, config, ctx)
      : await runResourcePolicy(p as ResourceValidationPolicy, config, ctx);
    for (const v of found) {
      const r = v.urn ? byUrn.get(v.urn) : undefined;
      findings.push(r ? { ...v, resource: { type: r.type, name: r.name } } : v);
    }
  }
  return {
    target: o.target,
    pack: { name: o.pack.name, version: o.pack.version },
    resources: records.length,
    policies: policies.length,
    findings,
    mandatory: findings.filter((f) => f.enforcementLevel === "mandatory").length,
    advisory: findings.filter((f) => f.enforcementLevel === "advisory").length,
  };
}

/** The report as `pulumi preview` prints its policy section, and a summary line. */
export function formatReport(e: Evaluation, packLocation: string): string {
  const lines = ["Policies:"];
  const mark = e.mandatory > 0 ? "❌" : e.advisory > 0 ? "⚠️" : "✅";
  lines.push(`    ${mark} ${e.pack.name}@v${e.pack.version} (local: ${packLocation})`);
  for (const f of e.findings) {
    const where = f.resource ? `  (${f.resource.type}::${f.resource.name})` : "";
    lines.push(`        - [${f.enforcementLevel}]  ${f.policyName}${where}`);
    lines.push(`          ${f.description}`);
    for (const l of f.message.split("\n")) lines.push(`          ${l}`);
  }
  lines.push("");
  lines.push(
    `${e.target}: ${e.resources} resources checked by ${e.policies} policies: ` +
      `${e.mandatory} mandatory and ${e.advisory} advisory violation(s)`,
  );
  return lines.join("\n") + "\n";
}
