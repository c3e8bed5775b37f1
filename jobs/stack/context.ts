// Opening a stack for a stack command: its outputs (Automation API or --outputs FILE), the kubeconfig
// context it runs in (--context, else the stack's kubeContext output, else the current context), and
// the Kubernetes and S3 handles on it. Mistakes here are bad input: one line, exit 2.
import type * as KubeClient from "@kubernetes/client-node";
import { type Flags, optNum, optStr, str } from "../cli/args";
import { UsageError } from "../cli/errors";
import { openLocation } from "../store/location";
import type { StoreLocation } from "../store/catalog";
import { defaultKubeConfig, loadKubeClient } from "../kube/client";
import { StackKube } from "./kube";
import { type AutomationApi, resolveOutputs, type StackOutputs } from "./outputs";

/** What can be injected (tests): the Automation API and whether a Pulumi CLI is present. */
export interface StackDeps {
  automation?: AutomationApi;
  pulumiAvailable?: () => boolean;
  /** A kubeconfig to use instead of $KUBECONFIG. */
  kubeConfig?: KubeClient.KubeConfig;
  env?: NodeJS.ProcessEnv;
}

/** An opened stack. */
export interface StackContext {
  outputs: StackOutputs;
  kubeConfig: KubeClient.KubeConfig;
  /** The context used; empty when the kubeconfig's current one is. */
  context: string;
  kube: StackKube;
  env: NodeJS.ProcessEnv;
}

/** Resolves the outputs and the cluster of `--stack`. */
export async function openStack(flags: Flags, deps: StackDeps = {}): Promise<StackContext> {
  const pollMs = optNum(flags, "poll-interval") ?? 1000;
  const resolving = resolveOutputs(str(flags, "stack"), {
    file: optStr(flags, "outputs"),
    workDir: optStr(flags, "work-dir") ?? process.cwd(),
    automation: deps.automation,
    pulumiAvailable: deps.pulumiAvailable,
  });
  resolving.catch(() => undefined);
  // The Kubernetes client's library (about a second to load) loads while the Pulumi CLI, when it reads
  // the outputs, runs its first command; a problem with the outputs is still the one reported first.
  await new Promise((resolve) => setImmediate(resolve));
  let kc = deps.kubeConfig;
  let kubeConfigError: UsageError | undefined;
  if (!kc) {
    try {
      kc = defaultKubeConfig();
    } catch (err) {
      kubeConfigError = new UsageError(`cannot load the kubeconfig: ${(err as Error).message}`);
    }
  }
  const outputs = await resolving;
  if (!kc) throw kubeConfigError;
  const context = optStr(flags, "context") ?? outputs.kubeContext ?? "";
  if (context) {
    if (!kc.getContextObject(context))
      throw new UsageError(
        `no context ${context} in the kubeconfig${optStr(flags, "context") ? "" : ` (stack ${outputs.stack}'s kubeContext output)`}`,
      );
    const copy = new (loadKubeClient().KubeConfig)();
    copy.loadFromString(kc.exportConfig());
    copy.setCurrentContext(context);
    kc = copy;
  }
  const env = deps.env ?? process.env;
  return {
    outputs,
    kubeConfig: kc,
    context: context || kc.getCurrentContext(),
    kube: new StackKube(kc, outputs.namespace, pollMs),
    env,
  };
}

/** The stack's backup location, with the stack's region unless AWS_REGION says otherwise. */
export function openBackups(ctx: StackContext): Promise<StoreLocation> {
  const env = { ...ctx.env, AWS_REGION: ctx.env.AWS_REGION || ctx.outputs.backup.region };
  return openLocation({ bucket: ctx.outputs.backup.bucket, prefix: ctx.outputs.backup.prefix }, env);
}
