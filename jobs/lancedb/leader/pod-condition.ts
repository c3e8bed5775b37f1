// The leader's mark on its pod: a status condition (`holdfast.dev/leader` by default) that the pod's
// readinessGate waits for, so only the leader's pod is Ready and receives the Service's traffic.
import type * as KubeClient from "@kubernetes/client-node";
import { LEADER_CONDITION_TYPE } from "../../../core/lancedb";
import { describeKubeError, httpStatus, loadKubeClient, withTimeout } from "../../kube/client";

/** The condition type the LanceDB pods' readiness gate names (the component renders the gate). */
export const LEADER_CONDITION = LEADER_CONDITION_TYPE;

/** Sets the leader condition of a pod. */
export interface PodConditionWriter {
  /**
   * Sets `pod`'s condition to True (leading) or False. Resolves to "missing" when the pod does not
   * exist (nothing to route to), rejects when the API could not be reached.
   */
  set(pod: string, leading: boolean, reason: string, message: string): Promise<"set" | "missing">;
}

/** The condition as the status patch carries it. */
export function leaderCondition(
  type: string,
  leading: boolean,
  reason: string,
  message: string,
  now: Date = new Date(),
): KubeClient.V1PodCondition {
  return {
    type,
    status: leading ? "True" : "False",
    reason,
    message,
    // metav1.Time: RFC 3339 in whole seconds.
    lastTransitionTime: new Date(Math.floor(now.getTime() / 1000) * 1000),
  };
}

/** Writes the condition with a strategic merge patch of the pod's status subresource (merges by type). */
export class KubePodConditions implements PodConditionWriter {
  private readonly k8s = loadKubeClient();

  constructor(
    private readonly api: KubeClient.CoreV1Api,
    private readonly namespace: string,
    private readonly conditionType: string = LEADER_CONDITION,
    /** Each patch is aborted after this long. */
    private readonly requestTimeoutMs = 10_000,
  ) {}

  async set(pod: string, leading: boolean, reason: string, message: string): Promise<"set" | "missing"> {
    try {
      await this.api.patchNamespacedPodStatus(
        {
          name: pod,
          namespace: this.namespace,
          body: { status: { conditions: [leaderCondition(this.conditionType, leading, reason, message)] } },
        },
        withTimeout(
          this.requestTimeoutMs,
          this.k8s.setHeaderOptions("Content-Type", this.k8s.PatchStrategy.StrategicMergePatch),
        ),
      );
      return "set";
    } catch (err) {
      if (httpStatus(err) === 404) return "missing";
      throw new Error(
        `patch the ${this.conditionType} condition of pod ${this.namespace}/${pod}: ${describeKubeError(err)}`,
      );
    }
  }
}
