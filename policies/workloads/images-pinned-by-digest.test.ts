import { checkResource } from "../evaluate/harness";
import { imagesPinnedByDigest } from "./images-pinned-by-digest";

const DIGEST = `sha256:${"0a".repeat(32)}`;

function statefulSet(images: { init?: string; main: string; sidecar?: string }) {
  return {
    type: "kubernetes:apps/v1:StatefulSet",
    name: "redis",
    props: {
      spec: {
        template: {
          spec: {
            initContainers: images.init ? [{ name: "init", image: images.init }] : [],
            containers: [
              { name: "redis", image: images.main },
              ...(images.sidecar ? [{ name: "exporter", image: images.sidecar }] : []),
            ],
          },
        },
      },
    },
  };
}

describe("kubernetes-images-pinned-by-digest", () => {
  it("#1 passes images pinned by digest, with or without a tag, in every container", async () => {
    const f = statefulSet({
      init: `ecr.example/holdfast/jobs@${DIGEST}`,
      main: `redis:7.2.7-bookworm@${DIGEST}`,
      sidecar: `oliver006/redis_exporter:v1.67.0@${DIGEST}`,
    });
    expect((await checkResource(imagesPinnedByDigest, f)).messages).toEqual([]);
  });

  it("#2 reports each image pinned by tag only, or not at all, with the containers running it", async () => {
    const f = statefulSet({
      init: "holdfast-jobs:0.1.0",
      main: "redis:7.2.7-bookworm",
      sidecar: "redis:7.2.7-bookworm",
    });
    expect((await checkResource(imagesPinnedByDigest, f)).messages).toEqual([
      "holdfast-jobs:0.1.0 (container init) is not pinned by digest",
      "redis:7.2.7-bookworm (containers redis, exporter) is not pinned by digest",
    ]);
    const malformed = statefulSet({ main: "redis@sha256:abc" });
    expect((await checkResource(imagesPinnedByDigest, malformed)).messages).toEqual([
      "redis@sha256:abc (container redis) is not pinned by digest",
    ]);
  });

  it("#3 ignores resources that run no pods, and is advisory unless a stack's config says otherwise", async () => {
    const cm = { type: "kubernetes:core/v1:ConfigMap", props: { data: { image: "redis:7" } } };
    expect((await checkResource(imagesPinnedByDigest, cm)).messages).toEqual([]);
    expect(imagesPinnedByDigest.enforcementLevel).toBe("advisory");
  });
});
