// A one-off run of a scheduled job, such as a backup before a major training session: a Job made from
// a CronJob's template (as `kubectl create job --from=cronjob/...` does), with the reason recorded in the
// job's environment and annotations, optionally waited for until it finishes.
import type * as KubeClient from "@kubernetes/client-node";
import { compactTime } from "../redis-pod/aside";
import { nextPause, waitBackoff } from "../redis-pod/backoff";
import { describeKubeError, httpStatus } from "../kube/client";

/** Manual runs of one CronJob that may start in the same second. */
const MAX_SAME_SECOND = 20;

/** A created run. */
export interface TriggeredJob {
  name: string;
  namespace: string;
  cronJob: string;
  reason: string;
}

/** How a run ended. */
export interface JobResult {
  succeeded: boolean;
  /** Why it failed, from the Job's conditions. */
  message?: string;
  durationMs: number;
}

/** The CronJob could not be read: unknown name, namespace or cluster. */
export class TriggerError extends Error {
  constructor(
    message: string,
    /** The API's HTTP status, when it answered. */
    public readonly status?: number,
  ) {
    super(message);
    this.name = "TriggerError";
  }
}

/**
 * The name of a manual run: `<cronjob>-manual-<time>`, within the 63 characters a Job name may have; the
 * `n`th run started in the same second ends in `-<n>`.
 */
export function manualJobName(cronJob: string, now: Date, n = 1): string {
  const suffix = `-manual-${compactTime(now).toLowerCase()}${n > 1 ? `-${n}` : ""}`;
  return `${cronJob.slice(0, 63 - suffix.length)}${suffix}`;
}

/** The Job a CronJob would start, marked as a manual run for `reason`. */
export function jobFromCronJob(cronJob: KubeClient.V1CronJob, reason: string, now: Date): KubeClient.V1Job {
  const template = cronJob.spec!.jobTemplate;
  const spec = structuredClone(template.spec!);
  for (const c of spec.template.spec!.containers) {
    c.env = [
      ...(c.env ?? []).filter((e) => e.name !== "HOLDFAST_REASON"),
      { name: "HOLDFAST_REASON", value: reason },
    ];
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: manualJobName(cronJob.metadata!.name!, now),
      namespace: cronJob.metadata!.namespace,
      labels: { ...template.metadata?.labels, "holdfast.dev/trigger": "manual" },
      annotations: {
        ...template.metadata?.annotations,
        "cronjob.kubernetes.io/instantiate": "manual",
        "holdfast.dev/reason": reason,
      },
      ownerReferences: [
        {
          apiVersion: "batch/v1",
          kind: "CronJob",
          name: cronJob.metadata!.name!,
          uid: cronJob.metadata!.uid!,
          controller: true,
        },
      ],
    },
    spec,
  };
}

/**
 * Creates a one-off run of `cronJob` in `namespace`.
 * @param dryRun read the CronJob and name the run, but create nothing.
 * @throws TriggerError when the CronJob cannot be read.
 */
export async function triggerCronJob(
  batch: KubeClient.BatchV1Api,
  namespace: string,
  cronJob: string,
  reason: string,
  now: Date = new Date(),
  dryRun = false,
): Promise<TriggeredJob> {
  let source: KubeClient.V1CronJob;
  try {
    source = await batch.readNamespacedCronJob({ name: cronJob, namespace });
  } catch (err) {
    const status = httpStatus(err);
    if (status === 404) throw new TriggerError(`no CronJob ${cronJob} in namespace ${namespace}`, 404);
    throw new TriggerError(
      `cannot read CronJob ${cronJob} in namespace ${namespace}: ${describeKubeError(err)}`,
      status,
    );
  }
  const job = jobFromCronJob(source, reason, now);
  if (dryRun) return { name: job.metadata!.name!, namespace, cronJob, reason };
  // Names are per second: a run started in the same second as another (a second operator, a script)
  // takes the next free name instead of failing on the first's.
  for (let n = 2; ; n++) {
    try {
      const created = await batch.createNamespacedJob({ namespace, body: job });
      return { name: created.metadata!.name!, namespace, cronJob, reason };
    } catch (err) {
      if (httpStatus(err) !== 409 || n > MAX_SAME_SECOND) throw err;
      job.metadata!.name = manualJobName(cronJob, now, n);
    }
  }
}

/**
 * Waits until a Job succeeds or fails, or `timeoutMs` passes (then it is reported as not succeeded),
 * looking after 50 ms, then less often up to every `pollMs`.
 */
export async function waitForJob(
  batch: KubeClient.BatchV1Api,
  job: TriggeredJob,
  timeoutMs: number,
  pollMs = 2000,
): Promise<JobResult> {
  const started = Date.now();
  const backoff = waitBackoff(pollMs);
  let pause: number | undefined;
  for (;;) {
    const status =
      (await batch.readNamespacedJobStatus({ name: job.name, namespace: job.namespace })).status ?? {};
    const failed = status.conditions?.find((c) => c.type === "Failed" && c.status === "True");
    if (status.succeeded && status.succeeded > 0)
      return { succeeded: true, durationMs: Date.now() - started };
    if (failed)
      return { succeeded: false, message: failed.message ?? failed.reason, durationMs: Date.now() - started };
    if (Date.now() - started > timeoutMs)
      return {
        succeeded: false,
        message: `still running after ${Math.round(timeoutMs / 1000)} s`,
        durationMs: Date.now() - started,
      };
    pause = nextPause(backoff, pause, timeoutMs - (Date.now() - started) + 1);
    await new Promise((r) => setTimeout(r, pause));
  }
}
