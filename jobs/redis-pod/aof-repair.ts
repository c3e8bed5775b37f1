// AOF repair at start (a corrupted AOF): check the append-only files with redis-check-aof; when they
// are truncated or corrupt, keep the originals aside, fix with `redis-check-aof --fix`, and check again.
// A file that cannot be fixed stops the pod with a clear message instead of Redis starting empty.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { keepAside } from "./aside";

/** What the repair found and did. */
export type AofRepairOutcome =
  | { state: "absent" }
  | { state: "valid"; target: string }
  | {
      state: "repaired";
      target: string;
      keptAt: string;
      detail: string;
      /**
       * The fix removed only a write cut short by a crash, not whole commands after damage inside the
       * file. Told to the operator; either way acknowledged writes may be missing (appendfsync everysec).
       */
      onlyIncompleteWriteRemoved: boolean;
    };

/** The AOF could not be made loadable; the originals are untouched or kept aside. */
export class AofRepairError extends Error {
  constructor(
    message: string,
    public readonly keptAt?: string,
  ) {
    super(message);
    this.name = "AofRepairError";
  }
}

/** The file redis-check-aof should check in `dataDir`: the multi-part manifest, or a single legacy AOF. */
export function aofTarget(
  dataDir: string,
  dirName = "appendonlydir",
  fileName = "appendonly.aof",
): string | undefined {
  const manifest = path.join(dataDir, dirName, `${fileName}.manifest`);
  if (fs.existsSync(manifest)) return manifest;
  const legacy = path.join(dataDir, fileName);
  if (fs.existsSync(legacy) && fs.statSync(legacy).size > 0) return legacy;
  return undefined;
}

// Only `--fix` asks for confirmation on stdin. A check that never reads it gets no stdin at all, and a
// fix that exits before asking (nothing to cut) closes the pipe under the answer: that EPIPE is not a
// failure to run, its exit status is what counts.
function runCheck(checkAof: string, args: string[]): { ok: boolean; output: string } {
  const fixing = args.includes("--fix");
  const r = spawnSync(checkAof, args, {
    ...(fixing ? { input: "y\n" } : { stdio: ["ignore", "pipe", "pipe"] }),
    encoding: "utf8",
    timeout: 30 * 60 * 1000,
  });
  const lostAnswer = (r.error as NodeJS.ErrnoException | undefined)?.code === "EPIPE" && r.status !== null;
  if (r.error && !lostAnswer) throw new AofRepairError(`cannot run ${checkAof}: ${r.error.message}`);
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/**
 * Whether `removed`, the bytes a fix cut off the end of an AOF, is no more than the start of one
 * command (or of one MULTI block without its EXEC): what a crash in the middle of a write leaves.
 */
export function isIncompleteWrite(removed: Buffer): boolean {
  let pos = 0;
  const line = (): string | undefined => {
    const end = removed.indexOf("\r\n", pos);
    if (end < 0) return undefined;
    const text = removed.toString("latin1", pos, end);
    pos = end + 2;
    return text;
  };
  /** One command: its name, "eof" when the bytes end inside it, or "bad" when they do not parse. */
  const command = (): string => {
    const header = line();
    if (header === undefined) return /^(\*\d*\r?)?$/.test(removed.toString("latin1", pos)) ? "eof" : "bad";
    const m = /^\*(\d+)$/.exec(header);
    if (!m) return "bad";
    let name = "";
    for (let i = 0; i < Number(m[1]); i++) {
      const len = line();
      if (len === undefined) return "eof";
      const b = /^\$(\d+)$/.exec(len);
      if (!b) return "bad";
      const end = pos + Number(b[1]);
      if (end + 2 > removed.length) return "eof";
      if (removed[end] !== 13 || removed[end + 1] !== 10) return "bad";
      if (i === 0) name = removed.toString("latin1", pos, end).toLowerCase();
      pos = end + 2;
    }
    return name;
  };
  const first = command();
  if (first === "eof") return true;
  if (first !== "multi") return false;
  for (;;) {
    const next = command();
    if (next === "eof") return true;
    if (next === "bad" || next === "exec") return false;
  }
}

/** The bytes the fix removed from the one file it shortened (compared with the copy kept aside). */
function removedBytes(target: string, keptAt: string): Buffer | undefined {
  const dir = path.dirname(target);
  const keptDir = target.endsWith(".manifest") ? path.join(keptAt, path.basename(dir)) : keptAt;
  for (const f of fs.readdirSync(keptDir)) {
    const now = path.join(dir, f);
    if (!fs.existsSync(now)) continue;
    const size = fs.statSync(now).size;
    const original = fs.readFileSync(path.join(keptDir, f));
    if (original.length > size) return original.subarray(size);
  }
  return undefined;
}

/** The lines of redis-check-aof output worth repeating in a log. */
function summary(output: string): string {
  return output
    .split("\n")
    .filter((l) => /not valid|truncat|shrink|not sane|Bad file|Expected|Unexpected|aborting/i.test(l))
    .map((l) => l.trim())
    .join(" | ");
}

/**
 * Checks and, when needed, repairs the AOF of `dataDir`.
 * @param checkAof the redis-check-aof binary.
 * @param now time used to name the folder the originals are kept in.
 */
export function repairAof(
  dataDir: string,
  checkAof = "redis-check-aof",
  now: Date = new Date(),
): AofRepairOutcome {
  const target = aofTarget(dataDir);
  if (!target) return { state: "absent" };
  const first = runCheck(checkAof, [target]);
  if (first.ok) return { state: "valid", target };

  const keptAt = keepAside(dataDir, "aof-repair", now);
  const fix = runCheck(checkAof, ["--fix", target]);
  const after = runCheck(checkAof, [target]);
  if (!fix.ok || !after.ok) {
    throw new AofRepairError(
      `the AOF at ${target} is corrupt and redis-check-aof cannot fix it (${summary(fix.output) || "no detail"}); ` +
        `not starting Redis on a partial dataset. The original files are kept at ${keptAt}. ` +
        "Restore from a backup (holdfast restore redis) or replace this pod's volume from a replica.",
      keptAt,
    );
  }
  const removed = removedBytes(target, keptAt!);
  return {
    state: "repaired",
    target,
    keptAt: keptAt!,
    detail: summary(first.output),
    onlyIncompleteWriteRemoved: removed !== undefined && isIncompleteWrite(removed),
  };
}
