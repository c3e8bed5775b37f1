import { UNKNOWN, checkResource } from "../evaluate/harness";
import { dataVolumesPersistent } from "./data-volumes-persistent";
import { statefulSet } from "./fixtures";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("kubernetes-data-volumes-persistent", () => {
  it("#1 passes Redis data on a claim template and scratch space on emptyDir", async () => {
    expect((await checkResource(dataVolumesPersistent, statefulSet())).messages).toEqual([]);
  });

  it.each([
    ["emptyDir", { emptyDir: {} }, "pod"],
    ["hostPath", { hostPath: { path: "/mnt/redis" } }, "node"],
  ])("#2 reports Redis data on %s", async (kind, source, goesWith) => {
    const f = statefulSet();
    delete (f.props.spec as Props).volumeClaimTemplates;
    (f.props.spec as Props).template.spec.volumes.push({ name: "data", ...source });
    expect((await checkResource(dataVolumesPersistent, f)).messages).toEqual([
      `container "redis" keeps /data on ${kind} volume "data": its data goes with the ${goesWith}`,
    ]);
  });

  it("#3 reports a LanceDB dataset on emptyDir in any container, and a Redis without a data volume", async () => {
    const app = {
      type: "kubernetes:apps/v1:Deployment",
      props: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: "app",
                  image: "app:1",
                  volumeMounts: [{ name: "db", mountPath: "/app/lancedb_data" }],
                },
              ],
              volumes: [{ name: "db", emptyDir: {} }],
            },
          },
        },
      },
    };
    expect((await checkResource(dataVolumesPersistent, app)).messages).toEqual([
      expect.stringContaining('"app" keeps /app/lancedb_data on emptyDir'),
    ]);
    const bare = {
      type: "kubernetes:core/v1:Pod",
      props: { spec: { containers: [{ name: "cache", image: "redis:7" }] } },
    };
    expect((await checkResource(dataVolumesPersistent, bare)).messages).toEqual([
      expect.stringContaining('Redis container "cache" mounts no volume at its data directory'),
    ]);
  });

  it("#4 takes other data paths from config", async () => {
    const f = statefulSet();
    const container = (f.props.spec as Props).template.spec.containers[0];
    container.volumeMounts = [{ name: "run", mountPath: "/run/holdfast" }];
    expect((await checkResource(dataVolumesPersistent, f)).messages).toHaveLength(1);
    expect(
      (await checkResource(dataVolumesPersistent, f, { redisDataPaths: ["/run/holdfast"] })).messages,
    ).toEqual([expect.stringContaining('keeps /run/holdfast on emptyDir volume "run"')]);
  });
});

describe("kubernetes-data-volumes-persistent during preview", () => {
  it("a sidecar whose image is built by the program (unknown during preview) is judged by its command, not skipped", async () => {
    const f = statefulSet();
    (f.props.spec as Props).template.spec.containers.push({
      name: "holdfast",
      image: UNKNOWN,
      command: ["holdfast", "redis", "agent"],
      volumeMounts: [{ name: "data", mountPath: "/data" }],
    });
    expect((await checkResource(dataVolumesPersistent, f)).violations).toEqual([]);
  });
});
