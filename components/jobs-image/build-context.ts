// The jobs image's tag, derived from what the image is built from: the Dockerfile, its build arguments
// and every file of the build context its COPY instructions read. The ECR repository's tags are
// immutable, so a changed image must get a new tag and an unchanged one must keep its old tag.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { contextSources, parseDockerfile } from "./dockerfile";

/** Files .dockerignore keeps out of the context; they cannot change the image. */
export const EXCLUDED_FROM_CONTEXT = [/\.test\.ts$/, /(^|\/)__snapshots__\//];

function isExcluded(relative: string): boolean {
  return EXCLUDED_FROM_CONTEXT.some((re) => re.test(relative));
}

function filesUnder(contextDir: string, relative: string): string[] {
  const full = path.join(contextDir, relative);
  if (!fs.existsSync(full))
    throw new Error(`the Dockerfile copies ${relative}, which ${contextDir} does not have`);
  if (!fs.statSync(full).isDirectory()) return isExcluded(relative) ? [] : [relative];
  return fs
    .readdirSync(full)
    .sort()
    .flatMap((entry) => filesUnder(contextDir, path.posix.join(relative, entry)));
}

/**
 * The build-context files the Dockerfile reads, relative to the context, sorted.
 * @param contextDir the build context.
 * @param dockerfile path of the Dockerfile, relative to the context.
 */
export function contextFiles(contextDir: string, dockerfile: string): string[] {
  const file = parseDockerfile(fs.readFileSync(path.join(contextDir, dockerfile), "utf8"));
  const sources = contextSources(file).map((s) => path.posix.normalize(s).replace(/\/$/, ""));
  return [...new Set(sources.flatMap((s) => filesUnder(contextDir, s)))].sort();
}

/**
 * A digest of everything the image is built from: the Dockerfile, the build arguments and the
 * content and path of every context file it copies.
 */
export function buildInputsDigest(
  contextDir: string,
  dockerfile: string,
  buildArgs: Record<string, string>,
): string {
  const hash = crypto.createHash("sha256");
  const add = (label: string, content: string | Buffer) => {
    hash.update(`${label}\0${Buffer.byteLength(content)}\0`);
    hash.update(content);
  };
  add("dockerfile", fs.readFileSync(path.join(contextDir, dockerfile)));
  add(
    "args",
    JSON.stringify(
      Object.keys(buildArgs)
        .sort()
        .map((k) => [k, buildArgs[k]]),
    ),
  );
  for (const relative of contextFiles(contextDir, dockerfile)) {
    add(relative, fs.readFileSync(path.join(contextDir, relative)));
  }
  return hash.digest("hex");
}

/**
 * The image tag: the package version and the first 12 hex digits of buildInputsDigest, e.g.
 * `0.1.0-3f2a9c41d0be`.
 */
export function jobsImageTag(
  contextDir: string,
  dockerfile: string,
  buildArgs: Record<string, string>,
): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(contextDir, "package.json"), "utf8")) as {
    version?: string;
  };
  return `${pkg.version ?? "0.0.0"}-${buildInputsDigest(contextDir, dockerfile, buildArgs).slice(0, 12)}`;
}
