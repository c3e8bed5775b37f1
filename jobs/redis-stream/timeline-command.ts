// `holdfast timeline --store redis [--json]`: the restorable intervals, their bases, the gaps and the lag.
import { str } from "../cli/args";
import type { Command } from "../cli/command";
import { UsageError } from "../cli/errors";
import { JSON_FLAG, LOCATION_FLAGS } from "../store/flags";
import { openLocation } from "../store/location";
import { readTimeline, type Timeline } from "./timeline";

function render(t: Timeline): string {
  const lines: string[] = [];
  if (t.chains.length === 0) return "no stream in this bucket yet (run holdfast stream redis)\n";
  lines.push("restorable (UTC):");
  for (const i of t.intervals) lines.push(`  ${i.from} .. ${i.to}  chain ${i.chain}, base ${i.base}`);
  if (t.intervals.length === 0) lines.push("  nothing yet");
  for (const g of t.gaps) lines.push(`gap ${g.from} .. ${g.to}: ${g.why}`);
  for (const c of t.chains)
    lines.push(
      `chain ${c.chain}: offsets ${c.startOffset ?? "?"}..${c.endOffset ?? "?"}, ${c.segments} segments, ${c.bytes} bytes`,
    );
  lines.push(t.newest ? `newest durable command ${t.newest} (${t.lagSeconds} s ago)` : "no segment yet");
  return lines.join("\n") + "\n";
}

/** `timeline`. */
export const timelineCommand: Command = {
  words: ["timeline"],
  summary: "show which times the Redis stream can restore to: intervals, bases, gaps, lag",
  flags: {
    store: { type: "string", default: "redis", help: "the store; only redis streams (default redis)" },
    ...LOCATION_FLAGS,
    ...JSON_FLAG,
  },
  async run(flags) {
    if (str(flags, "store") !== "redis")
      throw new UsageError(`--store must be redis (only Redis is streamed), got "${str(flags, "store")}"`);
    const at = await openLocation(flags);
    const t = await readTimeline(at);
    process.stdout.write(flags.json ? JSON.stringify(t) + "\n" : render(t));
  },
};
