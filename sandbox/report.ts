// What the sandbox prints (pure): a holdfast log line made short for a person, and the closing table of
// the steps with their timings and verdicts.

/** The outcome of one step. */
export interface StepResult {
  n: number;
  title: string;
  /** `prerequisite`: run only because the selected step needs what it leaves (no verdict of its own). */
  verdict: "passed" | "failed" | "prerequisite";
  seconds: number;
  /** One line: what happened. */
  summary: string;
  /** What was checked, one fact per line. */
  facts: string[];
}

const SHOWN_FIELDS = 4;

/**
 * A JSON log line of the holdfast CLI as `msg  key=value ...` (at most a few fields, long values cut);
 * other lines as they are; undefined for blank lines.
 */
export function describeLogLine(line: string): string | undefined {
  const text = line.trimEnd();
  if (!text.trim()) return undefined;
  if (!text.startsWith("{")) return text;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return text;
  }
  const { time: _time, level, msg, ...fields } = entry;
  const shown = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .slice(0, SHOWN_FIELDS)
    .map(([k, v]) => {
      const s = typeof v === "string" ? v : JSON.stringify(v);
      return `${k}=${s.length > 60 ? s.slice(0, 57) + "..." : s}`;
    });
  const prefix = level === "warn" ? "warning: " : level === "error" ? "error: " : "";
  return `${prefix}${String(msg)}${shown.length ? "  " + shown.join(" ") : ""}`;
}

/** Seconds as `12.3 s`. */
export function seconds(s: number): string {
  return `${s.toFixed(1)} s`;
}

/** The closing table: step, scenario, time, verdict, what happened. */
export function resultTable(results: StepResult[]): string {
  const rows = [
    ["step", "scenario", "time", "verdict", "what happened"],
    ...results.map((r) => [String(r.n), r.title, seconds(r.seconds), r.verdict, r.summary]),
  ];
  const widths = rows[0].slice(0, -1).map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i < widths.length ? cell.padEnd(widths[i]) : cell))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
