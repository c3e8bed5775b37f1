// Names inside a Kubernetes cluster that the rendered objects and the holdfast jobs both spell.

/** A Service's (or a pod's, through its headless Service) DNS name inside the cluster. */
export function serviceHost(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}
