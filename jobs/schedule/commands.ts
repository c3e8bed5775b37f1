// `holdfast trigger`: run a scheduled job now, with a reason (a backup before risky work).
import { durationMs, optStr, str } from "../cli/args";
import type { Command } from "../cli/command";
import { OperationError, UsageError } from "../cli/errors";
import { log } from "../cli/log";
import {
  contextNamespace,
  defaultKubeConfig,
  describeKubeError,
  httpStatus,
  loadKubeClient,
} from "../kube/client";
import { TriggerError, triggerCronJob, waitForJob } from "./trigger";

const triggerCommand: Command = {
  words: ["trigger"],
  summary: "start a one-off run of a scheduled job (a backup before risky work) and optionally wait for it",
  flags: {
    cronjob: {
      type: "string",
      required: true,
      help: "the CronJob to run: redis-backup, lancedb-backup, prune, restore-drill",
    },
    reason: { type: "string", required: true, help: "why, recorded in the backup (e.g. pre-training)" },
    namespace: { type: "string", help: "namespace of the CronJob; default: the context's, else holdfast" },
    context: { type: "string", help: "kubeconfig context; default: the current one" },
    wait: { type: "boolean", default: false, help: "wait until the run finishes; exit 1 if it fails" },
    timeout: { type: "string", default: "3h", help: "how long --wait waits" },
  },
  async run(flags) {
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
    const timeoutMs = durationMs(str(flags, "timeout"), "--timeout");
    const batch = kc.makeApiClient(loadKubeClient().BatchV1Api);
    let job;
    try {
      job = await triggerCronJob(batch, namespace, str(flags, "cronjob"), reason);
    } catch (err) {
      if (
        err instanceof TriggerError &&
        (err.status === undefined || err.status === 404 || err.status === 403)
      )
        throw new UsageError(
          err.status === undefined ? `cannot reach the cluster: ${err.message}` : err.message,
        );
      throw new OperationError(
        `could not create the run: ${err instanceof TriggerError ? err.message : describeKubeError(err)}`,
        "Nothing was started.",
      );
    }
    log.info(`started job ${job.name} from cronjob ${job.cronJob}`, { namespace, reason });
    process.stdout.write(`${job.name}\n`);
    if (!flags.wait) return 0;
    const result = await waitForJob(batch, job, timeoutMs).catch((err) => {
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
  },
};

/** The schedule commands. */
export const scheduleCommands: Command[] = [triggerCommand];
