// Syncing a file that is being written, in the background: every `every` bytes written since the last
// sync, an fdatasync starts (one at a time) while writing goes on, so the final fsync has little left
// to write. A write-back error is kept for `settle`, because the final fsync would not report it again.
import * as fs from "fs";

/** Background syncs of one open file descriptor. */
export class BackgroundSync {
  private unsynced = 0;
  private syncing: Promise<void> | undefined;
  private error: NodeJS.ErrnoException | undefined;

  /**
   * @param fd the file being written
   * @param every bytes written between two background syncs
   */
  constructor(
    private readonly fd: number,
    private readonly every: number,
  ) {}

  /**
   * Counts `bytes` as written; starts a sync once enough is written and none is running.
   * @param open false once the file's writer may have closed `fd` (no sync is started then).
   */
  wrote(bytes: number, open = true): void {
    this.unsynced += bytes;
    if (this.unsynced < this.every || this.syncing || !open) return;
    this.unsynced = 0;
    this.syncing = new Promise((resolve) =>
      fs.fdatasync(this.fd, (err) => {
        // EBADF: the writer closed the file first; the caller's final fsync covers what was written.
        if (err && err.code !== "EBADF") this.error ??= err;
        this.syncing = undefined;
        resolve();
      }),
    );
  }

  /** Waits for a running sync. @throws the write-back error a background sync got */
  async settle(): Promise<void> {
    await this.syncing;
    if (this.error) throw this.error;
  }

  /** Waits for a running sync, ignoring its outcome (before the file is closed on a failure). */
  async idle(): Promise<void> {
    await this.syncing;
  }
}
