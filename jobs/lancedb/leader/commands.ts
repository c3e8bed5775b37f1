// `holdfast pod elect lancedb` (flags in specs.ts): the election sidecar of a LanceDB pod in efs and s3 modes. Runs until
// SIGTERM, then steps down and releases the lease (it is a native sidecar: the kubelet stops it only
// after the application container has exited, so releasing cannot let a second writer in early).
import { randomBytes } from "crypto";
import { num, optStr, str } from "../../cli/args";
import type { RunCommand } from "../../cli/command";
import { OperationError, UsageError } from "../../cli/errors";
import { log } from "../../cli/log";
import { ElectionTimings, timingProblems } from "./elector";
import { contextNamespace, defaultKubeConfig, loadKubeClient } from "../../kube/client";
import { KubeLeaseStore } from "./kube-lease-store";
import { KubePodConditions } from "./pod-condition";
import { ElectionSidecar, identityFor } from "./sidecar";

/** Resolves when the process is asked to stop (SIGTERM from the kubelet, SIGINT on a terminal). */
function stopRequested(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
}

/** `holdfast pod elect lancedb`. */
export const runElect: RunCommand = async (flags) => {
  const timings: ElectionTimings = {
    leaseDurationMs: num(flags, "lease-duration"),
    renewDeadlineMs: num(flags, "renew-deadline"),
    retryPeriodMs: num(flags, "retry-period"),
  };
  const problems = timingProblems(timings);
  if (problems.length > 0) throw new UsageError(`unsafe timings: ${problems.join("; ")}`);
  const pod = str(flags, "pod");
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(pod))
    throw new UsageError(`--pod must be a pod name, got "${pod}"`);
  const healthPort = num(flags, "health-port");

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
};
