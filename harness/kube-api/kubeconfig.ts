// Clients of the Kubernetes API stand-in: a @kubernetes/client-node KubeConfig in this process, or a
// kubeconfig file for a subprocess (KUBECONFIG=...).
import * as fs from "fs";
import { stringify } from "yaml";
import type * as KubeClient from "@kubernetes/client-node";
import type { KubeApiServer, KubeconfigOptions } from "./server";
import { loadKubeClient } from "../../jobs/kube/client";

export { loadKubeClient };

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
