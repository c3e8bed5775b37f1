// Clients of the Kubernetes API stand-in: a @kubernetes/client-node KubeConfig in this process, or a
// kubeconfig file for a subprocess (KUBECONFIG=...).
import * as fs from "fs";
import { stringify } from "yaml";
import type * as KubeClient from "@kubernetes/client-node";
import type { KubeApiServer, KubeconfigOptions } from "./server";

/**
 * @kubernetes/client-node 1.x ships only ES modules, which Jest's module registry cannot load; Node's own
 * require (>= 20.19) can. process.getBuiltinModule reaches it past Jest.
 */
export function loadKubeClient(): typeof KubeClient {
  const { createRequire } = process.getBuiltinModule("node:module") as typeof import("node:module");
  return createRequire(__filename)("@kubernetes/client-node") as typeof KubeClient;
}

/** A client-node KubeConfig whose current context is the stand-in, authenticated as `options.user`. */
export function kubeConfigFor(server: KubeApiServer, options: KubeconfigOptions = {}): KubeClient.KubeConfig {
  const k8s = loadKubeClient();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(stringify(server.kubeconfig(options)));
  return kc;
}

/** Writes a kubeconfig file for the stand-in; returns its path. */
export function writeKubeconfig(
  server: KubeApiServer,
  file: string,
  options: KubeconfigOptions = {},
): string {
  fs.writeFileSync(file, stringify(server.kubeconfig(options)), { mode: 0o600 });
  return file;
}
