// Loads @kubernetes/client-node and a KubeConfig for the commands that talk to a cluster.
import type * as KubeClient from "@kubernetes/client-node";

/**
 * @kubernetes/client-node 1.x ships only ES modules. Node >= 20.19 loads them with require(), which is
 * what the compiled CLI does; Jest's module registry cannot, so the module is loaded through Node's own
 * require, reached with process.getBuiltinModule, and behaves the same under the CLI and the tests.
 */
export function loadKubeClient(): typeof KubeClient {
  const { createRequire } = process.getBuiltinModule("node:module") as typeof import("node:module");
  return createRequire(__filename)("@kubernetes/client-node") as typeof KubeClient;
}

/** The KubeConfig of $KUBECONFIG or ~/.kube/config, else the pod's service account (in cluster). */
export function defaultKubeConfig(): KubeClient.KubeConfig {
  const kc = new (loadKubeClient().KubeConfig)();
  kc.loadFromDefault();
  return kc;
}

/** The namespace of the KubeConfig's current context (in cluster: the pod's namespace), if any. */
export function contextNamespace(kc: KubeClient.KubeConfig): string | undefined {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || undefined;
}

/**
 * Call options that abort a request after `timeoutMs` (client-node sets no timeout of its own: a
 * black-holed connection would otherwise hang a call, and pile up sockets, until the partition heals).
 */
export function withTimeout(
  timeoutMs: number,
  options: KubeClient.ConfigurationOptions = {},
): KubeClient.ConfigurationOptions {
  const { Observable } = loadKubeClient();
  const abortAfter: KubeClient.ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(AbortSignal.timeout(timeoutMs));
      return new Observable(Promise.resolve(ctx));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return {
    ...options,
    middleware: [...(options.middleware ?? []), abortAfter],
    middlewareMergeStrategy: "append",
  };
}

/** The HTTP status of a client-node ApiException, or undefined for other errors (network, timeout). */
export function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/**
 * One line for an error of a client-node call: the API's Status message when there is one. (The
 * errors come from Node's module realm, not always `instanceof Error` where they are caught.)
 */
export function describeKubeError(err: unknown): string {
  const status = httpStatus(err);
  if (status !== undefined) {
    const body = (err as { body?: unknown }).body;
    let message: string | undefined;
    try {
      message = (typeof body === "string" ? JSON.parse(body) : body)?.message;
    } catch {
      message = typeof body === "string" ? body.slice(0, 200) : undefined;
    }
    return `HTTP ${status}${message ? `: ${message}` : ""}`;
  }
  return String((err as { message?: unknown } | null)?.message ?? err);
}
