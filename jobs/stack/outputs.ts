// A stack's outputs, as the stack commands need them: where the stack runs (namespace, kube context),
// its StatefulSets and claims, the jobs image, the backup bucket and the service accounts. They come from
// the Pulumi Automation API (LocalWorkspace.selectStack, stack.outputs()) when a Pulumi CLI is on PATH,
// or from a file holding `pulumi stack output --json --show-secrets`. The Automation API sits behind a
// small interface, so tests inject a fake workspace and the CLI is never downloaded.
import { spawnSync } from "child_process";
import * as fs from "fs";
import type { StackOutputs } from "../../core/stack-outputs";
import { UsageError } from "../cli/errors";

export type { StackOutputs };

/** The Automation API as the stack commands use it: `LocalWorkspace` satisfies it, a test fakes it. */
export interface AutomationApi {
  selectStack(args: {
    stackName: string;
    workDir: string;
  }): Promise<{ outputs(): Promise<Record<string, { value: unknown; secret: boolean }>> }>;
}

/** Where the outputs come from. */
export interface OutputsSource {
  /** A file with `pulumi stack output --json --show-secrets`. */
  file?: string;
  /** The Automation API; default `@pulumi/pulumi/automation`'s LocalWorkspace when a CLI is present. */
  automation?: AutomationApi;
  /** Whether a Pulumi CLI is on PATH (default: asks `pulumi version`). */
  pulumiAvailable?: () => boolean;
  /** The Pulumi project directory (Pulumi.yaml). */
  workDir: string;
}

/** Whether `pulumi version` runs (the CLI the Automation API drives). Never installs it. */
export function pulumiCliAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  const r = spawnSync("pulumi", ["version"], {
    env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    stdio: "ignore",
    timeout: 20_000,
  });
  return r.error === undefined && r.status === 0;
}

/**
 * The real Automation API, loaded only when it is used (it pulls in the Pulumi SDK, which the jobs image
 * leaves out: there the outputs come from --outputs FILE).
 * @throws UsageError when @pulumi/pulumi is not installed.
 */
export function loadAutomationApi(): AutomationApi {
  let automation: typeof import("@pulumi/pulumi/automation");
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    automation = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
  } catch {
    throw new UsageError(
      "the Pulumi Automation API (@pulumi/pulumi) is not installed here (the jobs image leaves it out); " +
        "pass --outputs FILE (pulumi stack output --json --show-secrets > FILE), or run holdfast from a checkout",
    );
  }
  return automation.LocalWorkspace;
}

type Json = Record<string, unknown>;

function field(raw: Json, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((v, k) => (v as Json | undefined)?.[k], raw);
}

/**
 * Checks raw outputs (`pulumi stack output --json` shape) and returns the fields the commands use.
 * @throws UsageError naming the first missing field.
 */
export function checkOutputs(raw: unknown, stack: string, from: string): StackOutputs {
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new UsageError(`the outputs of stack ${stack} (${from}) are not a JSON object`);
  const o = raw as Json;
  if (Object.keys(o).length === 0)
    throw new UsageError(`stack ${stack} has no outputs (${from}); deploy it with pulumi up first`);
  const need = (dotted: string, kind: "string" | "array" | "object") => {
    const v = field(o, dotted);
    const ok =
      kind === "array"
        ? Array.isArray(v)
        : kind === "object"
          ? typeof v === "object" && v !== null
          : typeof v === "string";
    if (!ok)
      throw new UsageError(
        `the outputs of stack ${stack} (${from}) have no ${dotted}; update the stack with this Holdfast (pulumi up)`,
      );
    if (v === "[secret]")
      throw new UsageError(
        `${dotted} of stack ${stack} is hidden as a secret; read the outputs with --show-secrets`,
      );
  };
  for (const f of [
    "stack",
    "namespace",
    "redis.statefulSet",
    "redis.sentinelStatefulSet",
    "redis.sentinels",
    "redis.masterName",
    "redis.secretName",
    "backup.bucket",
    "backup.prefix",
    "backup.region",
    "backup.serviceAccounts.restore",
    "backup.serviceAccounts.backup",
    "jobsImage",
  ])
    need(f, "string");
  need("redis.claimNames", "array");
  need("schedule.cronJobs", "object");
  // A fully qualified name (org/project/stack) ends with the name the program sees.
  const name = stack.split("/").pop() ?? stack;
  if (o.stack !== name)
    throw new UsageError(`the outputs in ${from} are those of stack ${String(o.stack)}, not ${stack}`);
  const redis = o.redis as StackOutputs["redis"];
  const backup = o.backup as StackOutputs["backup"];
  const lancedb = o.lancedb as StackOutputs["lancedb"] | undefined;
  return {
    stack: name,
    namespace: o.namespace as string,
    kubeContext: typeof o.kubeContext === "string" ? o.kubeContext : "",
    protected: typeof o.protected === "boolean" ? o.protected : undefined,
    redis: {
      statefulSet: redis.statefulSet,
      sentinelStatefulSet: redis.sentinelStatefulSet,
      sentinels: redis.sentinels,
      masterName: redis.masterName,
      secretName: redis.secretName,
      claimNames: redis.claimNames.map(String),
      sentinelClaimNames: Array.isArray(redis.sentinelClaimNames)
        ? redis.sentinelClaimNames.map(String)
        : undefined,
      storageClassName: optionalString(redis.storageClassName),
    },
    backup: {
      bucket: backup.bucket,
      prefix: backup.prefix,
      region: backup.region,
      serviceAccounts: {
        backup: backup.serviceAccounts.backup,
        prune: backup.serviceAccounts.prune ?? "",
        restore: backup.serviceAccounts.restore,
      },
      roles: backup.roles && typeof backup.roles === "object" ? backup.roles : undefined,
      objectLockMode: optionalString(backup.objectLockMode),
      objectLockDays: typeof backup.objectLockDays === "number" ? backup.objectLockDays : undefined,
    },
    jobsImage: o.jobsImage as string,
    schedule: { cronJobs: (o.schedule as StackOutputs["schedule"]).cronJobs },
    lancedb:
      lancedb && typeof lancedb.statefulSet === "string"
        ? {
            mode: lancedb.mode,
            statefulSet: lancedb.statefulSet,
            replicas: Number(lancedb.replicas ?? 1),
            claimNames: (lancedb.claimNames ?? []).map(String),
            dataPath: lancedb.dataPath,
            storageClassName: optionalString(lancedb.storageClassName),
          }
        : undefined,
    monitoring: Array.isArray((o.monitoring as Json | undefined)?.crds)
      ? { crds: ((o.monitoring as Json).crds as unknown[]).map(String) }
      : undefined,
  };
}

function optionalString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** A protected stack asks for its name before a restore: `protected: true`, or by default a stack named prod. */
export function isProtected(o: StackOutputs): boolean {
  return o.protected ?? /^prod(uction)?$/i.test(o.stack);
}

/** Reads outputs from a `pulumi stack output --json --show-secrets` file. */
export function outputsFromFile(file: string, stack: string): StackOutputs {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`cannot read --outputs ${file}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UsageError(
      `--outputs ${file} is not JSON (expected pulumi stack output --json --show-secrets)`,
    );
  }
  return checkOutputs(raw, stack, file);
}

/** Reads outputs through the Automation API. */
export async function outputsFromAutomation(
  automation: AutomationApi,
  stack: string,
  workDir: string,
): Promise<StackOutputs> {
  let map: Record<string, { value: unknown; secret: boolean }>;
  try {
    const selected = await automation.selectStack({ stackName: stack, workDir });
    map = await selected.outputs();
  } catch (err) {
    const message = String((err as Error)?.message ?? err);
    const line =
      /no stack named|not found|does not exist/i.exec(message) !== null
        ? `unknown stack ${stack} (pulumi stack ls lists the stacks of ${workDir})`
        : `cannot read the outputs of stack ${stack} with the Pulumi CLI: ${message.split("\n").find((l) => l.trim()) ?? message}`;
    throw new UsageError(line);
  }
  const raw = Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v.value]));
  return checkOutputs(raw, stack, "pulumi stack output");
}

/**
 * Resolves a stack's outputs: from `source.file` when given, else through the Automation API when a
 * Pulumi CLI is present.
 * @throws UsageError (exit 2) for an unknown stack or when neither source is available.
 */
export async function resolveOutputs(stack: string, source: OutputsSource): Promise<StackOutputs> {
  if (!/^[\w.-]{1,100}(\/[\w.-]{1,100}){0,2}$/.test(stack) || stack.split("/").some((p) => /^\.+$/.test(p)))
    throw new UsageError(`"${stack}" is not a stack name`);
  if (source.file) return outputsFromFile(source.file, stack);
  const available = source.automation !== undefined || (source.pulumiAvailable ?? pulumiCliAvailable)();
  if (!available)
    throw new UsageError(
      `no Pulumi CLI on PATH to read the outputs of stack ${stack}; pass --outputs FILE ` +
        `(pulumi stack output --json --show-secrets -s ${stack} > FILE)`,
    );
  return outputsFromAutomation(source.automation ?? loadAutomationApi(), stack, source.workDir);
}
