// Which connections a set of rendered NetworkPolicies admits, as the Kubernetes API defines it: a pod
// selected by at least one policy with Ingress accepts a connection only when some rule of some such
// policy matches its source (podSelector and namespaceSelector of one peer both hold) and its port.
// Enough of the API for the tests to ask "may this pod reach that port", not a network plugin.

/** A label selector (matchLabels and matchExpressions). */
interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
}

/** A NetworkPolicy as rendered. */
export interface NetworkPolicyObject {
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: Selector;
    policyTypes?: string[];
    ingress?: { from?: Peer[]; ports?: { protocol?: string; port?: number | string }[] }[];
  };
}

/** A pod: where it runs and its labels (its namespace carries `kubernetes.io/metadata.name`). */
export interface PodAt {
  namespace: string;
  labels: Record<string, string>;
}

function matches(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    if (e.operator === "In" && !(has && (e.values ?? []).includes(value))) return false;
    if (e.operator === "NotIn" && has && (e.values ?? []).includes(value)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

function peerAdmits(peer: Peer, policyNamespace: string, source: PodAt): boolean {
  const namespaceLabels = { "kubernetes.io/metadata.name": source.namespace };
  const namespaceOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, namespaceLabels)
    : source.namespace === policyNamespace;
  return namespaceOk && matches(peer.podSelector, source.labels);
}

/**
 * Whether `source` may open a TCP connection to `port` of `target` under `policies` (all of the target's
 * namespace). A pod no policy selects accepts everything.
 */
export function admits(policies: NetworkPolicyObject[], source: PodAt, target: PodAt, port: number): boolean {
  const selecting = policies.filter(
    (p) =>
      (p.metadata.namespace ?? target.namespace) === target.namespace &&
      (p.spec.policyTypes ?? ["Ingress"]).includes("Ingress") &&
      matches(p.spec.podSelector, target.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (p.spec.ingress ?? []).some(
      (rule) =>
        (rule.ports === undefined || rule.ports.some((r) => r.port === undefined || r.port === port)) &&
        (rule.from === undefined ||
          rule.from.some((peer) => peerAdmits(peer, p.metadata.namespace ?? target.namespace, source))),
    ),
  );
}
