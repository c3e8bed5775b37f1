// The version `holdfast --version` prints: the one in Holdfast's package.json (a checkout, or the job
// image, which copies it beside dist/).
import * as fs from "fs";
import * as path from "path";

/** Holdfast's version from its package.json, or "unknown". */
export function cliVersion(from: string = __dirname): string {
  for (const up of ["..", "../..", "../../.."]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(from, up, "package.json"), "utf8"));
      if (pkg.name === "holdfast") return String(pkg.version);
    } catch {
      // not there
    }
  }
  return "unknown";
}
