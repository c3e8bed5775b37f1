// Runs a Pulumi program offline under Pulumi mocks and records every resource it registers: its type,
// name, parent, resolved inputs, provider and effective `protect` / `retainOnDelete`. Shared by
// `npm run render`, the offline policy evaluation and the component tests.
import * as pulumi from "@pulumi/pulumi";
import { resolveConfigValue, readConfigSchema, readStackFile, projectDir } from "../config";

/** One resource as the program registered it. */
export interface RecordedResource {
  /** Type token, e.g. `kubernetes:apps/v1:StatefulSet`. */
  type: string;
  /** Logical (Pulumi) name. */
  name: string;
  /** `type::name` of the parent, when the resource has one other than the stack. */
  parent?: string;
  /** Inputs after every Output resolved (secrets included, unwrapped). */
  inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** What the mock provider returned as the resource's state (inputs plus computed outputs), and its id. */
  outputs?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Effective protect: set on the resource or inherited from its parent chain. */
  protect: boolean;
  /** Effective retainOnDelete, inherited the same way. */
  retainOnDelete: boolean;
  /** `type::name` of the explicit provider resource, if any. */
  provider?: string;
  /** True for custom (provider-backed) resources, false for components. */
  custom: boolean;
}

/** The outcome of an offline run. */
export interface OfflineRun {
  resources: RecordedResource[];
  /** The program's exports (stack outputs), resolved. */
  outputs: Record<string, unknown>;
}

const ACCOUNT_ID = "123456789012";

/** The marker the Pulumi runtime puts on a serialized secret: `{ [SECRET_SIG]: SECRET_VALUE_SIG, value }`. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces every serialized secret in `value` by the value it wraps. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[SECRET_SIG] === SECRET_VALUE_SIG) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** State a fake provider would add to a resource after creation, so dependent inputs resolve. */
function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const arnName = (inputs.name as string) ?? (inputs.bucket as string) ?? name;
  const state: Record<string, unknown> = { ...inputs };
  if (type === "random:index/randomPassword:RandomPassword") state.result = `mock-${name}-password`;
  if (type.startsWith("aws:")) {
    const service = type.split(":")[1].split("/")[0];
    state.arn = state.arn ?? `arn:aws:${service}:us-east-1:${ACCOUNT_ID}:${arnName}`;
  }
  if (type === "aws:s3/bucket:Bucket" || type === "aws:s3/bucketV2:BucketV2") {
    state.bucket = inputs.bucket ?? `${name}-mock`;
    state.arn = `arn:aws:s3:::${state.bucket}`;
  }
  if (type === "aws:kms/key:Key") state.keyId = `${name}-key-id`;
  if (type === "aws:ecr/repository:Repository") {
    state.name = inputs.name ?? `${name}-mock`;
    state.registryId = ACCOUNT_ID;
    state.repositoryUrl = `${ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/${state.name}`;
  }
  if (type === "docker:index/image:Image") {
    // A pushed image's repoDigest names the repository and digest, not the tag.
    const imageName = String(inputs.imageName);
    const repository = imageName.replace(/:[^:/]+$/, "");
    state.repoDigest = `${repository}@sha256:${"0".repeat(64)}`;
    state.imageName = imageName;
  }
  return state;
}

/** Answers for the provider functions a Holdfast program calls; anything else is an error. */
function mockCall(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/mock`, userId: "mock" };
    case "aws:index/getRegion:getRegion":
      return { name: "us-east-1", region: "us-east-1", id: "us-east-1" };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return {
        userName: "AWS",
        password: "mock-token",
        proxyEndpoint: "https://mock.ecr",
        id: "mock",
        ...inputs,
      };
    default:
      throw new Error(`offline run: no mock for provider function ${token}`);
  }
}

/** Turns a stack file's values into the string form the Pulumi runtime keeps config in. */
export function stackConfigStrings(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    out[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

/**
 * Checks a stack's values against the schema without running the program, so a typo in a stack
 * file fails clearly instead of being ignored.
 */
export function checkStackFile(stack: string, dir: string = projectDir): void {
  const schema = readConfigSchema(dir);
  for (const [fullKey, value] of Object.entries(readStackFile(stack, dir))) {
    const [ns, key] = fullKey.split(":");
    if (ns !== "holdfast") continue;
    if (!schema[key])
      throw new Error(`Pulumi.${stack}.yaml sets holdfast:${key}, which Pulumi.yaml does not declare`);
    resolveConfigValue(key, schema[key], typeof value === "string" ? value : JSON.stringify(value));
  }
}

/**
 * Runs `program` under Pulumi mocks as stack `stack` with `config` (keys like `holdfast:zones`)
 * and returns every registered resource.
 * @param stack the stack name the program sees through pulumi.getStack().
 * @param config config values as the CLI stores them; see stackConfigStrings.
 * @param program the program: loads the stack's module or builds resources, returning its outputs.
 */
export function runOffline(
  stack: string,
  config: Record<string, string>,
  program: () => Promise<Record<string, unknown>> | Record<string, unknown>,
): Promise<OfflineRun> {
  // Pulumi's mocks, stack name and config are global to the process: two runs at once would record
  // each other's resources. Each run waits for the one before.
  const run = previousRun.then(() => runOfflineAlone(stack, config, program));
  previousRun = run.catch(() => undefined);
  return run;
}

let previousRun: Promise<unknown> = Promise.resolve();

async function runOfflineAlone(
  stack: string,
  config: Record<string, string>,
  program: () => Promise<Record<string, unknown>> | Record<string, unknown>,
): Promise<OfflineRun> {
  const registered: RecordedResource[] = [];
  const keyOf = new Map<pulumi.Resource, string>();
  const declared = new Map<string, { protect?: boolean; retainOnDelete?: boolean; parentKey?: string }>();

  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const inputs = unwrapSecrets(args.inputs) as Record<string, unknown>;
        const id = args.custom === false ? undefined : `${args.name}-id`;
        const state = computedState(args.type, args.name, inputs);
        registered.push({
          type: args.type,
          name: args.name,
          inputs,
          outputs: id === undefined ? state : { ...state, id },
          protect: false,
          retainOnDelete: false,
          custom: args.custom ?? true,
          provider: args.provider ? providerKey(args.provider) : undefined,
        });
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return mockCall(args.token, args.inputs);
      },
    },
    "holdfast",
    stack,
    false,
  );
  pulumi.runtime.setAllConfig(config, []);

  let outputs: Record<string, unknown> = {};
  let failure: unknown;
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const key = `${args.type}::${args.name}`;
      keyOf.set(args.resource, key);
      declared.set(key, {
        protect: args.opts.protect,
        retainOnDelete: args.opts.retainOnDelete,
        parentKey: args.opts.parent ? keyOf.get(args.opts.parent) : undefined,
      });
      return undefined;
    });
    // A program that throws is reported by the promise of this call alone: left to the Pulumi runtime,
    // the error would also reject the stack resource's outputs, unhandled, and end the process.
    try {
      outputs = await program();
    } catch (err) {
      failure = err;
    }
    return outputs;
  });
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs?.();
  if (failure !== undefined) throw failure;
  const resolved = await resolveOutputs(outputs);

  const effective = (key: string | undefined, field: "protect" | "retainOnDelete"): boolean => {
    for (let k = key; k; k = declared.get(k)?.parentKey) {
      const value = declared.get(k)?.[field];
      if (value !== undefined) return value;
    }
    return false;
  };
  const resources = registered
    .filter((r) => r.type !== "pulumi:pulumi:Stack")
    .map((r) => {
      const key = `${r.type}::${r.name}`;
      return {
        ...r,
        parent: declared.get(key)?.parentKey,
        protect: effective(key, "protect"),
        retainOnDelete: effective(key, "retainOnDelete"),
      };
    });
  return { resources, outputs: resolved };
}

function providerKey(ref: string): string {
  // A provider reference is `urn::id`; the URN ends with `type::name`.
  const urn = ref.split("::").slice(0, -1).join("::");
  const parts = urn.split("::");
  return `${parts[parts.length - 2].split("$").pop()}::${parts[parts.length - 1]}`;
}

async function resolveOutputs(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const entries = await Promise.all(
    Object.entries(outputs ?? {}).map(
      async ([k, v]) =>
        [
          k,
          await new Promise((resolve) => (pulumi.output(v) as pulumi.Output<unknown>).apply(resolve)),
        ] as const,
    ),
  );
  return Object.fromEntries(entries);
}

/** Runs the Holdfast stack program (index.ts) offline with the named stack's Pulumi.<stack>.yaml. */
export async function runHoldfastStack(
  stack: string,
  overrides: Record<string, unknown> = {},
): Promise<OfflineRun> {
  checkStackFile(stack);
  const config = stackConfigStrings({ ...readStackFile(stack), ...overrides });
  return runOffline(stack, config, () => {
    // The program is built from the current config each time, so one process can render both stacks.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { holdfastStack } = require("../stack") as typeof import("../stack");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadConfig } = require("../config") as typeof import("../config");
    return holdfastStack(loadConfig()) as unknown as Record<string, unknown>;
  });
}
