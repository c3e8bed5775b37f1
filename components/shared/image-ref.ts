// How a container image reference is pinned: by digest (`repo@sha256:...` or `repo:tag@sha256:...`, the
// exact bytes, what prod should run), by tag (`repo:tag`, which a registry may move), or not at all (an
// implicit `latest`). Pure; the stack config checks and the components use it.

/** How an image reference is pinned, or why it is not a usable reference. */
export type ImagePinning = "digest" | "tag" | "none" | "malformed-digest";

/** The pinning of `ref`. */
export function imagePinning(ref: string): ImagePinning {
  const at = ref.indexOf("@");
  if (at >= 0) return /^sha256:[0-9a-f]{64}$/.test(ref.slice(at + 1)) ? "digest" : "malformed-digest";
  // A tag follows the last path segment's colon; a colon before a slash is a registry's port.
  return ref.slice(ref.lastIndexOf("/") + 1).includes(":") ? "tag" : "none";
}

/** One line saying what is wrong with `ref` as a config value, or undefined when it is pinned. */
export function imageProblem(ref: string): string | undefined {
  const pinning = imagePinning(ref);
  if (pinning === "malformed-digest")
    return "has a malformed digest (expected @sha256: and 64 lowercase hex digits)";
  if (pinning === "none")
    return "is pinned by neither a tag nor a digest (use repo:tag, or repo:tag@sha256:<64 hex digits>, preferred)";
  return undefined;
}
