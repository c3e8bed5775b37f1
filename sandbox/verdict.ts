// How a step reaches its verdict: each check either holds (and becomes a fact the step reports) or
// throws StepFailure with what was found.
import type { CommandResult } from "./sandbox";

/** What a step found wrong. */
export class StepFailure extends Error {}

/** Throws StepFailure(`what`) unless `ok`; returns `what` as a checked fact. */
export function check(ok: boolean, what: string, found?: string): string {
  if (!ok) throw new StepFailure(found ? `${what}: ${found}` : what);
  return what;
}

/** Throws StepFailure with the command's last log lines unless it exited 0. */
export function succeeded(r: CommandResult, what: string): void {
  if (r.code === 0) return;
  const tail = r.stderr.trim().split("\n").slice(-3).join(" / ");
  throw new StepFailure(`${what} exited ${r.code}: ${tail}`);
}
