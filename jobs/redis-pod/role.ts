// The start-up role of a Redis data pod: ask the sentinels who the primary is and follow it. A pod never
// declares itself primary without a sentinel majority behind the decision, and a pod whose volume is
// empty never becomes the primary of a set that already has data elsewhere.
import { Credentials, NodeAddress, fieldsOf, formatAddress, sameAddress, withNode } from "../redis/client";

/** What one sentinel said about the monitored primary. */
export interface SentinelView {
  sentinel: NodeAddress;
  reachable: boolean;
  /** The primary it names, when it knows the master name. */
  primary?: NodeAddress;
  /** Replicas it has seen attached to that primary. */
  knownReplicas?: number;
  /** The primary's config epoch: 0 until a failover has ever happened. */
  configEpoch?: number;
  /** Why it could not answer. */
  error?: string;
}

/** The decision of `holdfast pod init redis`. */
export type RoleDecision =
  | { role: "primary"; reason: string }
  | { role: "replica"; primary: NodeAddress; reason: string }
  | { role: "wait"; reason: string };

/** What the decision is made from. */
export interface RoleInput {
  /** The address the sentinels know this pod by (its stable hostname and port). */
  self: NodeAddress;
  /** StatefulSet ordinal of this pod. */
  ordinal: number;
  /** Whether the pod's volume holds a dataset (an AOF or RDB). */
  hasData: boolean;
  /** One view per configured sentinel, reachable or not. */
  sentinels: SentinelView[];
  /**
   * The volume's data may lack writes the replicas hold (its AOF was just repaired by truncation): it
   * should not resume as primary while a replica could take over instead.
   */
  dataSuspect?: boolean;
}

/** Smallest number of sentinels that is a majority of `total`. */
export function majorityOf(total: number): number {
  return Math.floor(total / 2) + 1;
}

/**
 * Decides the role of a starting data pod.
 * - Fewer than a majority of sentinels reachable: wait (a pod never elects itself).
 * - A majority names another pod: replicate it, unless this pod holds data and the sentinels have never
 *   seen that primary with a replica (following it could replace the data with an empty dataset).
 * - A majority names this pod: with data, it resumes as primary (after a repair that truncated its AOF,
 *   only once no replica can take over instead); with an empty volume only pod 0 of a
 *   set the sentinels have never seen working (no replica, no failover) bootstraps, and any other pod
 *   waits for the sentinels to promote a replica that holds the data.
 */
export function decideRole(input: RoleInput): RoleDecision {
  const total = input.sentinels.length;
  const need = majorityOf(total);
  const reachable = input.sentinels.filter((v) => v.reachable);
  if (reachable.length < need) {
    const why = input.sentinels
      .filter((v) => !v.reachable)
      .map((v) => `${formatAddress(v.sentinel)}: ${v.error ?? "unreachable"}`)
      .join("; ");
    return {
      role: "wait",
      reason:
        `only ${reachable.length} of ${total} sentinels reachable (need ${need}); ` +
        `not choosing a role without a sentinel majority${input.hasData ? ", holding this pod's data" : ""} (${why})`,
    };
  }

  const tally = new Map<string, { address: NodeAddress; views: SentinelView[] }>();
  for (const v of reachable) {
    if (!v.primary) continue;
    const key = formatAddress(v.primary).toLowerCase();
    const entry = tally.get(key) ?? { address: v.primary, views: [] };
    entry.views.push(v);
    tally.set(key, entry);
  }
  const top = [...tally.values()].sort((a, b) => b.views.length - a.views.length)[0];
  if (!top || top.views.length < need) {
    const answers = [...tally.values()]
      .map((t) => `${formatAddress(t.address)} (${t.views.length})`)
      .join(", ");
    return {
      role: "wait",
      reason: `no primary named by ${need} of ${total} sentinels (answers: ${answers || "none know the master"})`,
    };
  }

  const neverWorked = top.views.every((v) => (v.knownReplicas ?? 0) === 0 && (v.configEpoch ?? 0) === 0);
  if (!sameAddress(top.address, input.self)) {
    if (input.hasData && neverWorked) {
      // Following a primary the sentinels have never seen with a replica would replace this pod's data
      // with whatever that primary holds, perhaps nothing (sentinels that lost their state, a bootstrap).
      return {
        role: "wait",
        reason:
          `the sentinels name ${formatAddress(top.address)} primary but have never seen it with a replica, and ` +
          "this pod holds data that following it would replace; waiting (see the runbook if this persists)",
      };
    }
    return {
      role: "replica",
      primary: top.address,
      reason: `${top.views.length} of ${total} sentinels name ${formatAddress(top.address)} primary`,
    };
  }
  const replicasKnown = top.views.some((v) => (v.knownReplicas ?? 0) > 0);
  if (input.hasData && input.dataSuspect && replicasKnown) {
    return {
      role: "wait",
      reason:
        "the sentinels name this pod primary, but its AOF was repaired and may lack writes its replicas " +
        "hold; waiting for them to promote a replica",
    };
  }
  if (input.hasData) {
    return {
      role: "primary",
      reason: `${top.views.length} of ${total} sentinels name this pod primary and it holds data`,
    };
  }
  if (input.ordinal === 0 && neverWorked) {
    return {
      role: "primary",
      reason: "first start of the set: pod 0 with an empty volume bootstraps as primary",
    };
  }
  return {
    role: "wait",
    reason:
      "the sentinels name this pod primary but its volume is empty; waiting for them to promote a replica " +
      "that holds the data rather than serving an empty dataset to the replicas",
  };
}

/**
 * Asks every sentinel what it knows of `masterName`.
 * @param creds a sentinel user allowed SENTINEL MASTER (e.g. `discovery`).
 */
export async function querySentinels(
  sentinels: NodeAddress[],
  masterName: string,
  creds: Credentials,
  timeoutMs = 2000,
): Promise<SentinelView[]> {
  return Promise.all(
    sentinels.map(async (sentinel): Promise<SentinelView> => {
      try {
        return await withNode(
          sentinel,
          creds,
          async (client) => {
            let fields: Record<string, string>;
            try {
              fields = fieldsOf(await client.call("SENTINEL", "MASTER", masterName));
            } catch (err) {
              // Reachable, but it does not monitor this master (yet).
              return { sentinel, reachable: true, error: (err as Error).message };
            }
            return {
              sentinel,
              reachable: true,
              primary: { host: fields.ip, port: Number(fields.port) },
              knownReplicas: Number(fields["num-slaves"] ?? 0),
              configEpoch: Number(fields["config-epoch"] ?? 0),
            };
          },
          timeoutMs,
        );
      } catch (err) {
        return { sentinel, reachable: false, error: (err as Error).message };
      }
    }),
  );
}
