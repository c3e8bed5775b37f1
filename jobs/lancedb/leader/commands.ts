// `holdfast lancedb elect`: the election sidecar of a LanceDB pod in efs and s3 modes. Runs until
// SIGTERM, then steps down and releases the lease (it is a native sidecar: the kubelet stops it only
// after the application container has exited, so releasing cannot let a second writer in early).
import { randomBytes } from "crypto";
import { ELECTOR_HEALTH_PORT, LEADER_FILE } from "../../../core/lancedb";
import { durationMs, optStr, str } from "../../cli/args";
import type { Command } from "../../cli/command";
import { OperationError, UsageError } from "../../cli/errors";
import { log } from "../../cli/log";
import { ElectionTimings, timingProblems } from "./elector";
import { contextNamespace, defaultKubeConfig, loadKubeClient } from "../../kube/client";
import { KubeLeaseStore } from "./kube-lease-store";
import { KubePodConditions, LEADER_CONDITION } from "./pod-condition";
import { ElectionSidecar, identityFor } from "./sidecar";

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--health-port must be a port, got "${value}"`);
  return n;
}

/** Resolves when the process is asked to stop (SIGTERM from the kubelet, SIGINT on a terminal). */
function stopRequested(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
}

const electCommand: Command = {
  words: ["lancedb", "elect"],
  summary: "elect the LanceDB writer through a Lease and mark the leader's pod (sidecar)",
  flags: {
    lease: { type: "string", required: true, help: "name of the coordination.k8s.io Lease" },
    namespace: {
      type: "string",
      env: "POD_NAMESPACE",
      help: "namespace of the lease and the pod; default: the kubeconfig context's (in cluster: the pod's)",
    },
    pod: { type: "string", required: true, env: "POD_NAME", help: "this pod's name (its condition is set)" },
    "condition-type": {
      type: "string",
      default: LEADER_CONDITION,
      help: "pod condition the readiness gate waits for",
    },
    "marker-file": {
      type: "string",
      default: LEADER_FILE,
      help: "file present while this pod leads; empty for none",
    },
    "lease-duration": { type: "string", default: "15s", help: "how long a lease lasts without renewal" },
    "renew-deadline": {
      type: "string",
      default: "10s",
      help: "a leader that has not renewed for this long steps down; < lease duration",
    },
    "retry-period": { type: "string", default: "2s", help: "pause between attempts" },
    "health-port": {
      type: "string",
      default: String(ELECTOR_HEALTH_PORT),
      help: "port of /leader (200 while leading), /healthz and /status",
    },
    "keep-lease": {
      type: "boolean",
      help: "at exit, leave the lease to expire instead of releasing it",
    },
  },
  async run(flags) {
    const timings: ElectionTimings = {
      leaseDurationMs: durationMs(str(flags, "lease-duration"), "--lease-duration"),
      renewDeadlineMs: durationMs(str(flags, "renew-deadline"), "--renew-deadline"),
      retryPeriodMs: durationMs(str(flags, "retry-period"), "--retry-period"),
    };
    const problems = timingProblems(timings);
    if (problems.length > 0) throw new UsageError(`unsafe timings: ${problems.join("; ")}`);
    const pod = str(flags, "pod");
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(pod))
      throw new UsageError(`--pod must be a pod name, got "${pod}"`);
    const healthPort = portNumber(str(flags, "health-port"));

    let kc;
    try {
      kc = defaultKubeConfig();
    } catch (err) {
      throw new OperationError(`cannot load a kubeconfig: ${(err as Error).message}`);
    }
    const namespace = optStr(flags, "namespace") ?? contextNamespace(kc);
    if (!namespace)
      throw new UsageError("missing --namespace (or POD_NAMESPACE) and the kubeconfig names none");
    const k8s = loadKubeClient();
    const lease = str(flags, "lease");
    const sidecar = new ElectionSidecar({
      identity: identityFor(pod, randomBytes(4).toString("hex")),
      pod,
      timings,
      // A call may take at most the renew deadline: a leader could not use a later answer anyway.
      store: new KubeLeaseStore(kc.makeApiClient(k8s.CoordinationV1Api), namespace, lease, {
        labels: { "app.kubernetes.io/part-of": "holdfast", "app.kubernetes.io/managed-by": "holdfast" },
        requestTimeoutMs: timings.renewDeadlineMs,
      }),
      conditions: new KubePodConditions(
        kc.makeApiClient(k8s.CoreV1Api),
        namespace,
        str(flags, "condition-type"),
        timings.renewDeadlineMs,
      ),
      markerFile: optStr(flags, "marker-file") ?? "",
      healthPort,
      log,
    });
    const stop = stopRequested();
    try {
      await sidecar.start();
    } catch (err) {
      throw new OperationError(`cannot serve health on port ${healthPort}: ${(err as Error).message}`);
    }
    const signal = await stop;
    const release = flags["keep-lease"] !== true;
    log.info("stopping", { signal, release });
    await sidecar.stop({ release });
    return 0;
  },
};

/** The LanceDB pods' commands. */
export const lancedbLeaderCommands: Command[] = [electCommand];
