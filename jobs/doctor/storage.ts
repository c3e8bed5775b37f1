// Storage: the volumes of the stack's data outlive a deleted claim. Its StorageClasses must reclaim with
// Retain (Kubernetes' default is Delete), and so must every volume already bound to its claims (a
// volume keeps the policy of the class it was made by, whatever the class says later).
import {
  type CheckGroup,
  type CheckResult,
  type DoctorContext,
  eachChecked,
  failuresOr,
  resultsOf,
} from "./check";

const r = resultsOf("storage");

/** The StorageClasses of the stack's data: from its outputs, else its StatefulSets' claim templates. */
async function storageClasses(ctx: DoctorContext): Promise<string[]> {
  const o = ctx.stack.outputs;
  const named = [o.redis.storageClassName, o.lancedb?.storageClassName].filter((s): s is string => !!s);
  if (named.length > 0) return named;
  const classes = new Set<string>();
  for (const name of [o.redis.statefulSet, o.lancedb?.statefulSet].filter((s): s is string => !!s)) {
    const sts = await ctx.api.read(`read statefulset ${name}`, (opts) =>
      ctx.api.apps.readNamespacedStatefulSet({ name, namespace: o.namespace }, opts),
    );
    for (const t of sts?.spec?.volumeClaimTemplates ?? [])
      if (t.spec?.storageClassName) classes.add(t.spec.storageClassName);
  }
  return [...classes];
}

async function classChecks(ctx: DoctorContext): Promise<CheckResult[]> {
  const classes = await storageClasses(ctx);
  if (classes.length === 0)
    return [r.skip("storage classes", "not checked: the stack names no StorageClass (the cluster default)")];
  return eachChecked(classes, async (name) => {
    const sc = await ctx.api.read(`read storageclass ${name}`, (o) =>
      ctx.api.storage.readStorageClass({ name }, o),
    );
    const policy = sc?.reclaimPolicy ?? "Delete";
    return !sc
      ? r.fail(`storageclass ${name}`, "missing: new claims of the stack cannot be provisioned")
      : policy !== "Retain"
        ? r.fail(
            `storageclass ${name}`,
            `reclaims with ${policy}: deleting a claim deletes its data; the stack's classes must say Retain (pulumi up restores it)`,
          )
        : r.ok(`storageclass ${name}`, "reclaims with Retain");
  });
}

async function volumeChecks(ctx: DoctorContext): Promise<CheckResult[]> {
  const o = ctx.stack.outputs;
  const claims = [...o.redis.claimNames, ...(o.lancedb?.claimNames ?? [])];
  const failures: CheckResult[] = [];
  let bound = 0;
  for (const claim of claims) {
    const pvc = await ctx.api.read(`read claim ${claim}`, (opts) =>
      ctx.api.core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: o.namespace }, opts),
    );
    const volume = pvc?.spec?.volumeName;
    if (!volume) continue;
    const pv = await ctx.api.read(`read volume ${volume}`, (opts) =>
      ctx.api.core.readPersistentVolume({ name: volume }, opts),
    );
    const policy = pv?.spec?.persistentVolumeReclaimPolicy;
    if (pv) bound++;
    if (pv && policy !== "Retain")
      failures.push(
        r.fail(
          `volume of ${claim}`,
          `${volume} reclaims with ${policy ?? "Delete"}: kubectl patch pv ${volume} -p '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}'`,
        ),
      );
  }
  if (bound === 0) return [];
  return failuresOr(failures, () =>
    r.ok("volumes", `the ${bound} volumes bound to the stack's claims reclaim with Retain`),
  );
}

/** See the module comment. */
export const storageChecks: CheckGroup = async (ctx) => {
  if (!ctx.clusterReachable) return [r.unreachable("storage classes")];
  return [...(await classChecks(ctx)), ...(await volumeChecks(ctx))];
};
