// Fail points for the fault tests: `HOLDFAST_FAILPOINTS=restore-aside-entry,...` makes the process kill
// itself with SIGKILL when it reaches a named point, so a test can interrupt a restore at exactly the
// moment it wants (between moving two entries aside, after the download, ...) with a real SIGKILL.
// Unset, a fail point costs one environment lookup.

/** Kills this process with SIGKILL if `name` is in HOLDFAST_FAILPOINTS. */
export function failpoint(name: string, env: NodeJS.ProcessEnv = process.env): void {
  const list = env.HOLDFAST_FAILPOINTS;
  if (!list) return;
  if (
    list
      .split(",")
      .map((s) => s.trim())
      .includes(name)
  )
    process.kill(process.pid, "SIGKILL");
}
