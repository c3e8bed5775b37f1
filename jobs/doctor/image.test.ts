// The jobs image reference: well formed, pinned by digest (ok), by tag only (warn), by nothing (FAIL).
import { parseImageRef, pinnedCheck } from "./image";

const DIGEST = `sha256:${"a1".repeat(32)}`;

test.each([
  ["ghcr.io/holdfast/holdfast-jobs:0.1.0", { name: "ghcr.io/holdfast/holdfast-jobs", tag: "0.1.0" }],
  [`123456789012.dkr.ecr.us-east-1.amazonaws.com/holdfast-jobs@${DIGEST}`, { digest: DIGEST }],
  [`localhost:5000/jobs:1.2@${DIGEST}`, { name: "localhost:5000/jobs", tag: "1.2", digest: DIGEST }],
  ["redis", { name: "redis", tag: undefined, digest: undefined }],
])("%s parses", (ref, parts) => {
  expect(parseImageRef(ref)).toMatchObject(parts);
});

test.each(["", "Holdfast/Jobs:1", "jobs:", "jobs@sha256:short", "jobs:1 --privileged", "a//b:1"])(
  "%j is not a reference",
  (ref) => {
    expect(parseImageRef(ref)).toBeUndefined();
    expect(pinnedCheck(ref)).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/is not an image reference/),
    });
  },
);

test("by digest ok, by tag warn, by nothing or latest FAIL", () => {
  expect(pinnedCheck(`ghcr.io/holdfast/holdfast-jobs:0.1.0@${DIGEST}`).status).toBe("ok");
  expect(pinnedCheck("ghcr.io/holdfast/holdfast-jobs:0.1.0")).toMatchObject({
    status: "warn",
    detail: expect.stringMatching(/pinned by tag only.*ghcr.io\/holdfast\/holdfast-jobs:0.1.0@sha256:/),
  });
  expect(pinnedCheck("ghcr.io/holdfast/holdfast-jobs").status).toBe("fail");
  expect(pinnedCheck("ghcr.io/holdfast/holdfast-jobs:latest").status).toBe("fail");
});
