// lancedb-single-writer: LanceDB has no clustering; two pods writing one dataset corrupt it, and two pods
// with a volume each split it. More than one replica is allowed only as Holdfast's active/passive pair:
// one shared dataset (a ReadWriteMany claim, or S3) and the election sidecar with its readiness gate,
// so only the elected leader is Ready, routed to, and writes.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { configSchema, settings } from "../lib/config";
import { PVC, claimTemplates, containers, metadataOf, podSpec, replicasOf, volumes } from "../lib/k8s";
import { PreviewGaps, asArray, asString, at, strings, tryKnown } from "../lib/props";
import { LANCEDB_DATA_PATHS, Store, storesOf } from "../lib/stores";

/** The election sidecar's command line before the `pod` group, a hidden alias of the CLI for a release. */
const OLD_ELECTION_COMMAND = "holdfast lancedb elect";

const DEFAULTS = {
  /** The words of the election sidecar's command line. */
  electionCommand: "holdfast pod elect lancedb",
  /** The readiness gate the elector sets on the leader's pod. */
  leaderCondition: "holdfast.dev/leader",
  /** Dataset mount paths. */
  datasetPaths: LANCEDB_DATA_PATHS,
};

/** What keeps the dataset of a multi-replica store from being shared safely; undefined when it is shared. */
function storageProblem(store: Store, claims: PolicyResource[], s: typeof DEFAULTS): string | undefined {
  if (store.s3Uri !== undefined) return undefined; // S3 (or unknown during preview: noted by the caller)
  const r = store.resource;
  const spec = podSpec(r.type, r.props);
  const byName = volumes(spec);
  const templates = claimTemplates(r.type, r.props);
  const mount = containers(spec)
    .flatMap((c) => c.mounts)
    .find((m) => s.datasetPaths.includes(m.mountPath));
  if (!mount) return "no shared dataset: nothing is mounted at the dataset path and LANCEDB_URI is not on S3";
  if (templates.some((t) => t.name === mount.name))
    return `each pod gets its own volume from volumeClaimTemplate "${mount.name}": the replicas' datasets diverge`;
  const volume = byName.get(mount.name);
  const claimName = asString(at(volume, "persistentVolumeClaim", "claimName"));
  if (!claimName) {
    if (volume && (at(volume, "nfs") !== undefined || at(volume, "csi", "driver") === "efs.csi.aws.com"))
      return undefined;
    return `the dataset volume "${mount.name}" is not a shared (ReadWriteMany) claim`;
  }
  const namespace = metadataOf(r.props).namespace;
  const claim = claims.find((c) => {
    const m = metadataOf(c.props);
    return (
      m.name === claimName &&
      (namespace === undefined || m.namespace === undefined || m.namespace === namespace)
    );
  });
  if (!claim) return `claim ${claimName} is not in this stack, so its access mode cannot be checked`;
  const modes = strings(at(claim.props, "spec", "accessModes"));
  return modes.includes("ReadWriteMany")
    ? undefined
    : `claim ${claimName} is ${modes.join(", ") || "without access modes"}, not ReadWriteMany`;
}

/** What is missing of the leader election; undefined when the sidecar and the readiness gate are there. */
function electionProblem(store: Store, s: typeof DEFAULTS): string | undefined {
  const r = store.resource;
  const spec = podSpec(r.type, r.props);
  // Pods of stacks deployed before the `pod` group run the old spelling, which works as well.
  const spellings = [s.electionCommand, OLD_ELECTION_COMMAND];
  const sidecar = containers(spec).some((c) =>
    spellings.some((words) => ` ${[...c.command, ...c.args].join(" ")} `.includes(` ${words} `)),
  );
  const gate = asArray(at(spec, "readinessGates")).some(
    (g) => asString(at(g, "conditionType")) === s.leaderCondition,
  );
  const missing = [
    sidecar ? "" : `election sidecar (\`${s.electionCommand}\`)`,
    gate ? "" : `readiness gate ${s.leaderCondition}`,
  ];
  const list = missing.filter(Boolean);
  return list.length > 0 ? `no ${list.join(" and no ")}: every replica may write` : undefined;
}

/** At most one LanceDB writer, unless the dataset is shared and the writer elected. */
export const lancedbSingleWriter: StackValidationPolicy = {
  name: "lancedb-single-writer",
  description:
    "A LanceDB store runs one replica, or several on one shared dataset (ReadWriteMany claim or S3) with the leader-election sidecar and its readiness gate.",
  severity: "critical",
  remediationSteps: [
    "Run one replica (LanceDbStore mode ebs), or",
    "use LanceDbStore mode efs (a ReadWriteMany claim) or s3, which add the `holdfast pod elect lancedb` sidecar and the holdfast.dev/leader readiness gate.",
  ].join("\n"),
  configSchema: configSchema(DEFAULTS, {
    electionCommand: { type: "string", description: "Words of the election sidecar's command line." },
    leaderCondition: {
      type: "string",
      description: "Readiness gate condition the elector sets on the leader.",
    },
    datasetPaths: {
      type: "array",
      items: { type: "string" },
      description: "Mount paths of LanceDB datasets.",
    },
  }),
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const s = settings(args, DEFAULTS);
    const gaps = new PreviewGaps();
    const claims = args.resources.filter((r) => r.type === PVC);
    const { stores, unknown } = storesOf(args.resources, s.datasetPaths);
    for (const r of unknown) gaps.note(`whether ${r.name} is a LanceDB store`);
    for (const store of stores.filter((x) => x.kind === "lancedb")) {
      const r = store.resource;
      const replicas = tryKnown(() => replicasOf(r.type, r.props));
      if (!replicas.known) {
        gaps.note(`the replicas of ${store.what}`);
        continue;
      }
      if (replicas.value <= 1) continue;
      if (store.s3Uri === null) gaps.note(`where ${store.what} keeps its dataset (LANCEDB_URI)`);
      const verdict = tryKnown(() =>
        [storageProblem(store, claims, s), electionProblem(store, s)].filter(Boolean),
      );
      if (!verdict.known) gaps.note(`the dataset and election of ${store.what}`);
      else
        for (const problem of verdict.value)
          reportViolation(`LanceDB store ${store.what} runs ${replicas.value} replicas: ${problem}`, r.urn);
    }
    gaps.close();
  },
};
