// `holdfast trigger` (flags in specs.ts): run a scheduled job now, with a reason (a backup before a
// training session), or with --dry-run name the run it would start.
import { optStr, str } from "../cli/args";
import type { RunCommand } from "../cli/command";
import { OperationError, UsageError } from "../cli/errors";
import { log } from "../cli/log";
import {
  contextNamespace,
  defaultKubeConfig,
  describeKubeError,
  httpStatus,
  loadKubeClient,
} from "../kube/client";
import { waitBound } from "../stack/specs";
import { TriggerError, triggerCronJob, waitForJob } from "./trigger";

/** `holdfast trigger`. */
export const runTrigger: RunCommand = async (flags) => {
  const kc = defaultKubeConfig();
  const context = optStr(flags, "context");
  if (context) {
    if (!kc.getContextObject(context)) throw new UsageError(`no context ${context} in the kubeconfig`);
    kc.setCurrentContext(context);
  }
  const namespace = optStr(flags, "namespace") ?? contextNamespace(kc) ?? "holdfast";
  const reason = str(flags, "reason");
  if (!/^[\w .:,/-]{1,200}$/.test(reason))
    throw new UsageError("--reason must be up to 200 letters, digits, spaces and .:,/-_");
  const waitMs = waitBound(flags);
  const dryRun = flags["dry-run"] === true;
  const batch = kc.makeApiClient(loadKubeClient().BatchV1Api);
  let job;
  try {
    job = await triggerCronJob(batch, namespace, str(flags, "cronjob"), reason, new Date(), dryRun);
  } catch (err) {
    if (err instanceof TriggerError && (err.status === undefined || err.status === 404 || err.status === 403))
      throw new UsageError(
        err.status === undefined ? `cannot reach the cluster: ${err.message}` : err.message,
      );
    throw new OperationError(
      `could not create the run: ${err instanceof TriggerError ? err.message : describeKubeError(err)}`,
      "Nothing was started.",
    );
  }
  if (dryRun) {
    process.stdout.write(
      `would start job ${job.name} from cronjob ${job.cronJob} in namespace ${namespace} (reason: ${reason}); nothing was created (--dry-run)\n`,
    );
    return 0;
  }
  log.info(`started job ${job.name} from cronjob ${job.cronJob}`, { namespace, reason });
  process.stdout.write(`${job.name}\n`);
  if (waitMs === undefined) return 0;
  const result = await waitForJob(batch, job, waitMs).catch((err) => {
    if (httpStatus(err) === undefined)
      return { succeeded: false, message: describeKubeError(err), durationMs: 0 };
    throw err;
  });
  if (!result.succeeded)
    throw new OperationError(
      `job ${job.name} did not succeed: ${result.message ?? "unknown"}`,
      `See kubectl -n ${namespace} logs job/${job.name}; the scheduled runs continue as before.`,
    );
  log.info(`job ${job.name} succeeded`, { seconds: Math.round(result.durationMs / 1000) });
  return 0;
};
