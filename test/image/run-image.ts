// The jobs image run as Kubernetes runs it: a read-only root filesystem, a tmpfs on /tmp (the pod's
// emptyDir), a numeric user the image does not name, the host's network (the loopback Sentinel set and
// s3rver), only the environment given, and host folders mounted where the pod mounts its volumes.
import { type ChildProcess, spawnSync } from "child_process";
import { capture, type Completed } from "../../harness/processes";

/** The image under test: built by `npm run image:build` (tools/image.sh). */
export const IMAGE = process.env.HOLDFAST_IMAGE ?? "holdfast-jobs:dev";

/** How one container runs. */
export interface RunOptions {
  /** uid:gid, as the pod's securityContext gives it. */
  user: string;
  /** The container's environment (nothing else is passed). */
  env?: Record<string, string>;
  /** host folder -> container path. */
  mounts?: Record<string, string>;
  /** A container name, for `docker stop`. */
  name?: string;
  /** Another program of the image instead of the entrypoint (tini -- holdfast). */
  entrypoint?: string;
}

/** `docker run` arguments for `args` run in the image under `options`. */
export function dockerRunArgs(args: string[], options: RunOptions): string[] {
  const out = ["run", "--rm", "--read-only", "--tmpfs", "/tmp:rw,mode=1777", "--network", "host"];
  out.push("--user", options.user);
  if (options.name) out.push("--name", options.name);
  if (options.entrypoint) out.push("--entrypoint", options.entrypoint);
  for (const [k, v] of Object.entries(options.env ?? {})) out.push("--env", `${k}=${v}`);
  for (const [host, container] of Object.entries(options.mounts ?? {}))
    out.push("--volume", `${host}:${container}`);
  return [...out, IMAGE, ...args];
}

/** Runs `holdfast <args>` (or `entrypoint <args>`) in a container to completion. */
export function runImage(
  args: string[],
  options: RunOptions,
  started?: (child: ChildProcess) => void,
): Promise<Completed> {
  return capture("docker", dockerRunArgs(args, options), {}, started);
}

/** `docker stop` (SIGTERM, SIGKILL after `grace` seconds); resolves with the seconds it took. */
export function dockerStop(name: string, grace = 10): number {
  const started = Date.now();
  const r = spawnSync("docker", ["stop", "--time", String(grace), name], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`docker stop ${name}: ${r.stderr}`);
  return (Date.now() - started) / 1000;
}
