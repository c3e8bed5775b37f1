// Monitoring: the Prometheus Operator's CustomResourceDefinitions the stack's objects need (its
// PrometheusRule and PodMonitor; without them the alerts are gone, with no error anywhere), and the
// Pushgateway the jobs push their outcomes to, as their CronJobs name it (HOLDFAST_PUSHGATEWAY). An
// in-cluster Pushgateway (`http://NAME.NS.svc...:PORT`) is asked through the API server's service proxy,
// since the operator's machine cannot resolve cluster names; any other URL directly.
import type * as KubeClient from "@kubernetes/client-node";
import { type CheckGroup, type CheckResult, type DoctorContext, eachChecked, resultsOf } from "./check";

const r = resultsOf("monitoring");

async function crdChecks(ctx: DoctorContext): Promise<CheckResult[]> {
  const wanted = ctx.stack.outputs.monitoring?.crds;
  if (!wanted)
    return [r.skip("crds", "not checked: the stack's outputs predate this check (pulumi up exports them)")];
  if (wanted.length === 0)
    return [r.skip("crds", "the stack renders no Prometheus Operator objects (prometheusRules off)")];
  if (!ctx.clusterReachable) return [r.unreachable("crds")];
  return eachChecked(wanted, async (name) => {
    const crd = await ctx.api.read(`read crd ${name}`, (o) =>
      ctx.api.crds.readCustomResourceDefinition({ name }, o),
    );
    const established = (crd?.status?.conditions ?? []).some(
      (c) => c.type === "Established" && c.status === "True",
    );
    return !crd
      ? r.fail(
          `crd ${name}`,
          "missing: the stack's alerts and scrape config cannot exist; install the Prometheus Operator (its CRDs) and run pulumi up",
        )
      : !established
        ? r.fail(`crd ${name}`, "present but not Established; see kubectl describe crd " + name)
        : r.ok(`crd ${name}`, `established (${crd.spec.names.kind})`);
  });
}

/** The Pushgateway URLs the stack's CronJobs push to. */
async function pushgatewayUrls(ctx: DoctorContext): Promise<string[]> {
  const urls = new Set<string>();
  for (const name of Object.values(ctx.stack.outputs.schedule.cronJobs)) {
    const cj: KubeClient.V1CronJob | undefined = await ctx.api.read(`read cronjob ${name}`, (o) =>
      ctx.api.batch.readNamespacedCronJob({ name, namespace: ctx.stack.outputs.namespace }, o),
    );
    for (const c of cj?.spec?.jobTemplate.spec?.template.spec?.containers ?? [])
      for (const e of c.env ?? []) if (e.name === "HOLDFAST_PUSHGATEWAY" && e.value) urls.add(e.value);
  }
  return [...urls];
}

/** `http://name.ns.svc.cluster.local:9091` as its service, or undefined for a URL outside the cluster. */
export function inClusterService(
  url: string,
): { scheme: string; name: string; namespace: string; port: number; path: string } | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(u.hostname);
  if (!m) return undefined;
  const scheme = u.protocol.replace(":", "");
  const port = Number(u.port || (scheme === "https" ? 443 : 80));
  return { scheme, name: m[1], namespace: m[2], port, path: u.pathname.replace(/\/+$/, "") };
}

/** Asks a Pushgateway's readiness endpoint; resolves to a problem, or undefined when it is ready. */
async function pushgatewayProblem(ctx: DoctorContext, url: string): Promise<string | undefined> {
  const service = inClusterService(url);
  try {
    if (service) {
      if (!ctx.clusterReachable) return "not asked: the cluster did not answer";
      await ctx.api.call(`GET ${url}/-/ready through the API server's service proxy`, (o) =>
        ctx.api.core.connectGetNamespacedServiceProxyWithPath(
          {
            name: `${service.scheme}:${service.name}:${service.port}`,
            namespace: service.namespace,
            path: `${service.path}/-/ready`.replace(/^\//, ""),
          },
          o,
        ),
      );
      return undefined;
    }
    const response = await fetch(`${url.replace(/\/+$/, "")}/-/ready`, {
      signal: AbortSignal.timeout(ctx.timeoutMs),
    });
    return response.ok ? undefined : `GET ${url}/-/ready answered ${response.status}`;
  } catch (err) {
    return (err as Error).message;
  }
}

async function pushgatewayChecks(ctx: DoctorContext): Promise<CheckResult[]> {
  if (!ctx.clusterReachable) return [r.unreachable("pushgateway")];
  const urls = await pushgatewayUrls(ctx);
  if (urls.length === 0)
    return [r.skip("pushgateway", "the stack's jobs push to no Pushgateway (pushgatewayUrl unset)")];
  return eachChecked(urls, async (url) => {
    const problem = await pushgatewayProblem(ctx, url);
    return problem
      ? r.fail("pushgateway", `${url} is not reachable (${problem}): the jobs' outcomes reach no alert`)
      : r.ok("pushgateway", `${url} is ready`);
  });
}

/** See the module comment. */
export const monitoringChecks: CheckGroup = async (ctx) => [
  ...(await crdChecks(ctx)),
  ...(await pushgatewayChecks(ctx)),
];
