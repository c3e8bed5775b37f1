// Images: the jobs image reference is well formed and pinned (a digest; a tag can move, so a restore
// could run other code than the backups did), every CronJob runs the image the stack says, the cluster
// has pulled it (a Job that ran it succeeded; Holdfast does not log in to registries itself), and the
// Redis StatefulSet runs an engine release this Holdfast supports (core/engines.ts).
import type * as KubeClient from "@kubernetes/client-node";
import { describeEngine, imageEngine, supportedPhrase, supportedRelease } from "../../core/engines";
import { type CheckGroup, type CheckResult, type DoctorContext, failuresOr, resultsOf } from "./check";

const r = resultsOf("image");

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REFERENCE = new RegExp(
  `^((?:[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*(?::\\d+)?/)?${COMPONENT}(?:/${COMPONENT})*)` +
    "(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$",
);

/** An image reference's parts, or undefined when it is not one. */
export function parseImageRef(ref: string): { name: string; tag?: string; digest?: string } | undefined {
  const m = REFERENCE.exec(ref);
  return m ? { name: m[1], tag: m[2], digest: m[3] } : undefined;
}

/** Whether `ref` is well formed and pinned: a result for the jobs image. */
export function pinnedCheck(ref: string): CheckResult {
  const p = parseImageRef(ref);
  if (!p) return r.fail("jobs image", `"${ref}" is not an image reference (NAME[:TAG][@sha256:DIGEST])`);
  if (p.digest) return r.ok("jobs image", `${ref} is pinned by digest`);
  if (!p.tag || p.tag === "latest")
    return r.fail(
      "jobs image",
      `${ref} names no version (latest): each pod may run other code; set jobsImage to a tag or NAME@sha256:...`,
    );
  return r.warn(
    "jobs image",
    `${ref} is pinned by tag only: a pushed tag changes what restores run; pin it as ${p.name}:${p.tag}@sha256:...`,
  );
}

function containersOf(spec: KubeClient.V1PodSpec | undefined): KubeClient.V1Container[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

async function cronJobImages(ctx: DoctorContext): Promise<CheckResult[]> {
  const { namespace, jobsImage, schedule } = ctx.stack.outputs;
  const drift: CheckResult[] = [];
  for (const name of Object.values(schedule.cronJobs)) {
    const cj = await ctx.api.read(`read cronjob ${name}`, (o) =>
      ctx.api.batch.readNamespacedCronJob({ name, namespace }, o),
    );
    if (!cj) {
      drift.push(r.fail(`cronjob ${name}`, `missing in ${namespace}: its job never runs (pulumi up)`));
      continue;
    }
    for (const c of containersOf(cj.spec?.jobTemplate.spec?.template.spec))
      if (c.image !== jobsImage)
        drift.push(
          r.fail(`cronjob ${name}`, `runs ${c.image}, the stack's jobs image is ${jobsImage} (pulumi up)`),
        );
  }
  return failuresOr(drift, () =>
    r.ok("cronjobs", `all ${Object.keys(schedule.cronJobs).length} run the jobs image`),
  );
}

async function pulledCheck(ctx: DoctorContext): Promise<CheckResult> {
  const { namespace, jobsImage } = ctx.stack.outputs;
  const jobs = await ctx.api.call("list jobs", (o) => ctx.api.batch.listNamespacedJob({ namespace }, o));
  const ran = jobs.items.find(
    (j) =>
      (j.status?.succeeded ?? 0) > 0 &&
      containersOf(j.spec?.template.spec).some((c) => c.image === jobsImage),
  );
  return ran
    ? r.ok("pullable", `the cluster ran it (job ${ran.metadata?.name} succeeded)`)
    : r.skip(
        "pullable",
        "not checked: no Job of the stack that ran it is kept, and Holdfast does not ask registries (crane manifest IMAGE)",
      );
}

async function engineCheck(ctx: DoctorContext): Promise<CheckResult> {
  const { namespace, redis } = ctx.stack.outputs;
  const sts = await ctx.api.read(`read statefulset ${redis.statefulSet}`, (o) =>
    ctx.api.apps.readNamespacedStatefulSet({ name: redis.statefulSet, namespace }, o),
  );
  const image = sts?.spec?.template.spec?.containers.find((c) => c.name === "redis")?.image;
  if (!image)
    return r.fail("engine", `statefulset ${redis.statefulSet} has no redis container in ${namespace}`);
  let engine;
  try {
    engine = imageEngine(image);
  } catch (err) {
    return r.fail("engine", (err as Error).message);
  }
  return supportedRelease(engine)
    ? r.ok("engine", `${image} is ${describeEngine(engine)}, supported`)
    : r.fail(
        "engine",
        `${image} is ${describeEngine(engine)}, not supported (supported: ${supportedPhrase()})`,
      );
}

/** See the module comment. */
export const imageChecks: CheckGroup = async (ctx) => {
  const pinned = pinnedCheck(ctx.stack.outputs.jobsImage);
  if (!ctx.clusterReachable) return [pinned, r.unreachable("cronjobs")];
  return [pinned, ...(await cronJobImages(ctx)), await pulledCheck(ctx), await engineCheck(ctx)];
};
