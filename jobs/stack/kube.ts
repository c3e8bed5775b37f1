// The Kubernetes operations of the stack commands, through @kubernetes/client-node and the operator's
// kubeconfig: read StatefulSets, pods, claims and CronJobs; scale a StatefulSet and wait until its pods
// are gone or ready; annotate it; run a Job to its end and read its pod's log. Every call is bounded
// (client-node sets no timeout of its own) and waits poll, so a dropped watch can never stall a restore.
import type * as KubeClient from "@kubernetes/client-node";
import { describeKubeError, httpStatus, loadKubeClient, withTimeout } from "../kube/client";
import { waitForJob } from "../schedule/trigger";
import { nextPause, waitBackoff } from "../redis-pod/backoff";

/** A pod as the stack commands see it. */
export interface PodState {
  name: string;
  phase: string;
  ready: boolean;
  /** Why it is not ready, when the kubelet says (a waiting reason, an unschedulable message). */
  problem?: string;
}

/** How a Job ended. */
export interface JobOutcome {
  name: string;
  succeeded: boolean;
  /** The Job's failure condition, or a timeout. */
  message?: string;
  /** The log of its (last) pod; empty when there is none. */
  log: string;
  durationMs: number;
}

/** A Kubernetes call failed; `status` is the API's HTTP status when it answered. */
export class KubeError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "KubeError";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function conditionTrue(pod: KubeClient.V1Pod, type: string): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === type && c.status === "True");
}

/** Why a pod is not ready, from its conditions and container states. */
function podProblem(pod: KubeClient.V1Pod): string | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    if (waiting?.reason && waiting.reason !== "PodInitializing")
      return `${s.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ""}`;
    const terminated = s.state?.terminated;
    if (terminated && terminated.exitCode !== 0)
      return `${s.name}: exited ${terminated.exitCode}${terminated.message ? ` (${terminated.message})` : ""}`;
  }
  const unschedulable = (pod.status?.conditions ?? []).find(
    (c) => c.type === "PodScheduled" && c.status === "False",
  );
  return unschedulable ? `not scheduled: ${unschedulable.message ?? unschedulable.reason}` : undefined;
}

/** The Kubernetes side of one stack: its namespace in the cluster of a KubeConfig. */
export class StackKube {
  readonly apps: KubeClient.AppsV1Api;
  readonly core: KubeClient.CoreV1Api;
  readonly batch: KubeClient.BatchV1Api;
  private readonly k8s = loadKubeClient();

  constructor(
    kc: KubeClient.KubeConfig,
    readonly namespace: string,
    /** The longest pause of every wait (each starts with quicker looks: waitBackoff). */
    readonly pollMs = 1000,
    /** Bound on each API call. */
    private readonly requestTimeoutMs = 30_000,
  ) {
    this.apps = kc.makeApiClient(this.k8s.AppsV1Api);
    this.core = kc.makeApiClient(this.k8s.CoreV1Api);
    this.batch = kc.makeApiClient(this.k8s.BatchV1Api);
  }

  private get opts(): KubeClient.ConfigurationOptions {
    return withTimeout(this.requestTimeoutMs);
  }

  private get mergePatch(): KubeClient.ConfigurationOptions {
    return withTimeout(
      this.requestTimeoutMs,
      this.k8s.setHeaderOptions("Content-Type", this.k8s.PatchStrategy.MergePatch),
    );
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new KubeError(`${what}: ${describeKubeError(err)}`, httpStatus(err));
    }
  }

  private async optional<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw new KubeError(`${what}: ${describeKubeError(err)}`, httpStatus(err));
    }
  }

  /** The StatefulSet, or undefined when there is none. */
  readStatefulSet(name: string): Promise<KubeClient.V1StatefulSet | undefined> {
    return this.optional(`read statefulset ${name}`, () =>
      this.apps.readNamespacedStatefulSet({ name, namespace: this.namespace }, this.opts),
    );
  }

  readClaim(name: string): Promise<KubeClient.V1PersistentVolumeClaim | undefined> {
    return this.optional(`read persistentvolumeclaim ${name}`, () =>
      this.core.readNamespacedPersistentVolumeClaim({ name, namespace: this.namespace }, this.opts),
    );
  }

  readCronJob(name: string): Promise<KubeClient.V1CronJob | undefined> {
    return this.optional(`read cronjob ${name}`, () =>
      this.batch.readNamespacedCronJob({ name, namespace: this.namespace }, this.opts),
    );
  }

  readSecret(name: string): Promise<KubeClient.V1Secret | undefined> {
    return this.optional(`read secret ${name}`, () =>
      this.core.readNamespacedSecret({ name, namespace: this.namespace }, this.opts),
    );
  }

  readServiceAccount(name: string): Promise<KubeClient.V1ServiceAccount | undefined> {
    return this.optional(`read serviceaccount ${name}`, () =>
      this.core.readNamespacedServiceAccount({ name, namespace: this.namespace }, this.opts),
    );
  }

  readJob(name: string): Promise<KubeClient.V1Job | undefined> {
    return this.optional(`read job ${name}`, () =>
      this.batch.readNamespacedJob({ name, namespace: this.namespace }, this.opts),
    );
  }

  createClaim(body: KubeClient.V1PersistentVolumeClaim): Promise<KubeClient.V1PersistentVolumeClaim> {
    return this.call(`create persistentvolumeclaim ${body.metadata?.name}`, () =>
      this.core.createNamespacedPersistentVolumeClaim({ namespace: this.namespace, body }, this.opts),
    );
  }

  /** The pods a label selector (`matchLabels`) selects. */
  async pods(selector: Record<string, string>): Promise<PodState[]> {
    const labelSelector = Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const list = await this.call(`list pods ${labelSelector}`, () =>
      this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }, this.opts),
    );
    return list.items
      .map((p) => ({
        name: p.metadata!.name!,
        phase: p.status?.phase ?? "Pending",
        ready: conditionTrue(p, "Ready"),
        problem: podProblem(p),
      }))
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  }

  /** Sets a StatefulSet's replicas. */
  async scale(name: string, replicas: number): Promise<void> {
    await this.call(`scale statefulset ${name} to ${replicas}`, () =>
      this.apps.patchNamespacedStatefulSet(
        { name, namespace: this.namespace, body: { spec: { replicas } } },
        this.mergePatch,
      ),
    );
  }

  /** Sets (a string) or removes (null) annotations of a StatefulSet. */
  async annotate(name: string, annotations: Record<string, string | null>): Promise<void> {
    await this.call(`annotate statefulset ${name}`, () =>
      this.apps.patchNamespacedStatefulSet(
        { name, namespace: this.namespace, body: { metadata: { annotations } } },
        this.mergePatch,
      ),
    );
  }

  /**
   * Waits until the StatefulSet's pods are gone (`count` 0) or `count` of them are ready.
   * @throws KubeError on timeout, naming the pods still in the way.
   */
  async waitForPods(
    statefulSet: string,
    count: number,
    timeoutMs: number,
    ready: number = count,
  ): Promise<PodState[]> {
    const sts = await this.readStatefulSet(statefulSet);
    if (!sts) throw new KubeError(`statefulset ${statefulSet} is gone`, 404);
    const selector = sts.spec?.selector?.matchLabels ?? {};
    const deadline = Date.now() + timeoutMs;
    const backoff = waitBackoff(this.pollMs);
    let pause: number | undefined;
    let seen = "";
    for (;;) {
      const pods = await this.pods(selector);
      // Quick looks again whenever a pod came, went or turned ready: the next change is likely near.
      const now = pods.map((p) => `${p.name}:${p.ready}`).join(",");
      if (now !== seen) pause = undefined;
      seen = now;
      const done =
        count === 0
          ? pods.length === 0
          : pods.length === count && pods.filter((p) => p.ready).length >= ready;
      if (done) return pods;
      if (Date.now() > deadline) {
        const left =
          count === 0
            ? pods.map((p) => `${p.name} (${p.phase})`).join(", ")
            : pods
                .filter((p) => !p.ready)
                .map((p) => `${p.name} (${p.problem ?? p.phase})`)
                .join(", ") || `${pods.length} of ${count} pods exist`;
        throw new KubeError(
          `${statefulSet}: ${count === 0 ? "pods still running" : `not ${ready} of ${count} pods ready`} after ${Math.round(timeoutMs / 1000)} s: ${left}`,
        );
      }
      pause = nextPause(backoff, pause);
      await sleep(pause);
    }
  }

  /** The log of a Job's newest pod (empty when it has none). */
  async jobLog(job: string, tailLines = 200): Promise<string> {
    const pods = await this.call(`list pods of job ${job}`, () =>
      this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `job-name=${job}` }, this.opts),
    );
    const newest = pods.items.sort((a, b) =>
      String(b.metadata?.creationTimestamp ?? "").localeCompare(String(a.metadata?.creationTimestamp ?? "")),
    )[0];
    if (!newest) return "";
    try {
      return await this.core.readNamespacedPodLog(
        { name: newest.metadata!.name!, namespace: this.namespace, tailLines },
        this.opts,
      );
    } catch {
      return "";
    }
  }

  /** Deletes a Job and its pods, and waits until it is gone. */
  async deleteJob(name: string, timeoutMs = 60_000): Promise<void> {
    await this.optional(`delete job ${name}`, () =>
      this.batch.deleteNamespacedJob(
        { name, namespace: this.namespace, propagationPolicy: "Background" },
        this.opts,
      ),
    );
    const deadline = Date.now() + timeoutMs;
    const backoff = waitBackoff(this.pollMs);
    let pause: number | undefined;
    while (await this.readJob(name)) {
      if (Date.now() > deadline)
        throw new KubeError(`job ${name} is still there ${timeoutMs / 1000} s after its deletion`);
      pause = nextPause(backoff, pause);
      await sleep(pause);
    }
  }

  /**
   * Runs `job` to its end: a Job of the same name that already finished (an earlier attempt) is deleted
   * first, one still running is waited for instead of started twice.
   */
  async runJob(job: KubeClient.V1Job, timeoutMs: number): Promise<JobOutcome> {
    const name = job.metadata!.name!;
    const existing = await this.readJob(name);
    const finished = (existing?.status?.conditions ?? []).some(
      (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
    );
    if (existing && finished) await this.deleteJob(name);
    if (!existing || finished)
      await this.call(`create job ${name}`, () =>
        this.batch.createNamespacedJob({ namespace: this.namespace, body: job }, this.opts),
      );
    const result = await waitForJob(
      this.batch,
      { name, namespace: this.namespace, cronJob: "", reason: "" },
      timeoutMs,
      this.pollMs,
    );
    return { name, ...result, log: await this.jobLog(name) };
  }
}
