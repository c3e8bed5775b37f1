// A small kubelet and controller set for the Kubernetes API stand-in, so code that drives a cluster can
// be tested against real processes on this machine:
// - StatefulSets: pods are created and deleted as spec.replicas changes (Parallel policy), their claims
//   created from the volumeClaimTemplates, and each pod started and stopped through a PodRuntime (the
//   Redis harness starts redis-server and sentinels); Pod status (phase, Ready, podIP) and StatefulSet
//   status (replicas, readyReplicas) follow what the runtime reports. A StatefulSet with no runtime gets
//   pods that are ready at once and run nothing. With `jobImage` a pod runs as its securityContext's
//   user: its claims are handed to that user first and the runtime is told it.
// - Deployments: spec.replicas pods, each running its container as a Job's runs (below), started again
//   whenever it exits (restartPolicy Always), stopped with SIGTERM and SIGKILL after its grace period
//   on a scale-down, a deletion of the Deployment or of the pod (which the Deployment then replaces);
//   the container's declared ports are moved to free loopback ports (in its arguments). Deployment
//   status (replicas, readyReplicas) follows the processes.
// - Jobs: each Job's container command runs as a local process (`holdfast` is this checkout's CLI), or
//   with `jobImage` as a container of that image (harness/container-job.ts), with
//   its environment resolved (Secret references from the stand-in's Secrets, host names and mount paths
//   localized) and its PersistentVolumeClaims mapped to local directories; the Job's pods and status
//   (active, succeeded, failed, Complete/Failed conditions, backoffLimit, activeDeadlineSeconds) follow
//   the process; deleting a Job ends it. Pod logs are served at pods/{name}/log.
// Everything happens through the store's change listeners and status subresources, as controllers do.
import { type ChildProcess, spawn } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ApiRequest, ApiResponse, KubeApiServer, KubeObject, ResourceType } from "./kube-api";
import { containerEnv, type EnvVar, type Localization, localizeText } from "./localize";
import { dockerRunArgs, handOver, killContainer, podUser } from "./container-job";
import { freePort } from "./processes";

/** How the pods of one StatefulSet run on this machine. */
export interface PodRuntime {
  /**
   * Starts pod `ordinal`; resolves once its main process serves, rejects when it cannot start.
   * @param pod.user uid:gid the pod's securityContext runs it as, given with `jobImage` (its claims are
   *   that user's already); without it the pod runs as this process's user.
   */
  start(ordinal: number, pod?: { user?: string }): Promise<void>;
  /** Stops pod `ordinal` (as a scale-down or a deletion would). */
  stop(ordinal: number): Promise<void>;
  /** The readiness probe of pod `ordinal`. */
  ready(ordinal: number): Promise<boolean>;
}

/** What the kubelet needs. */
export interface KubeletOptions {
  server: KubeApiServer;
  /** Folder for claims without a mapping, emptyDirs and pod logs. */
  dir: string;
  /** The local folder of a claim; default `<dir>/claims/<claim>`. */
  claimDir?: (claim: string) => string | undefined;
  /** Runtimes by StatefulSet name. */
  runtimes?: Record<string, PodRuntime>;
  /** Cluster host names -> (port -> loopback port), for a Job's environment and arguments. */
  hosts?: Map<string, Map<number, number>>;
  /** Environment every Job process gets (an S3 endpoint and keys, as IRSA would give credentials). */
  jobEnv?: Record<string, string>;
  /** Extra environment for one Job's process (fault injection: HOLDFAST_FAILPOINTS). */
  jobEnvFor?: (job: KubeObject) => Record<string, string> | undefined;
  /** The holdfast CLI run for a `holdfast` command. */
  holdfastBin: string;
  /**
   * Run each Job's container in this image (docker) instead of as a local process. StatefulSet pods then
   * run as their securityContext's user too, as in a cluster: their claims are handed to that user
   * before a start (as a provisioner and fsGroup would), and the runtime is told the user.
   */
  jobImage?: string;
  /** How often readiness probes run. */
  probeIntervalMs?: number;
  /** Wait before a pod that failed to start is started again. */
  restartDelayMs?: number;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface PodWorker {
  sts: string;
  ordinal: number;
  name: string;
  running: boolean;
  ready: boolean;
  /** The pod is wanted; a stop clears it. */
  wanted: boolean;
  /** The current start or stop. */
  busy: Promise<void>;
  /** uid:gid the pod runs as (with `jobImage`). */
  user?: string;
}

/** A pod of a Deployment: its container run again whenever it exits, until the pod is unwanted. */
interface DeploymentPod {
  name: string;
  /** The current process; `ended` once the pod is stopped. */
  run: JobRun;
  /** How often its container was started again. */
  restarts: number;
  /** The pod's container ports -> loopback ports. */
  ports: Map<number, number>;
  /** The restart loop, ended by a stop. */
  loop: Promise<void>;
}

interface JobRun {
  child?: ChildProcess;
  /** The container's name, when the Job runs in `jobImage`. */
  container?: string;
  pod?: string;
  deadline?: NodeJS.Timeout;
  ended: boolean;
  failures: number;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

/** See the module comment. */
export class Kubelet {
  private readonly workers = new Map<string, PodWorker>();
  private readonly jobs = new Map<string, JobRun>();
  private readonly reconciling = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly logs = new Map<string, string>();
  /** The wanted pods of each Deployment, by `namespace/name`. */
  private readonly deploymentPods = new Map<string, DeploymentPod[]>();
  private readonly deploymentsQueued = new Set<string>();
  private unsubscribe?: () => void;
  private removeLogs?: () => void;
  private probeTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: KubeletOptions) {
    fs.mkdirSync(path.join(o.dir, "logs"), { recursive: true });
  }

  private get store() {
    return this.o.server.store;
  }

  private type(kind: string): ResourceType {
    const versions: Record<string, string> = {
      Pod: "v1",
      PersistentVolumeClaim: "v1",
      Secret: "v1",
      StatefulSet: "apps/v1",
      Deployment: "apps/v1",
      Job: "batch/v1",
    };
    return this.store.type(versions[kind], kind);
  }

  /** The local folder of a claim. */
  claimDir(claim: string): string {
    const dir = this.o.claimDir?.(claim) ?? path.join(this.o.dir, "claims", claim);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** The log file of a pod. */
  podLog(pod: string): string | undefined {
    return this.logs.get(pod);
  }

  /** Starts watching the store: reconciles what is there, then every change. */
  start(): void {
    this.unsubscribe = this.store.onChange((e) => {
      if (this.stopped) return;
      const ns = e.object.metadata.namespace ?? "";
      if (e.resource.kind === "StatefulSet") this.reconcile(ns, e.object.metadata.name);
      if (e.resource.kind === "Deployment") this.queueDeployment(ns, e.object.metadata.name);
      if (e.resource.kind === "Job" && e.type === "ADDED") this.runJob(e.object);
      if (e.resource.kind === "Job" && e.type === "DELETED") void this.endJob(e.object, true);
      if (e.resource.kind === "Pod" && e.type === "DELETED") this.podDeleted(e.object);
      if (e.resource.kind === "Pod" && e.type === "DELETED") this.deploymentPodDeleted(e.object);
    });
    this.removeLogs = this.o.server.use((req, next) => this.serveLog(req, next));
    for (const sts of this.store.list(this.type("StatefulSet")).items)
      this.reconcile(sts.metadata.namespace ?? "", sts.metadata.name);
    for (const d of this.store.list(this.type("Deployment")).items)
      this.queueDeployment(d.metadata.namespace ?? "", d.metadata.name);
    for (const job of this.store.list(this.type("Job")).items) this.runJob(job);
    this.probeTimer = setInterval(() => void this.probe(), this.o.probeIntervalMs ?? 500);
  }

  /** Stops every pod and Job process and stops watching. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.removeLogs?.();
    if (this.probeTimer) clearInterval(this.probeTimer);
    const deployments = [...this.deploymentPods.entries()].flatMap(([key, pods]) =>
      pods.map((p) => this.stopDeploymentPod(key.split("/")[0], key.split("/")[1], p)),
    );
    this.deploymentPods.clear();
    for (const run of this.jobs.values()) {
      run.ended = true;
      if (run.deadline) clearTimeout(run.deadline);
      this.killJobProcess(run);
    }
    await Promise.all(
      [...this.workers.values()].map(async (w) => {
        w.wanted = false;
        await w.busy.catch(() => undefined);
        if (w.running)
          await this.runtimeOf(w.sts)
            ?.stop(w.ordinal)
            .catch(() => undefined);
      }),
    );
    await Promise.all(deployments);
  }

  // --- StatefulSets ---------------------------------------------------------------------------------

  private runtimeOf(sts: string): PodRuntime | undefined {
    return this.o.runtimes?.[sts];
  }

  private reconcile(ns: string, name: string): void {
    const key = `${ns}/${name}`;
    if (this.reconciling.has(key)) {
      this.dirty.add(key);
      return;
    }
    const run = (async () => {
      do {
        this.dirty.delete(key);
        await this.reconcileOnce(ns, name).catch(() => undefined);
      } while (this.dirty.has(key) && !this.stopped);
    })().finally(() => this.reconciling.delete(key));
    this.reconciling.set(key, run);
  }

  private async reconcileOnce(ns: string, name: string): Promise<void> {
    let sts: Json;
    try {
      sts = this.store.get(this.type("StatefulSet"), ns, name) as Json;
    } catch {
      // Deleted: its pods go (claims stay, as persistentVolumeClaimRetentionPolicy Retain says).
      await Promise.all(
        [...this.workers.values()].filter((w) => w.sts === name).map((w) => this.stopPod(ns, w)),
      );
      return;
    }
    const desired = Number(sts.spec?.replicas ?? 1);
    const starts: Promise<void>[] = [];
    for (let i = 0; i < desired; i++) {
      const pod = `${name}-${i}`;
      if (!this.workers.has(pod) || !this.workers.get(pod)!.wanted) starts.push(this.createPod(ns, sts, i));
    }
    const stops = [...this.workers.values()]
      .filter((w) => w.sts === name && w.ordinal >= desired && w.wanted)
      .map((w) => this.stopPod(ns, w));
    this.updateSetStatus(ns, name);
    await Promise.all([...starts, ...stops]);
    this.updateSetStatus(ns, name);
  }

  /** The claims of a StatefulSet's pod `ordinal`, by template. */
  private podClaims(sts: Json, ordinal: number): { template: Json; claim: string }[] {
    return ((sts.spec?.volumeClaimTemplates ?? []) as Json[]).map((t) => ({
      template: t,
      claim: `${t.metadata.name}-${sts.metadata.name}-${ordinal}`,
    }));
  }

  private ensureClaims(ns: string, sts: Json, ordinal: number): void {
    const pvc = this.type("PersistentVolumeClaim");
    for (const { template: t, claim } of this.podClaims(sts, ordinal)) {
      try {
        this.store.get(pvc, ns, claim);
      } catch {
        this.store.create(pvc, ns, {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: claim, labels: t.metadata.labels },
          spec: t.spec,
        } as KubeObject);
        this.store.patch(
          pvc,
          ns,
          claim,
          "application/merge-patch+json",
          { status: { phase: "Bound" } },
          "status",
        );
      }
      this.claimDir(claim);
    }
  }

  private async createPod(ns: string, sts: Json, ordinal: number): Promise<void> {
    const name = `${sts.metadata.name}-${ordinal}`;
    const previous = this.workers.get(name);
    if (previous) await previous.busy.catch(() => undefined);
    this.ensureClaims(ns, sts, ordinal);
    const podType = this.type("Pod");
    const template = sts.spec.template;
    const user = this.o.jobImage
      ? podUser(template.spec ?? {}, (template.spec?.containers ?? [])[0] ?? {})
      : undefined;
    if (user)
      handOver(
        this.podClaims(sts, ordinal).map((c) => this.claimDir(c.claim)),
        user,
      );
    try {
      this.store.get(podType, ns, name);
    } catch {
      this.store.create(podType, ns, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name,
          labels: {
            ...template.metadata?.labels,
            "statefulset.kubernetes.io/pod-name": name,
            "apps.kubernetes.io/pod-index": String(ordinal),
          },
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "StatefulSet",
              name: sts.metadata.name,
              uid: sts.metadata.uid,
              controller: true,
            },
          ],
        },
        spec: { ...template.spec, hostname: name, subdomain: sts.spec.serviceName },
      } as KubeObject);
      this.setPodStatus(ns, name, { phase: "Pending", ready: false, reason: "PodInitializing" });
    }
    const worker: PodWorker = {
      sts: sts.metadata.name,
      ordinal,
      name,
      running: false,
      ready: false,
      wanted: true,
      busy: Promise.resolve(),
      user,
    };
    this.workers.set(name, worker);
    worker.busy = this.startLoop(ns, worker);
  }

  /** Starts a pod, again after a delay while it fails (CrashLoopBackOff), until it runs or is unwanted. */
  private async startLoop(ns: string, w: PodWorker): Promise<void> {
    const runtime = this.runtimeOf(w.sts);
    for (;;) {
      if (!w.wanted || this.stopped) return;
      try {
        await runtime?.start(w.ordinal, { user: w.user });
        w.running = true;
        w.ready = runtime === undefined;
        this.setPodStatus(ns, w.name, { phase: "Running", ready: w.ready });
        this.updateSetStatus(ns, w.sts);
        return;
      } catch (err) {
        this.setPodStatus(ns, w.name, {
          phase: "Pending",
          ready: false,
          reason: "CrashLoopBackOff",
          message: String((err as Error).message).slice(0, 300),
        });
        await new Promise((r) => setTimeout(r, this.o.restartDelayMs ?? 1000));
      }
    }
  }

  private async stopPod(ns: string, w: PodWorker): Promise<void> {
    w.wanted = false;
    await w.busy.catch(() => undefined);
    const stop = (async () => {
      if (w.running) await this.runtimeOf(w.sts)?.stop(w.ordinal);
      w.running = false;
      w.ready = false;
      try {
        this.store.delete(this.type("Pod"), ns, w.name);
      } catch {
        // already gone
      }
      if (this.workers.get(w.name) === w) this.workers.delete(w.name);
      this.updateSetStatus(ns, w.sts);
    })();
    w.busy = stop;
    await stop;
  }

  private podDeleted(pod: KubeObject): void {
    const w = this.workers.get(pod.metadata.name);
    if (!w || !w.wanted) return;
    // Deleted by someone else: the process goes, and the StatefulSet creates the pod again.
    const ns = pod.metadata.namespace ?? "";
    void this.stopPod(ns, w).then(() => this.reconcile(ns, w.sts));
  }

  private async probe(): Promise<void> {
    for (const w of [...this.workers.values()]) {
      if (!w.running || !w.wanted) continue;
      const runtime = this.runtimeOf(w.sts);
      const ready = runtime ? await runtime.ready(w.ordinal).catch(() => false) : true;
      if (ready === w.ready || !w.running || !w.wanted) continue;
      w.ready = ready;
      const ns = this.namespaceOf(w);
      this.setPodStatus(ns, w.name, { phase: "Running", ready });
      this.updateSetStatus(ns, w.sts);
    }
  }

  private namespaceOf(w: PodWorker): string {
    const sts = this.store.list(this.type("StatefulSet")).items.find((s) => s.metadata.name === w.sts);
    return sts?.metadata.namespace ?? "";
  }

  private setPodStatus(
    ns: string,
    name: string,
    s: { phase: string; ready: boolean; reason?: string; message?: string; exitCode?: number },
  ): void {
    const conditions = [
      { type: "PodScheduled", status: "True", lastTransitionTime: now() },
      { type: "Initialized", status: s.phase === "Pending" ? "False" : "True", lastTransitionTime: now() },
      { type: "ContainersReady", status: s.ready ? "True" : "False", lastTransitionTime: now() },
      { type: "Ready", status: s.ready ? "True" : "False", lastTransitionTime: now() },
    ];
    const state =
      s.exitCode !== undefined
        ? {
            terminated: {
              exitCode: s.exitCode,
              reason: s.exitCode === 0 ? "Completed" : "Error",
              message: s.message,
            },
          }
        : s.phase === "Running"
          ? { running: { startedAt: now() } }
          : { waiting: { reason: s.reason ?? "ContainerCreating", message: s.message } };
    try {
      this.store.patch(
        this.type("Pod"),
        ns,
        name,
        "application/merge-patch+json",
        {
          status: {
            phase: s.phase,
            podIP: "127.0.0.1",
            hostIP: "127.0.0.1",
            conditions,
            containerStatuses: [
              { name: "main", ready: s.ready, restartCount: 0, image: "", imageID: "", state },
            ],
          },
        },
        "status",
      );
    } catch {
      // the pod is gone
    }
  }

  private updateSetStatus(ns: string, name: string): void {
    const workers = [...this.workers.values()].filter((w) => w.sts === name && w.wanted);
    try {
      const sts = this.store.get(this.type("StatefulSet"), ns, name);
      const ready = workers.filter((w) => w.ready).length;
      this.store.patch(
        this.type("StatefulSet"),
        ns,
        name,
        "application/merge-patch+json",
        {
          status: {
            observedGeneration: sts.metadata.generation,
            replicas: workers.length,
            readyReplicas: ready,
            availableReplicas: ready,
            currentReplicas: workers.length,
            updatedReplicas: workers.length,
          },
        },
        "status",
      );
    } catch {
      // the StatefulSet is gone
    }
  }

  // --- Deployments ----------------------------------------------------------------------------------

  /** Reconciles a Deployment once the current change is done (its own status writes come back here). */
  private queueDeployment(ns: string, name: string): void {
    const key = `${ns}/${name}`;
    if (this.deploymentsQueued.has(key)) return;
    this.deploymentsQueued.add(key);
    setImmediate(() => {
      this.deploymentsQueued.delete(key);
      if (!this.stopped) this.reconcileDeployment(ns, name);
    });
  }

  /** Starts pods up to spec.replicas and stops the rest (all of them once the Deployment is gone). */
  private reconcileDeployment(ns: string, name: string): void {
    const key = `${ns}/${name}`;
    let deployment: Json | undefined;
    try {
      deployment = this.store.get(this.type("Deployment"), ns, name) as Json;
    } catch {
      deployment = undefined;
    }
    const pods = this.deploymentPods.get(key) ?? [];
    const desired = deployment ? Number(deployment.spec?.replicas ?? 1) : 0;
    while (deployment && pods.length < desired) pods.push(this.startDeploymentPod(ns, deployment));
    for (const pod of pods.splice(desired)) void this.stopDeploymentPod(ns, name, pod);
    if (pods.length) this.deploymentPods.set(key, pods);
    else this.deploymentPods.delete(key);
    this.updateDeploymentStatus(ns, name);
  }

  private startDeploymentPod(ns: string, deployment: Json): DeploymentPod {
    const template = deployment.spec.template as Json;
    const hash = String(deployment.metadata.uid ?? "0")
      .replace(/-/g, "")
      .slice(0, 10);
    const name = `${deployment.metadata.name}-${hash}-${randomUUID().slice(0, 5)}`;
    this.store.create(this.type("Pod"), ns, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        labels: { ...template.metadata?.labels, "pod-template-hash": hash },
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: deployment.metadata.name,
            uid: deployment.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: template.spec,
    } as KubeObject);
    this.setPodStatus(ns, name, { phase: "Pending", ready: false, reason: "ContainerCreating" });
    const pod: DeploymentPod = {
      name,
      run: { ended: false, failures: 0, pod: name },
      restarts: 0,
      ports: new Map(),
      loop: Promise.resolve(),
    };
    pod.loop = this.runDeploymentPod(ns, deployment.metadata.name, template.spec as Json, pod).catch(
      () => undefined,
    );
    return pod;
  }

  /** Runs the pod's container, again after a delay whenever it exits (restartPolicy Always). */
  private async runDeploymentPod(
    ns: string,
    deployment: string,
    spec: Json,
    pod: DeploymentPod,
  ): Promise<void> {
    const paths = await this.jobPodVolumes(ns, pod.name, spec, pod.run);
    if (!paths) return;
    for (const p of ((spec.containers[0] as Json).ports ?? []) as Json[])
      pod.ports.set(Number(p.containerPort), await freePort());
    while (!pod.run.ended && !this.stopped) {
      let child: ChildProcess;
      try {
        child = this.spawnContainer(ns, pod.name, spec, paths, pod.run, undefined, pod.ports);
      } catch (err) {
        this.setPodStatus(ns, pod.name, {
          phase: "Pending",
          ready: false,
          reason: "CreateContainerConfigError",
          message: (err as Error).message,
        });
        await new Promise((r) => setTimeout(r, this.o.restartDelayMs ?? 1000));
        continue;
      }
      this.setPodStatus(ns, pod.name, { phase: "Running", ready: true });
      this.updateDeploymentStatus(ns, deployment);
      const code = await exitCode(child);
      pod.run.child = undefined;
      if (pod.run.ended || this.stopped) return;
      pod.restarts++;
      this.setPodStatus(ns, pod.name, {
        phase: "Running",
        ready: false,
        reason: "CrashLoopBackOff",
        message: `the container exited ${code}; restarted ${pod.restarts} times`,
      });
      this.updateDeploymentStatus(ns, deployment);
      await new Promise((r) => setTimeout(r, this.o.restartDelayMs ?? 1000));
    }
  }

  /**
   * Stops a Deployment's pod as a kubelet does: SIGTERM, SIGKILL after terminationGracePeriodSeconds;
   * then its Pod object goes.
   */
  private async stopDeploymentPod(ns: string, deployment: string, pod: DeploymentPod): Promise<void> {
    pod.run.ended = true;
    const child = pod.run.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      let spec: Json = {};
      try {
        spec = (this.store.get(this.type("Pod"), ns, pod.name) as Json).spec ?? {};
      } catch {
        // deleted already: the default grace period
      }
      const graceMs = Number(spec.terminationGracePeriodSeconds ?? 30) * 1000;
      const exited = exitCode(child);
      child.kill("SIGTERM");
      const timer = setTimeout(() => this.killJobProcess(pod.run), graceMs);
      await exited;
      clearTimeout(timer);
    }
    await pod.loop;
    try {
      this.store.delete(this.type("Pod"), ns, pod.name);
    } catch {
      // already gone
    }
    this.updateDeploymentStatus(ns, deployment);
  }

  /** A Deployment's pod deleted by someone else: its process goes, and the Deployment makes another. */
  private deploymentPodDeleted(object: KubeObject): void {
    const ns = object.metadata.namespace ?? "";
    for (const [key, pods] of this.deploymentPods) {
      const i = pods.findIndex((p) => p.name === object.metadata.name);
      if (i < 0 || !key.startsWith(`${ns}/`)) continue;
      const [pod] = pods.splice(i, 1);
      const name = key.slice(ns.length + 1);
      void this.stopDeploymentPod(ns, name, pod).then(() => this.queueDeployment(ns, name));
      return;
    }
  }

  private updateDeploymentStatus(ns: string, name: string): void {
    const pods = this.deploymentPods.get(`${ns}/${name}`) ?? [];
    const ready = pods.filter((p) => p.run.child && p.run.child.exitCode === null).length;
    try {
      const d = this.store.get(this.type("Deployment"), ns, name);
      this.store.patch(
        this.type("Deployment"),
        ns,
        name,
        "application/merge-patch+json",
        {
          status: {
            observedGeneration: d.metadata.generation,
            replicas: pods.length,
            updatedReplicas: pods.length,
            readyReplicas: ready,
            availableReplicas: ready,
            unavailableReplicas: pods.length - ready || null,
          },
        },
        "status",
      );
    } catch {
      // the Deployment is gone
    }
  }

  // --- Jobs -----------------------------------------------------------------------------------------

  private jobKey(job: KubeObject): string {
    return `${job.metadata.namespace}/${job.metadata.name}/${job.metadata.uid}`;
  }

  private runJob(job: KubeObject): void {
    const status = (job as Json).status ?? {};
    if (status.succeeded || (status.conditions ?? []).some((c: Json) => c.type === "Failed")) return;
    const key = this.jobKey(job);
    if (this.jobs.has(key)) return;
    const run: JobRun = { ended: false, failures: 0 };
    this.jobs.set(key, run);
    const deadline = Number((job as Json).spec?.activeDeadlineSeconds ?? 0);
    if (deadline > 0)
      run.deadline = setTimeout(() => {
        if (run.ended) return;
        run.ended = true;
        this.killJobProcess(run);
        this.finishJob(job, false, "DeadlineExceeded", "Job was active longer than specified deadline");
      }, deadline * 1000);
    this.patchJobStatus(job, { active: 1, startTime: now() });
    void this.startJobPod(job, run);
  }

  private patchJobStatus(job: KubeObject, status: Json): void {
    try {
      this.store.patch(
        this.type("Job"),
        job.metadata.namespace,
        job.metadata.name,
        "application/merge-patch+json",
        { status },
        "status",
      );
    } catch {
      // the Job is gone
    }
  }

  private finishJob(job: KubeObject, succeeded: boolean, reason?: string, message?: string): void {
    const run = this.jobs.get(this.jobKey(job));
    if (run?.deadline) clearTimeout(run.deadline);
    const t = now();
    this.patchJobStatus(
      job,
      succeeded
        ? {
            active: null,
            succeeded: 1,
            completionTime: t,
            conditions: [
              { type: "SuccessCriteriaMet", status: "True", lastTransitionTime: t },
              { type: "Complete", status: "True", lastTransitionTime: t },
            ],
          }
        : {
            active: null,
            failed: run?.failures ?? 1,
            conditions: [
              { type: "FailureTarget", status: "True", reason, message, lastTransitionTime: t },
              { type: "Failed", status: "True", reason, message, lastTransitionTime: t },
            ],
          },
    );
  }

  private secrets(ns: string): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const s of this.store.list(this.type("Secret"), ns).items as Json[]) {
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries((s.data ?? {}) as Record<string, string>))
        data[k] = Buffer.from(v, "base64").toString("utf8");
      out[s.metadata.name] = { ...data, ...(s.stringData ?? {}) };
    }
    return out;
  }

  /**
   * The local folders of a Job pod's volume mounts: claims must exist (a pod waits for its claim, as the
   * scheduler does), emptyDirs are fresh. Undefined when the run ended meanwhile.
   */
  private async jobPodVolumes(
    ns: string,
    podName: string,
    spec: Json,
    run: JobRun,
  ): Promise<Record<string, string> | undefined> {
    const paths: Record<string, string> = {};
    const container = spec.containers[0] as Json;
    for (;;) {
      if (run.ended) return undefined;
      const missing: string[] = [];
      for (const m of (container.volumeMounts ?? []) as Json[]) {
        const volume = (spec.volumes ?? []).find((v: Json) => v.name === m.name) as Json | undefined;
        if (volume?.persistentVolumeClaim) {
          const claim = volume.persistentVolumeClaim.claimName;
          try {
            this.store.get(this.type("PersistentVolumeClaim"), ns, claim);
            paths[m.mountPath] = this.claimDir(claim);
          } catch {
            missing.push(claim);
          }
        } else {
          const dir = path.join(this.o.dir, "emptydir", podName, m.name);
          fs.mkdirSync(dir, { recursive: true });
          paths[m.mountPath] = dir;
        }
      }
      if (missing.length === 0) break;
      this.patchPodScheduled(ns, podName, `persistentvolumeclaim "${missing[0]}" not found`);
      await new Promise((r) => setTimeout(r, 500));
    }
    return paths;
  }

  private async startJobPod(job: KubeObject, run: JobRun): Promise<void> {
    const ns = job.metadata.namespace ?? "";
    const spec = (job as Json).spec.template.spec as Json;
    const podName = `${job.metadata.name}-${randomUUID().slice(0, 5)}`;
    const labels = {
      ...((job as Json).spec.template.metadata?.labels ?? {}),
      "job-name": job.metadata.name,
      "batch.kubernetes.io/job-name": job.metadata.name,
      "controller-uid": job.metadata.uid!,
    };
    this.store.create(this.type("Pod"), ns, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: podName,
        labels,
        ownerReferences: [
          {
            apiVersion: "batch/v1",
            kind: "Job",
            name: job.metadata.name,
            uid: job.metadata.uid,
            controller: true,
          },
        ],
      },
      spec,
    } as KubeObject);
    run.pod = podName;
    const paths = await this.jobPodVolumes(ns, podName, spec, run);
    if (!paths) return;
    let child: ChildProcess;
    try {
      child = this.spawnContainer(ns, podName, spec, paths, run, this.o.jobEnvFor?.(job));
    } catch (err) {
      // A real pod would wait in CreateContainerConfigError; failing at once keeps a test short.
      run.ended = true;
      this.setPodStatus(ns, podName, {
        phase: "Failed",
        ready: false,
        exitCode: 1,
        message: (err as Error).message,
      });
      this.finishJob(job, false, "CreateContainerConfigError", (err as Error).message);
      return;
    }
    this.setPodStatus(ns, podName, { phase: "Running", ready: true });
    const code = await exitCode(child);
    run.child = undefined;
    this.setPodStatus(ns, podName, {
      phase: code === 0 ? "Succeeded" : "Failed",
      ready: false,
      exitCode: code,
    });
    if (run.ended) return;
    if (code === 0) {
      run.ended = true;
      this.finishJob(job, true);
      return;
    }
    run.failures++;
    const backoffLimit = Number((job as Json).spec?.backoffLimit ?? 6);
    if (run.failures > backoffLimit) {
      run.ended = true;
      this.finishJob(job, false, "BackoffLimitExceeded", "Job has reached the specified backoff limit");
      return;
    }
    this.patchJobStatus(job, { failed: run.failures, active: 1 });
    await new Promise((r) => setTimeout(r, 200));
    void this.startJobPod(job, run);
  }

  /**
   * Starts a pod's first container as a local process (`holdfast` is this checkout's CLI), or with
   * `jobImage` as a container of that image: its environment resolved and localized, its mount paths
   * and the cluster ports in `ports` (container port -> loopback port) moved onto this machine, its
   * output in the pod's log. @throws when the environment cannot be resolved (a missing Secret key)
   */
  private spawnContainer(
    ns: string,
    podName: string,
    spec: Json,
    paths: Record<string, string>,
    run: JobRun,
    extraEnv?: Record<string, string>,
    ports: Map<number, number> = new Map(),
  ): ChildProcess {
    const container = spec.containers[0] as Json;
    const home = path.join(this.o.dir, "emptydir", podName, "home");
    fs.mkdirSync(home, { recursive: true });
    const l: Localization = { hosts: this.o.hosts ?? new Map(), paths, selfPort: 0 };
    const resolved = containerEnv((container.env ?? []) as EnvVar[], podName, this.secrets(ns), l);
    const env = { PATH: process.env.PATH, HOME: home, ...resolved, ...this.o.jobEnv, ...extraEnv };
    const [bin, ...args] = [...(container.command ?? []), ...(container.args ?? [])]
      .map((a: string) => localizeText(a, l))
      .map((a: string) => (/^\d+$/.test(a) && ports.has(Number(a)) ? String(ports.get(Number(a))) : a));
    const logFile = path.join(this.o.dir, "logs", `${podName}.log`);
    this.logs.set(podName, logFile);
    const out = fs.openSync(logFile, "a");
    const child = this.o.jobImage
      ? this.startJobContainer(run, podName, spec, container, Object.values(paths), env, [bin, ...args], out)
      : bin === "holdfast"
        ? spawn(process.execPath, [this.o.holdfastBin, ...args], { env, stdio: ["ignore", out, out] })
        : spawn(bin, args, { env, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    run.child = child;
    return child;
  }

  /** A Job pod's container as a container of `jobImage`, its volumes handed to the pod's user. */
  private startJobContainer(
    run: JobRun,
    podName: string,
    spec: Json,
    container: Json,
    mounts: string[],
    env: Record<string, string | undefined>,
    command: string[],
    out: number,
  ): ChildProcess {
    const user = podUser(spec, container) ?? "10001:10001";
    handOver(mounts, user);
    const name = `holdfast-${podName}-${randomUUID().slice(0, 8)}`;
    run.container = name;
    const defined = Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const args = dockerRunArgs({ image: this.o.jobImage!, name, user, mounts, env: defined, command });
    return spawn("docker", args, { stdio: ["ignore", out, out] });
  }

  /** Ends a Job's process (or container) at once. */
  private killJobProcess(run: JobRun): void {
    run.child?.kill("SIGKILL");
    if (run.container) killContainer(run.container);
  }

  private patchPodScheduled(ns: string, pod: string, message: string): void {
    try {
      this.store.patch(
        this.type("Pod"),
        ns,
        pod,
        "application/merge-patch+json",
        {
          status: {
            phase: "Pending",
            conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message }],
          },
        },
        "status",
      );
    } catch {
      // gone
    }
  }

  private async endJob(job: KubeObject, deleted: boolean): Promise<void> {
    const run = this.jobs.get(this.jobKey(job));
    if (run) {
      run.ended = true;
      if (run.deadline) clearTimeout(run.deadline);
      this.killJobProcess(run);
    }
    if (!deleted) return;
    // The garbage collector: the Job's pods go with it.
    const pods = this.store.list(this.type("Pod"), job.metadata.namespace, {
      labelSelector: `job-name=${job.metadata.name}`,
    });
    for (const p of pods.items) {
      try {
        this.store.delete(this.type("Pod"), job.metadata.namespace, p.metadata.name);
      } catch {
        // gone
      }
    }
  }

  // --- pods/{name}/log ------------------------------------------------------------------------------

  private async serveLog(req: ApiRequest, next: () => Promise<ApiResponse>): Promise<ApiResponse> {
    if (req.type?.kind !== "Pod" || req.subresource !== "log" || req.method !== "GET") return next();
    // An unknown pod is the API's 404.
    this.store.get(req.type, req.namespace, req.name!);
    const file = this.logs.get(req.name!);
    let text = file && fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const tail = Number(req.query.get("tailLines") ?? 0);
    if (tail > 0)
      text = text
        .split("\n")
        .slice(-(tail + 1))
        .join("\n");
    return {
      status: 200,
      stream: (res) => {
        res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(text) });
        res.end(text);
      },
    };
  }
}

/** The exit code of a process (128 + the signal's number when a signal ended it; 127 when it never ran). */
function exitCode(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(128 + (os.constants.signals[child.signalCode] ?? 9));
  return new Promise<number>((resolve) => {
    child.once("error", () => resolve(127));
    child.once("exit", (c, signal) => resolve(c ?? 128 + (signal ? (os.constants.signals[signal] ?? 9) : 1)));
  });
}
