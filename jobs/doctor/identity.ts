// Identity: the jobs reach the bucket through IRSA, so each of the stack's job service accounts must
// carry the `eks.amazonaws.com/role-arn` annotation naming the role the stack made for it. A missing or
// different ARN means the jobs run with the node's credentials, or none.
import { type CheckGroup, eachChecked, resultsOf } from "./check";

/** The annotation EKS reads to give a pod a role's credentials. */
export const IRSA_ANNOTATION = "eks.amazonaws.com/role-arn";

/** See the module comment. */
export const identityChecks: CheckGroup = async (ctx) => {
  const r = resultsOf("identity");
  const { roles, serviceAccounts } = ctx.stack.outputs.backup;
  if (!roles) return [r.skip("irsa", "not checked: the stack's outputs name no role ARNs")];
  if (!ctx.clusterReachable) return [r.unreachable("irsa")];
  const accounts = Object.entries(serviceAccounts).filter((e): e is [string, string] => !!e[1]);
  return eachChecked(accounts, async ([role, account]) => {
    const want = roles[role as keyof typeof roles];
    const sa = await ctx.api.read(`read serviceaccount ${account}`, (o) =>
      ctx.api.core.readNamespacedServiceAccount({ name: account, namespace: ctx.stack.outputs.namespace }, o),
    );
    const got = sa?.metadata?.annotations?.[IRSA_ANNOTATION];
    return !sa
      ? r.fail(`serviceaccount ${account}`, `missing: the ${role} jobs cannot run (pulumi up creates it)`)
      : got === want
        ? r.ok(`serviceaccount ${account}`, `assumes ${want}`)
        : r.fail(
            `serviceaccount ${account}`,
            `${IRSA_ANNOTATION} is ${got ? `"${got}"` : "missing"}, the stack's ${role} role is ${want}: the ${role} jobs get no bucket access (pulumi up restores it)`,
          );
  });
};
