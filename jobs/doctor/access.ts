// The rights a stack restore needs, asked of the cluster as the operator (SelfSubjectAccessReview, as
// `kubectl auth can-i` does): every verb on every resource jobs/stack/ uses in the stack's namespace.
// All allowed is one line; each denied right is a line of its own.
import type { ClusterApi } from "./cluster-api";
import { type CheckGroup, type CheckResult, failuresOr, resultsOf } from "./check";

/** A right: a verb on a resource (and subresource) of an API group, and why a restore needs it. */
export interface Right {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  why: string;
}

/** What `holdfast stack restore` and `stack backup` do to the stack's namespace (jobs/stack/kube.ts). */
export const RESTORE_RIGHTS: Right[] = [
  { verb: "get", group: "apps", resource: "statefulsets", why: "reads the StatefulSets" },
  { verb: "patch", group: "apps", resource: "statefulsets", why: "scales and annotates them" },
  { verb: "list", group: "", resource: "pods", why: "waits for the pods" },
  { verb: "get", group: "", resource: "pods", subresource: "log", why: "reads the Jobs' logs" },
  { verb: "get", group: "", resource: "persistentvolumeclaims", why: "checks the claims" },
  { verb: "create", group: "", resource: "persistentvolumeclaims", why: "creates a missing claim" },
  { verb: "get", group: "", resource: "secrets", why: "checks the Redis credentials exist" },
  { verb: "get", group: "", resource: "serviceaccounts", why: "checks the restore's service account" },
  { verb: "get", group: "batch", resource: "cronjobs", why: "copies the backup CronJob for a safety backup" },
  { verb: "get", group: "batch", resource: "jobs", why: "waits for the restore Jobs" },
  { verb: "create", group: "batch", resource: "jobs", why: "runs the restore Jobs" },
  { verb: "delete", group: "batch", resource: "jobs", why: "replaces a finished Job of the same name" },
];

/** `patch statefulsets.apps`, `get pods/log`. */
export function describeRight(right: Right): string {
  const resource = `${right.resource}${right.subresource ? `/${right.subresource}` : ""}`;
  return `${right.verb} ${resource}${right.group ? `.${right.group}` : ""}`;
}

/** Asks whether the operator may do `right` in `namespace`. */
async function allowed(api: ClusterApi, namespace: string, right: Right): Promise<boolean> {
  const review = await api.call(`review ${describeRight(right)}`, (o) =>
    api.authorization.createSelfSubjectAccessReview(
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: {
            resourceAttributes: {
              namespace,
              verb: right.verb,
              group: right.group,
              resource: right.resource,
              subresource: right.subresource,
            },
          },
        },
      },
      o,
    ),
  );
  return review.status?.allowed === true;
}

/** See the module comment. */
export const accessChecks: CheckGroup = async (ctx) => {
  const r = resultsOf("access");
  if (!ctx.clusterReachable) return [r.unreachable("restore rights")];
  const namespace = ctx.stack.outputs.namespace;
  const denied: CheckResult[] = [];
  for (const right of RESTORE_RIGHTS)
    if (!(await allowed(ctx.api, namespace, right)))
      denied.push(
        r.fail(
          describeRight(right),
          `denied in ${namespace}: a restore ${right.why}; grant it to this context's user (kubectl auth can-i ${right.verb} ${right.subresource ? `${right.resource}/${right.subresource}` : right.resource}${right.group ? `.${right.group}` : ""} -n ${namespace})`,
        ),
      );
  return failuresOr(denied, () =>
    r.ok("restore rights", `all ${RESTORE_RIGHTS.length} rights a restore uses are allowed in ${namespace}`),
  );
};
