// A policy's settings: the defaults written in the policy, overridden by what the pack's config file
// gives it (`pulumi preview --policy-pack-config FILE`, or the offline evaluator's --config). The Pulumi
// CLI also fills in the schema defaults, but a policy never relies on that: it applies its own.
import type { PolicyConfigSchema } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";

/** Anything that hands a policy its config (resource and stack validation args both do). */
export interface ConfigSource {
  getConfig<T extends object>(): T;
}

/** The policy's settings: `defaults` with every key the config sets replaced. */
export function settings<T extends object>(args: ConfigSource, defaults: T): T {
  const given = (args.getConfig<Partial<T>>() ?? {}) as Partial<T>;
  const merged = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    if (given[key] !== undefined && given[key] !== null) merged[key] = given[key] as T[keyof T];
  }
  return merged;
}

/** One property of a config schema: its JSON schema (type, bounds, description) without the default. */
export type PropertySchema = Omit<PolicyConfigJSONSchema, "default">;

/** A config schema whose defaults are the policy's `defaults`, so the two cannot drift apart. */
export function configSchema<T extends object>(
  defaults: T,
  properties: { [K in keyof T]: PropertySchema },
): PolicyConfigSchema {
  const out: PolicyConfigSchema["properties"] = {};
  for (const key of Object.keys(properties) as (keyof T & string)[]) {
    out[key] = { ...properties[key], default: defaults[key] as PolicyConfigJSONSchema["default"] };
  }
  return { properties: out };
}
