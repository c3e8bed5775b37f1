// The policy runtime's side of an evaluation, outside the Pulumi CLI: resources are presented to policies
// exactly as @pulumi/policy's analyzer server presents them (properties through a protobuf Struct,
// deserialized by its own code so secrets are unwrapped, then wrapped in its unknown-checking proxy;
// options, URN, provider and parent as it builds them), policies run with the enforcement level and
// config the CLI would give them, and what they report is collected as the CLI collects it. The offline
// evaluator and the policy tests both go through here, so a test sees what `pulumi preview` would show.
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type {
  EnforcementLevel,
  Policy,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Severity,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { UNKNOWN_SENTINELS, isUnknownValueError } from "../lib/props";

/* eslint-disable @typescript-eslint/no-require-imports */
const { deserializeProperties } = require("@pulumi/policy/deserialize") as {
  deserializeProperties(struct: Struct, proxySecrets: boolean): Record<string, unknown>;
};
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy<T extends object>(value: T): T;
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** How the engine serializes a secret value (`{ [sig]: secretSig, value }`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A value as the engine sends a secret; policies see the value itself. */
export function secret<T>(value: T): { [SIG_KEY]: string; value: T } {
  return { [SIG_KEY]: SECRET_SIG, value };
}

/** A value as the engine sends one it cannot know during preview. */
export const UNKNOWN = UNKNOWN_SENTINELS.string;

/** Removes undefined (a Struct cannot hold it; the engine drops such properties too). */
function plainJson(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value ?? {})) as Record<string, unknown>;
}

/** Properties as a policy receives them: through a Struct, deserialized, behind the unknown proxy. */
export function presentProps(props: Record<string, unknown>): Record<string, unknown> {
  const struct = Struct.fromJavaScript(plainJson(props) as Parameters<typeof Struct.fromJavaScript>[0]);
  return unknownCheckingProxy(deserializeProperties(struct, false));
}

/** A resource to evaluate: what tools/offline.ts records of each registration, or a test fixture. */
export interface ResourceRecord {
  /** Type token, e.g. `kubernetes:apps/v1:StatefulSet`. */
  type: string;
  /** Logical name. */
  name: string;
  /** `type::name` of the parent, if any (not the stack). */
  parent?: string;
  /** Inputs: what a resource policy sees. */
  inputs: Record<string, unknown>;
  /** Outputs (inputs plus what the provider computed): what a stack policy sees; inputs when absent. */
  outputs?: Record<string, unknown>;
  /** Effective protect (inherited from the parent, as every Pulumi SDK sends it). */
  protect: boolean;
  /** `type::name` of the explicit provider resource, if any. */
  provider?: string;
  /** Property name -> `type::name` of the resources its value came from (stack policies only). */
  propertyDependencies?: Record<string, string[]>;
}

/** `type::name` of a record, the key parents and providers refer to it by. */
export function keyOf(r: Pick<ResourceRecord, "type" | "name">): string {
  return `${r.type}::${r.name}`;
}

/** Builds URNs as the engine does: `urn:pulumi:<stack>::<project>::<parent types$>type::name`. */
export function urnFactory(
  stack: string,
  project: string,
  records: ResourceRecord[],
): (r: Pick<ResourceRecord, "type" | "name">) => string {
  const byKey = new Map(records.map((r) => [keyOf(r), r]));
  return (r) => {
    const types: string[] = [r.type];
    const seen = new Set<string>();
    for (let p = byKey.get(keyOf(r))?.parent; p && !seen.has(p); p = byKey.get(p)?.parent) {
      seen.add(p);
      types.unshift(p.slice(0, p.lastIndexOf("::")));
    }
    return `urn:pulumi:${stack}::${project}::${types.join("$")}::${r.name}`;
  };
}

/** One thing a policy reported, as the CLI lists it. */
export interface Violation {
  policyName: string;
  enforcementLevel: EnforcementLevel;
  severity?: Severity;
  description: string;
  /** What the policy said (without the description the CLI prefixes it with). */
  message: string;
  /** The resource it is about. */
  urn?: string;
  /** True when the policy could not run because a value is unknown during preview (always advisory). */
  unknown?: boolean;
}

/** A policy's effective config, as the CLI gives it: schema defaults overridden by the config file. */
export interface EffectivePolicyConfig {
  enforcementLevel: EnforcementLevel;
  properties: Record<string, unknown>;
}

/** The level and properties a policy runs with: config file > `all` > the policy's own > the pack's. */
export function effectiveConfig(
  policy: Policy,
  packLevel: EnforcementLevel,
  file: Record<string, { enforcementLevel?: EnforcementLevel; properties?: Record<string, unknown> }>,
): EffectivePolicyConfig {
  const defaults: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
    if (schema.default !== undefined) defaults[key] = schema.default;
  }
  const own = file[policy.name];
  return {
    enforcementLevel:
      own?.enforcementLevel ?? file.all?.enforcementLevel ?? policy.enforcementLevel ?? packLevel,
    properties: { ...defaults, ...own?.properties },
  };
}

function options(
  r: ResourceRecord,
  urn: (r: { type: string; name: string }) => string,
): PolicyResourceOptions {
  const opts: PolicyResourceOptions = {
    protect: r.protect,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
  };
  if (r.parent) {
    const sep = r.parent.lastIndexOf("::");
    opts.parent = urn({ type: r.parent.slice(0, sep), name: r.parent.slice(sep + 2) });
  }
  return opts;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
  const pulumiType = (resourceClass as { __pulumiType?: string }).__pulumiType;
  return pulumiType === type;
}

class NotApplicable extends Error {}

function notApplicable(reason?: string): never {
  throw new NotApplicable(reason ?? "Policy does not apply");
}

/** Everything a run of one or more policies over a set of resources needs. */
export interface RunContext {
  records: ResourceRecord[];
  stack: string;
  project: string;
}

/** Collects violations the way the analyzer server's reportViolation does. */
function collector(policy: Policy, level: EnforcementLevel, into: Violation[]): ReportViolation {
  return (message: string, urn?: string) => {
    into.push({
      policyName: policy.name,
      enforcementLevel: level,
      severity: policy.severity,
      description: policy.description,
      message: message ?? "",
      urn,
    });
  };
}

function unknownViolation(policy: Policy, err: Error, urn?: string): Violation {
  return {
    policyName: policy.name,
    enforcementLevel: "advisory",
    severity: policy.severity,
    description: policy.description,
    message: `can't run policy '${policy.name}' during preview: ${err.message}`,
    urn,
    unknown: true,
  };
}

function providerOf(
  r: ResourceRecord,
  byKey: Map<string, ResourceRecord>,
  urn: (r: { type: string; name: string }) => string,
): PolicyProviderResource | undefined {
  const p = r.provider ? byKey.get(r.provider) : undefined;
  return p ? { type: p.type, name: p.name, urn: urn(p), props: presentProps(p.inputs) } : undefined;
}

/** Runs a resource policy over every resource, as `Analyze` calls do during a preview. */
export async function runResourcePolicy(
  policy: ResourceValidationPolicy,
  config: EffectivePolicyConfig,
  ctx: RunContext,
): Promise<Violation[]> {
  if (config.enforcementLevel === "disabled" || !policy.validateResource) return [];
  const level = config.enforcementLevel === "remediate" ? "mandatory" : config.enforcementLevel;
  const urn = urnFactory(ctx.stack, ctx.project, ctx.records);
  const byKey = new Map(ctx.records.map((r) => [keyOf(r), r]));
  const out: Violation[] = [];
  const validations = Array.isArray(policy.validateResource)
    ? policy.validateResource
    : [policy.validateResource];
  for (const r of ctx.records) {
    for (const validate of validations) {
      const props = presentProps(r.inputs);
      const args: ResourceValidationArgs = {
        type: r.type,
        props,
        urn: urn(r),
        name: r.name,
        opts: options(r, urn),
        stackTags: new Map(),
        isType: (cls) => isTypeOf(r.type, cls),
        asType: ((cls: unknown) =>
          isTypeOf(r.type, cls) ? props : undefined) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => config.properties as T,
        notApplicable,
      };
      const provider = providerOf(r, byKey, urn);
      if (provider) args.provider = provider;
      const report = collector(policy, level, out);
      try {
        await validate(args, (message, violationUrn) => report(message, violationUrn ?? urn(r)));
      } catch (err) {
        if (isUnknownValueError(err)) out.push(unknownViolation(policy, err as Error, urn(r)));
        else if (!(err instanceof NotApplicable)) throw err;
      }
    }
  }
  return out;
}

/** Runs a stack policy over all resources at once, as `AnalyzeStack` does at the end of a preview. */
export async function runStackPolicy(
  policy: StackValidationPolicy,
  config: EffectivePolicyConfig,
  ctx: RunContext,
): Promise<Violation[]> {
  if (config.enforcementLevel === "disabled") return [];
  const level = config.enforcementLevel === "remediate" ? "mandatory" : config.enforcementLevel;
  const urn = urnFactory(ctx.stack, ctx.project, ctx.records);
  const byKey = new Map(ctx.records.map((r) => [keyOf(r), r]));
  const resources = new Map<string, PolicyResource>();
  for (const r of ctx.records) {
    const props = presentProps(r.outputs ?? r.inputs);
    const resource: PolicyResource = {
      type: r.type,
      props,
      urn: urn(r),
      name: r.name,
      opts: options(r, urn),
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => isTypeOf(r.type, cls),
      asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
    };
    const provider = providerOf(r, byKey, urn);
    if (provider) resource.provider = provider;
    resources.set(keyOf(r), resource);
  }
  for (const r of ctx.records) {
    const resource = resources.get(keyOf(r))!;
    if (r.parent && resources.has(r.parent)) resource.parent = resources.get(r.parent);
    for (const [prop, keys] of Object.entries(r.propertyDependencies ?? {})) {
      const deps = keys.map((k) => resources.get(k)).filter((d): d is PolicyResource => d !== undefined);
      resource.propertyDependencies[prop] = deps;
      for (const d of deps) if (!resource.dependencies.includes(d)) resource.dependencies.push(d);
    }
  }
  const args: StackValidationArgs = {
    resources: [...resources.values()],
    stackTags: new Map(),
    getConfig: <T extends object>() => config.properties as T,
    notApplicable,
  };
  const out: Violation[] = [];
  try {
    await policy.validateStack(args, collector(policy, level, out));
  } catch (err) {
    if (isUnknownValueError(err)) out.push(unknownViolation(policy, err as Error));
    else if (!(err instanceof NotApplicable)) throw err;
  }
  return out;
}

/** True for a stack policy (it has validateStack). */
export function isStackPolicy(p: Policy): p is StackValidationPolicy {
  return typeof (p as StackValidationPolicy).validateStack === "function";
}
