// A Job's container run as a container of the jobs image (npm run sandbox -- --runtime docker) instead of
// as a process of this checkout's CLI: the same command and arguments, the same environment, the pod's
// volumes mounted at the local folders the kubelet mapped them to (so localized paths in arguments and
// environment stay valid), the pod's uid and gid, a read-only root filesystem with a tmpfs /tmp, and the
// host's network (the loopback Redis set and S3). The folders are handed to the pod's user first, as a
// volume provisioner and fsGroup would.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** What one Job container needs. */
export interface ContainerJob {
  /** The image (holdfast-jobs:dev). */
  image: string;
  /** The container's name, to stop it. */
  name: string;
  /** uid:gid the container runs as. */
  user: string;
  /** Local folders mounted at the same path. */
  mounts: string[];
  /** The container's environment. */
  env: Record<string, string>;
  /** The command (`holdfast`, the image's entrypoint, or another program of the image) and its arguments. */
  command: string[];
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** uid:gid of a pod spec's container (container securityContext over the pod's); the image's user if none. */
export function podUser(spec: Json, container: Json): string | undefined {
  const pod = (spec.securityContext ?? {}) as Json;
  const own = (container.securityContext ?? {}) as Json;
  const uid = own.runAsUser ?? pod.runAsUser;
  if (uid === undefined) return undefined;
  const gid = own.runAsGroup ?? pod.runAsGroup ?? pod.fsGroup ?? uid;
  return `${uid}:${gid}`;
}

/** `docker run` arguments for a Job container. */
export function dockerRunArgs(job: ContainerJob): string[] {
  const args = ["run", "--rm", "--name", job.name, "--read-only", "--tmpfs", "/tmp:rw,mode=1777"];
  args.push("--network", "host", "--user", job.user);
  for (const dir of [...new Set(job.mounts)].sort()) args.push("--volume", `${dir}:${dir}`);
  for (const [k, v] of Object.entries(job.env))
    if (k !== "PATH" && k !== "HOME") args.push("--env", `${k}=${v}`);
  const [bin, ...rest] = job.command;
  if (bin !== "holdfast") args.push("--entrypoint", bin);
  return [...args, job.image, ...rest];
}

/** Gives `dirs` (recursively) to uid:gid, as the pod's volumes are its user's in a cluster. */
export function handOver(dirs: string[], user: string): void {
  const [uid, gid] = user.split(":").map(Number);
  const walk = (p: string) => {
    fs.lchownSync(p, uid, gid);
    if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  for (const dir of dirs) if (fs.existsSync(dir)) walk(dir);
}

/** Stops a Job container at once (a deleted Job, a deadline), whether or not it still runs. */
export function killContainer(name: string): void {
  spawnSync("docker", ["kill", name], { stdio: "ignore" });
}
