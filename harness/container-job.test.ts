// A Job container's `docker run`: the pod's user, its volumes at the local paths, its environment without
// the host's PATH and HOME, the image's entrypoint for `holdfast` and another program's otherwise.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dockerRunArgs, handOver, podUser } from "./container-job";

describe("podUser", () => {
  it("takes the container's runAsUser over the pod's, the group from runAsGroup, else fsGroup, else the uid", () => {
    expect(podUser({ securityContext: { runAsUser: 999, fsGroup: 998 } }, {})).toBe("999:998");
    expect(
      podUser({ securityContext: { runAsUser: 1 } }, { securityContext: { runAsUser: 2, runAsGroup: 3 } }),
    ).toBe("2:3");
    expect(podUser({ securityContext: { runAsUser: 1000 } }, {})).toBe("1000:1000");
    expect(podUser({}, {})).toBeUndefined();
  });
});

describe("dockerRunArgs", () => {
  const base = {
    image: "holdfast-jobs:dev",
    name: "holdfast-restore-abc",
    user: "999:999",
    mounts: ["/s/redis/data", "/s/kubelet/emptydir/p/tmp", "/s/redis/data"],
    env: { PATH: "/usr/bin", HOME: "/root", HOLDFAST_BUCKET: "b" },
  };

  it("runs `holdfast ...` through the image's entrypoint, read-only, as the pod's user, on the host's network", () => {
    expect(
      dockerRunArgs({ ...base, command: ["holdfast", "restore", "redis", "--data-dir", "/s/redis/data"] }),
    ).toEqual([
      "run",
      "--rm",
      "--name",
      "holdfast-restore-abc",
      "--read-only",
      "--tmpfs",
      "/tmp:rw,mode=1777",
      "--network",
      "host",
      "--user",
      "999:999",
      "--volume",
      "/s/kubelet/emptydir/p/tmp:/s/kubelet/emptydir/p/tmp",
      "--volume",
      "/s/redis/data:/s/redis/data",
      "--env",
      "HOLDFAST_BUCKET=b",
      "holdfast-jobs:dev",
      "restore",
      "redis",
      "--data-dir",
      "/s/redis/data",
    ]);
  });

  it("runs another program of the image as the entrypoint", () => {
    const args = dockerRunArgs({ ...base, command: ["redis-cli", "ping"] });
    expect(args.slice(args.indexOf("--entrypoint"), args.indexOf("--entrypoint") + 2)).toEqual([
      "--entrypoint",
      "redis-cli",
    ]);
    expect(args.slice(-2)).toEqual(["holdfast-jobs:dev", "ping"]);
  });
});

describe("handOver", () => {
  it("gives a folder and everything in it to the pod's user", () => {
    if (process.getuid?.() !== 0) return expect(process.getuid?.()).not.toBe(0); // chown needs root
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-handover-"));
    try {
      fs.mkdirSync(path.join(dir, "a"));
      fs.writeFileSync(path.join(dir, "a", "f"), "x");
      handOver([dir, path.join(dir, "missing")], "999:998");
      for (const p of [dir, path.join(dir, "a"), path.join(dir, "a", "f")])
        expect([fs.statSync(p).uid, fs.statSync(p).gid]).toEqual([999, 998]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
