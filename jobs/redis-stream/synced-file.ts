// A file written piece by piece that must be on disk when it is finished (the stream bytes a restore
// stages). The writes run on libuv's thread pool, one after another in order, while the caller goes on
// fetching and checking the next pieces (a synchronous write of a chain's 50 MiB held the restore's
// only JavaScript thread for about 150 ms); at most `MAX_QUEUED` bytes wait to be written, after which
// `write` makes the caller wait. Every `SYNC_EVERY` bytes written, the data is synced in the background,
// so the final fsync has little left to write instead of all of it at the end.
import * as fs from "fs";
import { BackgroundSync } from "../redis-backup/transfer/background-sync";

/** Bytes written between two background syncs. */
export const SYNC_EVERY = 8 * 1024 * 1024;

/** Bytes handed to `write` and not yet written before `write` makes its caller wait. */
export const MAX_QUEUED = 16 * 1024 * 1024;

/** Writes all of `piece` at the file's current position (a write may take less than asked). */
function writeAll(fd: number, piece: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (at: number): void =>
      fs.write(fd, piece, at, piece.length - at, null, (err, written) => {
        if (err) reject(err);
        else if (at + written < piece.length) from(at + written);
        else resolve();
      });
    from(0);
  });
}

/** A file being written; `finish` writes and syncs it, `close` always closes it. */
export class SyncedFile {
  private readonly fd: number;
  private readonly sync: BackgroundSync;
  /** The last write queued (each starts when the one before it is done). */
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private error: Error | undefined;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, "w");
    this.sync = new BackgroundSync(this.fd, SYNC_EVERY);
  }

  /**
   * Appends `piece` (kept, not copied, until it is written: the caller must not change it). Resolves at
   * once while little is waiting to be written; otherwise once this piece is written.
   * @throws the error of an earlier write
   */
  write(piece: Buffer): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    this.queued += piece.length;
    const written = this.tail.then(async () => {
      if (this.error) return;
      try {
        await writeAll(this.fd, piece);
        this.sync.wrote(piece.length);
      } catch (err) {
        this.error = err as Error;
      } finally {
        this.queued -= piece.length;
      }
    });
    this.tail = written;
    if (this.queued <= MAX_QUEUED) return Promise.resolve();
    return written.then(() => {
      if (this.error) throw this.error;
    });
  }

  /**
   * Writes what is queued and syncs it (data and size) to disk.
   * @throws the error of a write, a background or the final sync (a write-back error is reported once).
   */
  async finish(): Promise<void> {
    await this.tail;
    if (this.error) throw this.error;
    await this.sync.settle();
    fs.fsyncSync(this.fd);
  }

  /** Closes the file, once no queued write and no background sync uses it. */
  async close(): Promise<void> {
    await this.tail;
    await this.sync.idle();
    fs.closeSync(this.fd);
  }
}
