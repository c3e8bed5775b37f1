// redis-continuous-protection: scheduled backups leave a recovery point of hours; a FLUSHALL or a bad
// deploy takes every write since the last backup with it. Advisory: a Redis set in Kubernetes has a
// stream of its writes into the bucket (`holdfast stream redis`, Holdfast's ContinuousBackup) beside it.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { DEPLOYMENT, STATEFUL_SET, containers, metadataOf, podSpec } from "../lib/k8s";
import { PreviewGaps, tryKnown } from "../lib/props";
import { storesOf } from "../lib/stores";

/** The command of the stream, as the container runs it (command and args joined). */
const STREAM_WORDS = ["holdfast", "stream", "redis"];

/** Namespaces with a workload running `holdfast stream redis`; workloads unknown during preview. */
function streamedNamespaces(resources: PolicyResource[]): {
  namespaces: Set<string>;
  unknown: PolicyResource[];
} {
  const namespaces = new Set<string>();
  const unknown: PolicyResource[] = [];
  for (const r of resources) {
    if (r.type !== DEPLOYMENT && r.type !== STATEFUL_SET) continue;
    const found = tryKnown(() =>
      containers(podSpec(r.type, r.props)).some((c) =>
        STREAM_WORDS.every((w, i) => [...c.command, ...c.args][i] === w),
      )
        ? (metadataOf(r.props).namespace ?? "default")
        : undefined,
    );
    if (!found.known) unknown.push(r);
    else if (found.value !== undefined) namespaces.add(found.value);
  }
  return { namespaces, unknown };
}

/** Every Redis set in Kubernetes has a continuous-protection stream in its namespace. */
export const redisContinuousProtection: StackValidationPolicy = {
  name: "redis-continuous-protection",
  description:
    "Every Redis set in Kubernetes has continuous protection: a workload running `holdfast stream redis` in its namespace, so it can be restored to any second, not only to its last backup.",
  severity: "low",
  remediationSteps:
    "Set `holdfast:continuousBackup: true` (Holdfast's ContinuousBackup component), or run `holdfast stream redis` beside the set. See docs/continuous-protection.md.",
  enforcementLevel: "advisory",
  validateStack: (args, reportViolation) => {
    const gaps = new PreviewGaps();
    const { stores, unknown } = storesOf(args.resources);
    for (const r of unknown) gaps.note(`whether ${r.name} is a data store`);
    const streamed = streamedNamespaces(args.resources);
    for (const store of stores) {
      // ElastiCache has no replication stream to join; its snapshots are its protection.
      if (store.kind !== "redis" || store.namespace === undefined) continue;
      if (streamed.namespaces.has(store.namespace)) continue;
      if (streamed.unknown.length > 0) {
        gaps.note(`whether ${streamed.unknown.map((r) => r.name).join(", ")} streams ${store.what}`);
        continue;
      }
      reportViolation(
        `Redis store ${store.what} has no continuous protection (no \`holdfast stream redis\` in namespace ${store.namespace}): ` +
          "it can be restored only to its last backup",
        store.resource.urn,
      );
    }
    gaps.close();
  },
};
