// `holdfast timeline --store redis [--json]` (flags in specs.ts): the restorable intervals, their
// bases (each chain's, and the backups inside it), the gaps and the lag.
import type { RunCommand } from "../cli/command";
import { openLocation } from "../store/location";
import { readTimeline, type Timeline } from "./timeline";

function render(t: Timeline): string {
  const lines: string[] = [];
  if (t.chains.length === 0) return "no stream in this bucket yet (run holdfast stream redis)\n";
  lines.push("restorable (UTC):");
  for (const i of t.intervals) lines.push(`  ${i.from} .. ${i.to}  chain ${i.chain}, base ${i.base}`);
  if (t.intervals.length === 0) lines.push("  nothing yet");
  for (const g of t.gaps) lines.push(`gap ${g.from} .. ${g.to}: ${g.why}`);
  for (const c of t.chains) {
    lines.push(
      `chain ${c.chain}: offsets ${c.startOffset ?? "?"}..${c.endOffset ?? "?"}, ${c.segments} segments, ${c.bytes} bytes`,
    );
    for (const b of c.backups ?? [])
      lines.push(`  backup ${b.id} at offset ${b.offset}: a restore to a later point can start here`);
  }
  lines.push(t.newest ? `newest durable command ${t.newest} (${t.lagSeconds} s ago)` : "no segment yet");
  return lines.join("\n") + "\n";
}

/** `holdfast timeline` (--store is an enum of one: redis). */
export const runTimeline: RunCommand = async (flags) => {
  const at = await openLocation(flags);
  const t = await readTimeline(at, Date.now(), true);
  process.stdout.write(flags.json ? JSON.stringify(t) + "\n" : render(t));
  return 0;
};
