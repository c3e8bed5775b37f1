// A restore as data: the steps, each a list of actions with what it will do, the Jobs it will create
// and whether this run skips it (an interrupted restore already did it). `--dry-run` prints this object
// and stops; the real run prints it and hands the same object to the executor, so what is printed is
// what runs. Nothing here reads the clock or the cluster: planners are pure functions of the facts.
import type * as KubeClient from "@kubernetes/client-node";
import { formatBytes, formatTable } from "../cli/format";
import type { ExpectedCounts } from "./verify";
import type { PointPlanSummary } from "../redis-stream/point-flags";

/** The reason recorded in a safety backup (the backup a restore takes of the data it replaces). */
export const SAFETY_REASON = "pre-restore";

interface ActionBase {
  /** Names the action in the progress record (`done`). */
  key: string;
  /** One line: what it does. */
  does: string;
  /** Why this run does not do it. */
  skip?: string;
  /** Consecutive actions of one group run at the same time. */
  group?: string;
}

/** One action of a step. */
export type PlanAction = ActionBase &
  (
    | { kind: "inspect"; job: KubeClient.V1Job }
    | { kind: "safety-backup"; cronJob: string; reason: string }
    | { kind: "record"; statefulSet: string; backup: string; replicas: Record<string, number> }
    | {
        kind: "scale";
        statefulSet: string;
        from: number;
        replicas: number;
        /** Pods that must be ready (default every one; an elected store has one ready leader). */
        ready?: number;
      }
    | { kind: "create-claim"; claim: KubeClient.V1PersistentVolumeClaim }
    | {
        kind: "job";
        job: KubeClient.V1Job;
        claim: string;
        /** The Job reports the key counts it restored (a point): the verification compares with them. */
        reportsCounts?: boolean;
      }
    | {
        kind: "verify";
        job: KubeClient.V1Job;
        /** What the set must hold; absent for a point: what the restore Job reported. */
        expected?: ExpectedCounts;
        primaryIndex: number;
      }
    | { kind: "finish"; statefulSet: string; backup: string }
  );

/** A numbered step. */
export interface PlanStep {
  n: number;
  title: string;
  actions: PlanAction[];
}

/** The backup a plan restores. */
export interface PlannedBackup {
  id: string;
  /** What the operator asked for (`latest` or the id). */
  requested: string;
  reason: string;
  completedAt: string;
  /** Keys (Redis) or rows (LanceDB). */
  items: number;
  sizeBytes: number;
}

/** A whole plan. */
export interface Plan {
  operation: "restore redis" | "restore lancedb";
  stack: string;
  namespace: string;
  /** kubeconfig context; empty for the current one. */
  context: string;
  image: string;
  backup: PlannedBackup;
  /** A point of the stream (Redis): the base, chain and segments the restore Job replays, all checked. */
  point?: PointPlanSummary;
  /** What planning already checked (the first half of the preflight). */
  checked: string[];
  /** Things the operator should know (an image not pinned by digest, a claim that is missing). */
  warnings: string[];
  /** The interrupted restore this run continues, if any. */
  resumes?: { backup: string; startedAt: string; safetyBackup?: string; done: string[] };
  steps: PlanStep[];
}

/** Every action of a plan, in order. */
export function actionsOf(plan: Plan): { step: PlanStep; action: PlanAction }[] {
  return plan.steps.flatMap((step) => step.actions.map((action) => ({ step, action })));
}

/** The plan as an operator reads it. */
export function formatPlan(plan: Plan): string {
  const b = plan.backup;
  const p = plan.point;
  const head = [
    `holdfast stack ${plan.operation}: stack ${plan.stack}, namespace ${plan.namespace}` +
      (plan.context ? `, context ${plan.context}` : ", current context"),
    ...(p
      ? [
          `point ${b.id}: base ${p.base} (${b.items} keys, ${formatBytes(b.sizeBytes)}), then chain ${p.chain} ` +
            `from offset ${p.fromOffset} to ${p.toOffset}: ${p.bytes} bytes in ${p.segments.length} segments (all checked), last command ${p.lastCommandAt}`,
          ...(p.segments.length > 0
            ? [
                `segments ${p.segments[0]}${p.segments.length > 1 ? ` .. ${p.segments[p.segments.length - 1]}` : ""}`,
              ]
            : []),
        ]
      : [
          `backup ${b.id}${b.requested === "latest" ? " (latest)" : ""}: ${b.reason}, ${b.items} ${plan.operation === "restore redis" ? "keys" : "rows"}, ` +
            `${formatBytes(b.sizeBytes)}, committed ${b.completedAt.replace(/\.\d+Z$/, "Z")}`,
        ]),
    `image ${plan.image}`,
    ...(plan.resumes
      ? [
          `continues the restore of ${plan.resumes.backup} started ${plan.resumes.startedAt}` +
            (plan.resumes.safetyBackup ? ` (safety backup ${plan.resumes.safetyBackup})` : ""),
        ]
      : []),
    ...plan.warnings.map((w) => `WARNING: ${w}`),
  ];
  const rows: string[][] = [];
  for (const line of plan.checked) rows.push(["1", "preflight", `checked: ${line}`]);
  for (const step of plan.steps)
    for (const a of step.actions)
      rows.push([
        String(step.n),
        step.title,
        a.skip ? `skip: ${a.does} (${a.skip})` : `${a.does}${a.group ? " (in parallel)" : ""}`,
      ]);
  const table = formatTable(["#", "STEP", "WHAT"], rows)
    .split("\n")
    // Repeat a step's number and title only on its first line.
    .map((line, i, all) => {
      if (i < 2) return line;
      const prev = rows[i - 2];
      const cur = rows[i - 1];
      if (prev[0] !== cur[0]) return line;
      const width = all[0].indexOf("WHAT");
      return " ".repeat(width) + line.slice(width);
    })
    .join("\n");
  return [...head, "", table].join("\n");
}
