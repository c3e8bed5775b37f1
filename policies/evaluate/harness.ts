// Test access to one policy at a time, through the same runtime presentation as the offline evaluator:
// a fixture's properties reach the policy as the analyzer server would give them (secrets unwrapped,
// unknowns behind the proxy), with the policy's config defaults and any override a test gives.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  ResourceRecord,
  Violation,
  effectiveConfig,
  keyOf,
  runResourcePolicy,
  runStackPolicy,
} from "./runtime";

export { UNKNOWN, secret } from "./runtime";

/** A fixture: a resource's type, name and properties, and optionally its options. */
export interface Fixture {
  type: string;
  name?: string;
  props: Record<string, unknown>;
  protect?: boolean;
  parent?: string;
  /** Property name -> names of the fixtures its value came from (stack policies). */
  propertyDependencies?: Record<string, string[]>;
}

function record(f: Fixture, i: number): ResourceRecord {
  return {
    type: f.type,
    name: f.name ?? `fixture-${i}`,
    inputs: f.props,
    protect: f.protect ?? false,
    parent: f.parent,
  };
}

/** What a test asserts on: the messages a policy reported (and whether it could not run). */
export interface Findings {
  violations: Violation[];
  messages: string[];
}

function findings(violations: Violation[]): Findings {
  return { violations, messages: violations.map((v) => v.message) };
}

/** Runs a resource policy on one fixture with `config` over the policy's defaults. */
export async function checkResource(
  policy: ResourceValidationPolicy,
  fixture: Fixture,
  config: Record<string, unknown> = {},
): Promise<Findings> {
  const effective = effectiveConfig(policy, "mandatory", { [policy.name]: { properties: config } });
  const records = [record(fixture, 0)];
  return findings(await runResourcePolicy(policy, effective, { records, stack: "test", project: "test" }));
}

/** Runs a stack policy on fixtures with `config` over the policy's defaults. */
export async function checkStack(
  policy: StackValidationPolicy,
  fixtures: Fixture[],
  config: Record<string, unknown> = {},
): Promise<Findings> {
  const effective = effectiveConfig(policy, "mandatory", { [policy.name]: { properties: config } });
  const records = fixtures.map(record);
  const byName = new Map(records.map((r) => [r.name, r]));
  fixtures.forEach((f, i) => {
    if (!f.propertyDependencies) return;
    records[i].propertyDependencies = Object.fromEntries(
      Object.entries(f.propertyDependencies).map(([prop, names]) => [
        prop,
        names.map((n) => {
          const dep = byName.get(n);
          if (!dep) throw new Error(`fixture ${records[i].name} depends on unknown fixture ${n}`);
          return keyOf(dep);
        }),
      ]),
    );
  });
  return findings(await runStackPolicy(policy, effective, { records, stack: "test", project: "test" }));
}

/** A deep copy of a fixture's properties, for a test to mutate one field. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
