// A point staged for the serving server's own load (`restore redis --to-time ... --verify serving`): no
// throw-away server and no second load. The base's RDB is downloaded and checked as a normal restore
// checks it (SHA-256 and size against its manifest, its own CRC-64 and key counts scanned as it is
// read); the stream bytes, already checked segment by segment and as a chain by the plan, are read back
// as RESP and must be whole commands ending exactly at the cut, outside a transaction. The two files are
// then the AOF's base and first incremental file: the serving server loads them as any Redis loads its
// AOF. Replication-only commands in the stream (PING, REPLCONF GETACK, SELECT, MULTI/EXEC) are loaded as
// they are: Redis 7.0, Redis 8.0 and Valkey 8.1 accept them in an AOF.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type Redis from "ioredis";
import type { StoreLocation } from "../store/catalog";
import { type DatasetNames, pointAofFiles } from "../redis-backup/aof-layout";
import { SERVING_LOG } from "../redis-backup/restore/serving";
import type { Check } from "../redis-backup/scratch/load-check";
import { downloadRdb } from "../redis-backup/transfer/download";
import type { RedisBackupManifest } from "../redis-backup/manifest";
import { planPoint, type PointPlan, type PointTarget } from "./point-plan";
import type { DatabaseCounts } from "./replay";
import { RespError, RespReader } from "./resp";

/** The stream bytes do not end on a whole command at the cut. */
export class StreamCutError extends Error {}

/**
 * Checks the stream bytes as they are staged: every byte in a whole RESP command, the last one ending at
 * the plan's cut, no transaction left open. (Each segment's bytes were checked against its SHA-256 and
 * the chain as they were read; they are not hashed a second time.)
 */
export class StreamCheck {
  private readonly reader = new RespReader();
  private commands = 0;
  private size = 0;

  /** @throws StreamCutError for bytes that are not RESP. */
  write(piece: Buffer): void {
    this.size += piece.length;
    try {
      this.commands += this.reader.count(piece);
    } catch (err) {
      if (err instanceof RespError) throw new StreamCutError(`the stream bytes are not RESP: ${err.message}`);
      throw err;
    }
  }

  /**
   * @returns the commands read.
   * @throws StreamCutError
   */
  finish(bytes: number): { commands: number } {
    if (this.size !== bytes)
      throw new StreamCutError(`the staged stream holds ${this.size} bytes, not the plan's ${bytes}`);
    if (this.reader.partial > 0)
      throw new StreamCutError(`the stream's last ${this.reader.partial} bytes are not a whole command`);
    if (this.reader.state.inMulti) throw new StreamCutError("the stream ends inside MULTI ... EXEC");
    return { commands: this.commands };
  }
}

/**
 * Compares a staged stream file, byte for byte, with the stream bytes a plan reads again from the
 * bucket (a resumed restore's check that the file it staged is still the chain's bytes up to the cut).
 */
export class StagedStreamMatch {
  private fd: number | undefined;
  private at = 0;
  private same = true;

  constructor(file: string) {
    this.fd = fs.openSync(file, "r");
  }

  /** Compares the next piece of the plan's bytes with the file's bytes at the same place. */
  write(piece: Buffer): void {
    if (!this.same || this.fd === undefined) return;
    const got = Buffer.allocUnsafe(piece.length);
    const n = fs.readSync(this.fd, got, 0, piece.length, this.at);
    this.same = n === piece.length && got.equals(piece);
    this.at += piece.length;
  }

  /** Whether the file held exactly the pieces written, nothing more; closes the file. */
  finish(): boolean {
    const whole = this.same && this.fd !== undefined && fs.fstatSync(this.fd).size === this.at;
    this.close();
    return whole;
  }

  /** Closes the file (again: nothing). */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The SHA-256 of a file. */
export async function sha256Of(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** What a staged stream is recorded as: the chain, the base it follows and the offsets its bytes run between. */
export function stagedStreamName(plan: PointPlan): string {
  return `chain ${plan.chain}, base ${plan.base.id}, offsets ${plan.startOffset}..${plan.cut.offset}`;
}

/**
 * Where a staging's time went (ms from its start): until the plan was done (segments read, checked,
 * written and parsed as RESP) and until the base's download (alongside) was.
 */
export interface StageTimes {
  plan: number;
  base: number;
}

/**
 * Plans the point (the stream bytes written to `files.stream` and checked as whole commands as they are
 * written) while the base downloads to `files.partial` (started as soon as the plan knows it; checked as
 * it arrives, renamed to `files.base` once it passed). `beforeDownload` may refuse the base
 * (e.g. too big for the disk) before a byte is written.
 * @throws PointOutOfRangeError, BrokenChainError, DamagedBackupError (the base), StreamCutError
 */
export async function stagePointFiles(
  at: StoreLocation,
  target: PointTarget,
  files: { partial: string; base: string; stream: string },
  beforeDownload: (base: RedisBackupManifest) => void = () => undefined,
): Promise<{
  plan: PointPlan;
  checks: Check[];
  baseSha256: string;
  times: StageTimes;
}> {
  const t0 = Date.now();
  fs.rmSync(files.partial, { force: true });
  let download: ReturnType<typeof downloadRdb> | undefined;
  let tBase = 0;
  let plan: PointPlan;
  let stream: { commands: number };
  let tPlan = 0;
  const check = new StreamCheck();
  try {
    plan = await planPoint(
      at,
      target,
      files.stream,
      (base) => {
        beforeDownload(base);
        download = downloadRdb(at, base, files.partial).finally(() => (tBase = Date.now() - t0));
        // Handled where it is awaited; this keeps a failure during the plan from being unhandled.
        download.catch(() => undefined);
      },
      (piece) => check.write(piece),
    );
    tPlan = Date.now() - t0;
    stream = check.finish(plan.bytes);
  } catch (err) {
    await download?.catch(() => undefined);
    throw err;
  }
  const d = await download!;
  fs.renameSync(files.partial, files.base);
  const checks: Check[] = [
    {
      name: `the base ${plan.base.id}: SHA-256 and size equal its manifest's, its CRC-64 and key counts checked as it was read`,
      ok: true,
      detail: `sha256 ${d.result.sha256.slice(0, 16)}…, ${d.result.bytes} bytes, ${plan.base.dataset.keys} keys`,
    },
    {
      name: "the stream's segments: each one's SHA-256 and the chain up to the cut",
      ok: true,
      detail: `${plan.segments.length} segments, offsets ${plan.startOffset}..${plan.cut.offset}`,
    },
    {
      name: "the stream bytes are whole RESP commands up to the cut, no transaction open",
      ok: true,
      detail: `${stream.commands} commands, ${plan.bytes} bytes`,
    },
  ];
  return {
    plan,
    checks,
    baseSha256: d.result.sha256,
    times: { plan: tPlan, base: tBase },
  };
}

/** What the serving server's log says since it last started (its output is appended across starts). */
function lastStartLog(dataDir: string): string {
  let text = "";
  try {
    text = fs.readFileSync(path.join(dataDir, SERVING_LOG), "utf8");
  } catch {
    return "";
  }
  const starts = [...text.matchAll(/^.*is starting oO0OoO0OoO0Oo.*$/gm)];
  return starts.length > 0 ? text.slice(starts[starts.length - 1].index) : text;
}

/**
 * What the serving server's load of a point is checked for (there is no manifest of the point's
 * dataset to compare key counts with): that it loaded the AOF, that its log says it read the stream's
 * file, and that it reported no truncated or damaged AOF.
 */
export async function pointLoadChecks(client: Redis, dataDir: string, names: DatasetNames): Promise<Check[]> {
  const persistence = String(await client.info("persistence"));
  const aofEnabled = /^aof_enabled:1/m.test(persistence);
  const log = lastStartLog(dataDir);
  const stream = pointAofFiles(names).stream;
  const loadedStream = log.includes(`DB loaded from incr file ${stream}`);
  const problem = log
    .split("\n")
    .find((l) => /truncat|short read|bad file format|unrecoverable|unexpected end of file/i.test(l));
  return [
    {
      name: "the serving redis-server loaded the AOF (appendonly yes)",
      ok: aofEnabled,
      detail: aofEnabled ? "aof_enabled:1" : "aof_enabled is not 1: it did not load the AOF",
    },
    {
      name: "it read the stream bytes as its AOF's incremental file",
      ok: loadedStream,
      detail: loadedStream ? stream : `its log does not say it loaded ${stream}`,
    },
    {
      name: "its log reports no truncated or damaged AOF",
      ok: problem === undefined,
      detail: problem?.trim() ?? "none",
    },
  ];
}

/** Keys and keys with a TTL per database of a running server. */
export async function servedKeyCounts(client: Redis): Promise<DatabaseCounts> {
  const info = String(await client.info("keyspace"));
  const out: DatabaseCounts = {};
  for (const m of info.matchAll(/^db(\d+):keys=(\d+),expires=(\d+)/gm))
    out[m[1]] = { keys: Number(m[2]), expires: Number(m[3]) };
  return out;
}
