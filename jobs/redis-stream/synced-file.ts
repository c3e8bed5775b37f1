// A file written piece by piece that must be on disk when it is finished (the stream bytes a restore
// stages): every `SYNC_EVERY` bytes the written data is synced in the background while the next pieces
// are fetched and checked, so the final fsync has little left to write instead of all of it at the end.
import * as fs from "fs";

/** Bytes written between two background syncs. */
export const SYNC_EVERY = 8 * 1024 * 1024;

/** A file being written; `finish` syncs it, `close` always closes it. */
export class SyncedFile {
  private readonly fd: number;
  private unsynced = 0;
  private syncing: Promise<void> | undefined;
  private syncError: NodeJS.ErrnoException | undefined;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, "w");
  }

  /** Appends `piece`; starts a background sync once enough is written since the last one. */
  write(piece: Buffer): void {
    fs.writeSync(this.fd, piece);
    this.unsynced += piece.length;
    if (this.unsynced < SYNC_EVERY || this.syncing) return;
    this.unsynced = 0;
    this.syncing = new Promise((resolve) =>
      fs.fdatasync(this.fd, (err) => {
        this.syncError ??= err ?? undefined;
        this.syncing = undefined;
        resolve();
      }),
    );
  }

  /**
   * Syncs what is written (data and size) to disk.
   * @throws the error of a background or the final sync (a write-back error is reported only once).
   */
  async finish(): Promise<void> {
    await this.syncing;
    if (this.syncError) throw this.syncError;
    fs.fsyncSync(this.fd);
  }

  /** Closes the file, once no background sync uses it. */
  async close(): Promise<void> {
    await this.syncing;
    fs.closeSync(this.fd);
  }
}
