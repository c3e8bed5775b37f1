// Logging for jobs: JSON lines when not on a terminal (what a log pipeline in the cluster wants), a short
// human line on a terminal. Everything goes to stderr so stdout stays for results (--json, tables).

type Level = "info" | "warn" | "error";

function emit(level: Level, msg: string, fields: Record<string, unknown>): void {
  if (process.stderr.isTTY) {
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    process.stderr.write(
      `${level === "info" ? "" : level.toUpperCase() + ": "}${msg}${extra ? "  " + extra : ""}\n`,
    );
  } else {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + "\n");
  }
}

/** The jobs' logger. */
export const log = {
  info: (msg: string, fields: Record<string, unknown> = {}) => emit("info", msg, fields),
  warn: (msg: string, fields: Record<string, unknown> = {}) => emit("warn", msg, fields),
  error: (msg: string, fields: Record<string, unknown> = {}) => emit("error", msg, fields),
};
