// Everything Holdfast checks of an RDB on the single pass it makes over the bytes (while streaming a
// backup, downloading a restore or verifying): size, SHA-256 of the whole file, Redis's own CRC-64 of
// everything before the 8-byte trailer compared with that trailer, and the scanner's reading of the
// structure and keys. Nothing is buffered beyond the last 8 bytes.
import { createHash, Hash } from "crypto";
import { Crc64, storedCrcHex } from "./crc64";
import { RdbScanner, RdbSummary, ScanOptions } from "./scanner";

/** Thrown when an RDB's bytes do not match its own checksum. */
export class RdbChecksumError extends Error {
  constructor(
    readonly stored: string,
    readonly computed: string,
  ) {
    super(`the RDB's checksum does not match its content (stored ${stored}, computed ${computed})`);
    this.name = "RdbChecksumError";
  }
}

/** The outcome of a complete check. */
export interface RdbCheckResult {
  bytes: number;
  sha256: string;
  /** CRC-64 as stored in the RDB (16 hex digits); "0000000000000000" when Redis wrote none. */
  crc64: string;
  /** False when the RDB carries no checksum (`rdbchecksum no` on the server, or an RDB before version 5). */
  crcPresent: boolean;
  /**
   * ok: the trailer is the CRC-64 of the rest; none: Redis wrote no checksum; unrecognised: a format
   * the scanner does not read whose last 8 bytes are not a CRC-64 of the rest (so not checked).
   */
  crc: "ok" | "none" | "unrecognised";
  summary: RdbSummary;
}

/** Checks an RDB chunk by chunk; `finish` throws when anything is wrong. */
export class RdbCheck {
  private readonly hash: Hash = createHash("sha256");
  private readonly crc = new Crc64();
  readonly scanner: RdbScanner;
  /** The last 8 bytes seen, kept out of the CRC until it is known whether more follow. */
  private tail = Buffer.alloc(0);
  private bytes = 0;
  private digest?: string;

  /**
   * @param computeCrc false skips computing the CRC-64 (a restore, whose SHA-256 must match the manifest
   *   and whose throw-away redis-server checks the CRC-64 itself as it loads).
   */
  constructor(
    options: ScanOptions = {},
    private readonly computeCrc = true,
  ) {
    this.scanner = new RdbScanner(options);
  }

  /** Bytes checked so far. */
  get size(): number {
    return this.bytes;
  }

  /** Checks the next bytes. @throws RdbFormatError as soon as the structure is wrong. */
  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    this.hash.update(chunk);
    if (!this.computeCrc) {
      if (chunk.length >= 8) this.tail = Buffer.from(chunk.subarray(chunk.length - 8));
      else this.tail = Buffer.concat([this.tail, chunk]).subarray(-8);
    } else if (chunk.length >= 8) {
      if (this.tail.length > 0) this.crc.update(this.tail);
      this.crc.update(chunk.subarray(0, chunk.length - 8));
      this.tail = Buffer.from(chunk.subarray(chunk.length - 8));
    } else {
      const joined = Buffer.concat([this.tail, chunk]);
      const cut = Math.max(0, joined.length - 8);
      this.crc.update(joined.subarray(0, cut));
      this.tail = joined.subarray(cut);
    }
    this.scanner.write(chunk);
  }

  /**
   * Completes the check.
   * @throws RdbFormatError when the RDB is truncated or malformed, RdbChecksumError when the trailer does
   *   not match the content.
   */
  finish(): RdbCheckResult {
    this.digest ??= this.hash.digest("hex");
    const summary = this.scanner.end();
    const none = "0000000000000000";
    // RDB 5 added the trailer; an older file's last 8 bytes are data.
    const stored = summary.rdbVersion < 5 && !summary.unread ? none : storedCrcHex(this.tail);
    const computed = this.crc.hex();
    const crcPresent = stored !== none;
    let crc: RdbCheckResult["crc"] = crcPresent ? "ok" : "none";
    if (this.computeCrc && crcPresent && stored !== computed) {
      // In a format the scanner does not read, the trailer may not be what it was: the load decides.
      if (!summary.unread) throw new RdbChecksumError(stored, computed);
      crc = "unrecognised";
    }
    return { bytes: this.bytes, sha256: this.digest, crc64: stored, crcPresent, crc, summary };
  }

  /** SHA-256 of all bytes checked (after `finish`, even when it threw). */
  get sha256(): string | undefined {
    return this.digest;
  }
}
