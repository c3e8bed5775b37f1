// The cluster: the kubeconfig context answers, and the stack's namespace is there.
import type { ClusterApi } from "./cluster-api";
import { type CheckResult, resultsOf } from "./check";

const r = resultsOf("cluster");

/**
 * Whether the stack's cluster answers, and what it says of the namespace.
 * @returns the results, and whether later groups can ask the cluster.
 */
export async function clusterChecks(
  api: ClusterApi,
  context: string,
  namespace: string,
): Promise<{ results: CheckResult[]; reachable: boolean }> {
  let version: string;
  try {
    version = (await api.call("GET /version", (o) => api.version.getCode(undefined, o))).gitVersion;
  } catch (err) {
    return {
      results: [
        r.fail(
          "reachable",
          `context ${context || "(current)"} does not answer: ${(err as Error).message}; check the kubeconfig and your network (kubectl --context ${context || "..."} version)`,
        ),
      ],
      reachable: false,
    };
  }
  const results = [r.ok("reachable", `context ${context || "(current)"} answers (Kubernetes ${version})`)];
  try {
    const ns = await api.read(`read namespace ${namespace}`, (o) =>
      api.core.readNamespace({ name: namespace }, o),
    );
    results.push(
      ns
        ? r.ok("namespace", `${namespace} exists`)
        : r.fail("namespace", `no namespace ${namespace} in this cluster: is this the stack's context?`),
    );
  } catch (err) {
    results.push(r.fail("namespace", (err as Error).message));
  }
  return { results, reachable: true };
}
