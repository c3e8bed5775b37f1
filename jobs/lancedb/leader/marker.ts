// The leader marker file: present exactly while this pod's sidecar believes it leads, so the
// application container (which mounts the folder read-only) can check before it writes.
import * as fs from "fs";
import * as path from "path";

/** Writes the marker atomically (a temporary file renamed into place). */
export function writeMarker(file: string, content: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(content) + "\n", { mode: 0o644 });
  fs.renameSync(tmp, file);
}

/** Removes the marker; a missing one is fine. */
export function removeMarker(file: string): void {
  fs.rmSync(file, { force: true });
}
