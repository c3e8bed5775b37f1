// `holdfast stack doctor --stack S` (its flags are in specs.ts): the preflight an operator runs before
// trusting a stack. Each check group reads what it needs (the cluster through the stack's kubeconfig
// context, the bucket with the operator's AWS credentials) and says one line per check; exit 1 when a
// check failed, 2 on bad input.
import { type Flags, num } from "../cli/args";
import { openBackups, openStack } from "../stack/context";
import type { StoreLocation } from "../store/catalog";
import { accessChecks } from "./access";
import { backupChecks } from "./backups";
import { bucketChecks } from "./bucket";
import {
  type CheckGroup,
  type CheckResult,
  type DoctorContext,
  formatResults,
  groupFailed,
  summaryLine,
} from "./check";
import { ClusterApi } from "./cluster-api";
import { clusterChecks } from "./cluster";
import { drillChecks } from "./drill";
import { identityChecks } from "./identity";
import { imageChecks } from "./image";
import { monitoringChecks } from "./monitoring";
import { storageChecks } from "./storage";

/** The groups after the cluster's own, in the order they print. */
const GROUPS: [string, CheckGroup][] = [
  ["access", accessChecks],
  ["monitoring", monitoringChecks],
  ["storage", storageChecks],
  ["identity", identityChecks],
  ["bucket", bucketChecks],
  ["backups", backupChecks],
  ["image", imageChecks],
  ["drill", drillChecks],
];

/** Runs every check of an opened stack. */
export async function runDoctor(
  ctx: Omit<DoctorContext, "clusterReachable" | "api">,
): Promise<CheckResult[]> {
  const api = new ClusterApi(ctx.stack.kubeConfig, ctx.timeoutMs);
  const cluster = await clusterChecks(api, ctx.stack.context, ctx.stack.outputs.namespace);
  const full: DoctorContext = { ...ctx, api, clusterReachable: cluster.reachable };
  const results = [...cluster.results];
  for (const [name, group] of GROUPS) {
    try {
      results.push(...(await group(full)));
    } catch (err) {
      results.push(groupFailed(name, err));
    }
  }
  return results;
}

/** `holdfast stack doctor`: exit 0 when no check failed, 1 when one did. */
export async function runDoctorCommand(flags: Flags): Promise<number> {
  const maxBackupAgeMs = num(flags, "max-age");
  const maxDrillAgeMs = num(flags, "drill-max-age");
  const timeoutMs = num(flags, "timeout");
  const stack = await openStack(flags);
  let location: Promise<StoreLocation> | undefined;
  const results = await runDoctor({
    stack,
    backups: () => (location ??= openBackups(stack)),
    timeoutMs,
    maxBackupAgeMs,
    maxDrillAgeMs,
    now: new Date(),
  });
  const ok = results.every((r) => r.status !== "fail");
  process.stdout.write(
    flags.json
      ? JSON.stringify({ ok, stack: stack.outputs.stack, context: stack.context, checks: results }, null, 2) +
          "\n"
      : `${formatResults(results)}\n${summaryLine(stack.outputs.stack, results)}\n`,
  );
  return ok ? 0 : 1;
}
