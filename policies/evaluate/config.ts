// The pack's config file, as `pulumi preview --policy-pack-config FILE` reads it: per policy an
// enforcement level (a string) or an object of `enforcementLevel` and the policy's properties, plus an
// optional `all` level. The offline evaluator reads the same files and checks them against the
// policies' config schemas, so a typo fails here instead of being ignored.
import type { EnforcementLevel, Policies, Policy } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";

/** A config file, normalized: per policy name (or `all`), a level and properties. */
export type PackConfig = Record<
  string,
  { enforcementLevel?: EnforcementLevel; properties?: Record<string, unknown> }
>;

/** A config file the pack cannot use; its message is one line naming the file and the problem. */
export class PackConfigError extends Error {}

const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

function checkLevel(source: string, key: string, level: unknown): EnforcementLevel {
  if (typeof level !== "string" || !LEVELS.includes(level as EnforcementLevel))
    throw new PackConfigError(
      `${source}: ${key}: enforcementLevel must be one of ${LEVELS.join(", ")}, got ${JSON.stringify(level)}`,
    );
  return level as EnforcementLevel;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** Checks a value against the subset of JSON schema the pack's policies use. */
function checkValue(where: string, schema: PolicyConfigJSONSchema, value: unknown): void {
  const fail = (msg: string) => {
    throw new PackConfigError(`${where}: ${msg}, got ${JSON.stringify(value)}`);
  };
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  const actual = typeOf(value);
  if (
    types.length > 0 &&
    !types.includes(actual as never) &&
    !(actual === "integer" && types.includes("number"))
  )
    fail(`must be ${types.join(" or ")}`);
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    fail(`must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum)
    fail(`must be at least ${schema.minimum}`);
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      fail(`must have at least ${schema.minItems} item(s)`);
    const items = schema.items;
    if (items && typeof items === "object" && !Array.isArray(items))
      value.forEach((v, i) => checkValue(`${where}[${i}]`, items, v));
  }
}

function checkProperties(source: string, policy: Policy, properties: Record<string, unknown>): void {
  const schema = policy.configSchema?.properties ?? {};
  for (const [key, value] of Object.entries(properties)) {
    const property = schema[key];
    if (!property)
      throw new PackConfigError(
        `${source}: ${policy.name} has no property "${key}"` +
          (Object.keys(schema).length > 0
            ? ` (it has ${Object.keys(schema).join(", ")})`
            : " (it takes none)"),
      );
    if (typeof property === "object") checkValue(`${source}: ${policy.name}.${key}`, property, value);
  }
  for (const key of policy.configSchema?.required ?? [])
    if (
      !(key in properties) &&
      schema[key] &&
      typeof schema[key] === "object" &&
      (schema[key] as PolicyConfigJSONSchema).default === undefined
    )
      throw new PackConfigError(`${source}: ${policy.name} needs "${key}"`);
}

/**
 * Parses and checks a config file's text against the pack's policies.
 * @param source the file's name, for messages.
 */
export function parsePackConfig(text: string, policies: Policies, source: string): PackConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PackConfigError(`${source}: not JSON: ${(err as Error).message}`);
  }
  if (typeOf(doc) !== "object") throw new PackConfigError(`${source}: must be a JSON object of policy names`);
  const byName = new Map(policies.map((p) => [p.name, p]));
  const out: PackConfig = {};
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const policy = byName.get(key);
    if (key !== "all" && !policy) throw new PackConfigError(`${source}: the pack has no policy "${key}"`);
    if (typeof value === "string") {
      out[key] = { enforcementLevel: checkLevel(source, key, value) };
      continue;
    }
    if (typeOf(value) !== "object")
      throw new PackConfigError(`${source}: ${key} must be an enforcement level or an object`);
    const { enforcementLevel, ...properties } = value as Record<string, unknown>;
    out[key] = {};
    if (enforcementLevel !== undefined) out[key].enforcementLevel = checkLevel(source, key, enforcementLevel);
    if (key === "all") {
      if (Object.keys(properties).length > 0)
        throw new PackConfigError(`${source}: all takes only an enforcementLevel`);
      continue;
    }
    checkProperties(source, policy!, properties);
    if (Object.keys(properties).length > 0) out[key].properties = properties;
  }
  return out;
}
