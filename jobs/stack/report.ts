// What a restore tells the operator: the summary of a finished run (what was restored, what was kept
// aside and where, how long each step took, the verification), and, for a run that stopped, the state
// the stack is in and the commands that continue or roll back. Pure.
import { formatDuration, formatTable } from "../cli/format";
import type { RunFailed, RunOutcome } from "./execute";
import type { Plan, PlanAction } from "./plan";

/** `1.2s` under a minute, else formatDuration's. */
function took(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms);
}

/** The summary of a finished restore. */
export function formatSummary(
  plan: Plan,
  out: RunOutcome,
  restoreCommand: (backup: string) => string,
): string {
  const rows = plan.steps.map((step) => {
    const acts = out.actions.filter((a) => a.step === step.n);
    const ms = out.steps.find((s) => s.n === step.n)?.ms ?? 0;
    const done = acts.filter((a) => a.status === "done");
    const what =
      step.actions.length === 0
        ? "checked while planning"
        : done.length === 0
          ? `skipped (${acts.map((a) => a.detail).filter(Boolean)[0] ?? "nothing to do"})`
          : done
              .map((a) => a.detail)
              .filter(Boolean)
              .join("; ") || `${done.length} action${done.length === 1 ? "" : "s"} done`;
    return [String(step.n), step.title, done.length === 0 ? "-" : took(ms), what];
  });
  const p = out.preparation;
  const before = p ? p.startMs + p.openMs + p.planMs : 0;
  if (p)
    rows.unshift([
      "0",
      "start and plan",
      took(before),
      `command started ${took(p.startMs)}, stack opened ${took(p.openMs)}, planned ${took(p.planMs)}`,
    ]);
  const lines = [
    `restored ${plan.point ? plan.backup.id : `backup ${plan.backup.id}`} into stack ${plan.stack} in ${took(before + out.totalMs)}` +
      (p ? ` (${took(out.totalMs)} after planning)` : ""),
    "",
    formatTable(["#", "STEP", "TOOK", "OUTCOME"], rows),
  ];
  if (out.checks.length > 0) {
    lines.push(
      "",
      plan.point
        ? "verification (the primary, as the admin user, against what the restore Job replayed):"
        : "verification (the primary, as the admin user, against the backup's manifest):",
    );
    for (const c of out.checks) lines.push(`  ${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`);
  }
  lines.push("", "kept (nothing was deleted):");
  if (out.safetyBackup)
    lines.push(
      `  safety backup ${out.safetyBackup} of the data before the restore: ${restoreCommand(out.safetyBackup)}`,
    );
  else lines.push("  no safety backup was taken");
  for (const k of out.keptAside) lines.push(`  ${k.claim}: ${k.dir}`);
  return lines.join("\n");
}

const VOLUME_KINDS = new Set(["job", "create-claim"]);

/** What state a stopped run left the stack in, and how to go on. */
export function describeStop(
  plan: Plan,
  failure: RunFailed,
  commands: { resume: string; restore: (backup: string) => string },
): string {
  const out = failure.outcome;
  const done = new Set([
    ...(out.record?.done ?? []),
    ...out.actions.filter((a) => a.status === "done").map((a) => a.key),
  ]);
  const all: PlanAction[] = plan.steps.flatMap((s) => s.actions);
  const holder = all.find((a) => a.kind === "record") as { statefulSet: string } | undefined;
  if (!out.record) {
    const lines = [
      "Nothing was changed: the stack runs as before.",
      `Fix the cause and run the same command again: ${commands.resume}`,
    ];
    if (failure.action.kind === "safety-backup")
      lines.push(
        "Or restore without a safety backup (add --no-safety-backup): the current data is then kept only in holdfast-aside/ on each volume.",
      );
    return lines.join("\n");
  }
  const volumeActions = all.filter((a) => VOLUME_KINDS.has(a.kind));
  const touched = volumeActions.filter((a) => done.has(a.key));
  // A volume Job that failed may have moved things before it stopped: its volume counts as touched.
  const partly = VOLUME_KINDS.has(failure.action.kind) ? failure.action : undefined;
  const claimOf = (a: PlanAction) => (a as { claim?: string }).claim ?? a.key;
  const scaledDown = all.filter(
    (a) =>
      a.kind === "scale" &&
      a.replicas === 0 &&
      done.has(a.key) &&
      !done.has(a.key.replace("scale-down:", "scale-up:")),
  ) as { statefulSet: string }[];
  const replicas = out.record.replicas;
  const lines = [
    `The restore of ${plan.backup.id} is recorded on statefulset ${holder?.statefulSet} (holdfast.dev/restore) and stopped at step ${failure.step.n} (${failure.step.title}).`,
    scaledDown.length > 0
      ? `Scaled down to 0: ${scaledDown.map((s) => `${s.statefulSet} (was ${replicas[s.statefulSet]})`).join(", ")}; nothing can write.`
      : "",
    touched.length > 0
      ? `Volumes done: ${touched.map(claimOf).join(", ")}; ` +
        `not yet: ${
          volumeActions
            .filter((a) => !done.has(a.key))
            .map(claimOf)
            .join(", ") || "none"
        }.`
      : partly
        ? ""
        : "No volume has been changed yet.",
    partly
      ? `${claimOf(partly)}: its Job stopped part-way; what it moved is in holdfast-aside/ and the re-run finishes it.`
      : "",
    (out.record.safetyBackup
      ? `The data from before the restore is in safety backup ${out.record.safetyBackup}`
      : "No safety backup was taken") +
      "; each volume's previous content is kept in holdfast-aside/ on it. Nothing was deleted.",
    `Re-run to continue (finished steps are skipped): ${commands.resume}`,
  ];
  if (out.record.safetyBackup)
    lines.push(`Or roll back to the data from before: ${commands.restore(out.record.safetyBackup)}`);
  if (touched.length === 0 && !partly && scaledDown.length > 0) {
    const ns = plan.namespace;
    // In the order they went down: Redis sentinels first, so the data pods find them at start.
    const order = scaledDown.map(
      (s) => `kubectl -n ${ns} scale statefulset/${s.statefulSet} --replicas=${replicas[s.statefulSet]}`,
    );
    lines.push(
      `Or bring the stack back unchanged: ${order.join(" && ")} && kubectl -n ${ns} annotate statefulset/${holder?.statefulSet} holdfast.dev/restore-`,
    );
  }
  return lines.filter(Boolean).join("\n");
}
