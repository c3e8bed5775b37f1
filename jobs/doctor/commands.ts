// `holdfast doctor --stack S`: the preflight an operator runs before trusting a stack. Each check group
// reads what it needs (the cluster through the stack's kubeconfig context, the bucket with the
// operator's AWS credentials) and says one line per check; exit 1 when a check failed, 2 on bad input.
import { durationMs, type Flags, str } from "../cli/args";
import type { Command } from "../cli/command";
import { openBackups, openStack, type StackDeps } from "../stack/context";
import { STACK_FLAGS } from "../stack/specs";
import type { StoreLocation } from "../store/catalog";
import { JSON_FLAG } from "../store/flags";
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

/** What tests inject; the CLI uses the defaults. */
let deps: StackDeps = {};

/** Replaces the injected dependencies (tests running the command in-process). */
export function setDoctorDeps(d: StackDeps): void {
  deps = d;
}

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

async function doctor(flags: Flags): Promise<number> {
  const maxBackupAgeMs = durationMs(str(flags, "max-age"), "--max-age");
  const maxDrillAgeMs = durationMs(str(flags, "drill-max-age"), "--drill-max-age");
  const timeoutMs = durationMs(str(flags, "timeout"), "--timeout");
  const stack = await openStack(flags, deps);
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

/** `holdfast doctor`. */
export const doctorCommand: Command = {
  words: ["doctor"],
  summary:
    "check a stack before trusting it: cluster and restore rights, CRDs, Retain storage, bucket versioning, IRSA, Pushgateway, images, backup age, last drill",
  flags: {
    ...STACK_FLAGS,
    "max-age": {
      type: "string",
      default: "24h",
      help: "the newest backup of each store must be younger than this; default 24h",
    },
    "drill-max-age": {
      type: "string",
      default: "35d",
      help: "the last restore drill must be younger than this; default 35d",
    },
    timeout: { type: "string", default: "10s", help: "bound on each call a check makes; default 10s" },
    ...JSON_FLAG,
  },
  run: doctor,
};
