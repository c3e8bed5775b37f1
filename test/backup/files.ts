// What a directory holds, to compare before and after: every entry by relative path, files by their
// SHA-256, folders marked as such.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** `relative path -> sha256` for files and `relative path/ -> "dir"` for folders, sorted. */
export function treeDigest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, e);
      const rel = path.relative(root, p);
      if (fs.statSync(p).isDirectory()) {
        out[`${rel}/`] = "dir";
        walk(p);
      } else out[rel] = createHash("sha256").update(fs.readFileSync(p)).digest("hex");
    }
  };
  walk(root);
  return out;
}
