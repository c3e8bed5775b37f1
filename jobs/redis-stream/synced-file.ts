// A file written piece by piece that must be on disk when it is finished (the stream bytes a restore
// stages): every `SYNC_EVERY` bytes the written data is synced in the background while the next pieces
// are fetched and checked, so the final fsync has little left to write instead of all of it at the end.
import * as fs from "fs";
import { BackgroundSync } from "../redis-backup/transfer/background-sync";

/** Bytes written between two background syncs. */
export const SYNC_EVERY = 8 * 1024 * 1024;

/** A file being written; `finish` syncs it, `close` always closes it. */
export class SyncedFile {
  private readonly fd: number;
  private readonly sync: BackgroundSync;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, "w");
    this.sync = new BackgroundSync(this.fd, SYNC_EVERY);
  }

  /** Appends `piece`; starts a background sync once enough is written since the last one. */
  write(piece: Buffer): void {
    fs.writeSync(this.fd, piece);
    this.sync.wrote(piece.length);
  }

  /**
   * Syncs what is written (data and size) to disk.
   * @throws the error of a background or the final sync (a write-back error is reported only once).
   */
  async finish(): Promise<void> {
    await this.sync.settle();
    fs.fsyncSync(this.fd);
  }

  /** Closes the file, once no background sync uses it. */
  async close(): Promise<void> {
    await this.sync.idle();
    fs.closeSync(this.fd);
  }
}
