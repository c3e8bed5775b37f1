// A file written on the thread pool (a downloading RDB, the staged stream): pieces land in order, byte
// for byte, however many wait at once and however they are gathered into writes; a write the disk
// refuses fails `finish` (and the writes after it), never silently.
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MAX_QUEUED, SyncedFile } from "./synced-file";

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-synced-"))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("SyncedFile", () => {
  it("writes every piece in the order given, past the queue's bound, byte for byte", async () => {
    // Pieces of uneven sizes, 2.5 times the queue's bound in all: some writes make the caller wait.
    const pieces: Buffer[] = [];
    for (let n = 0; n < 2.5 * MAX_QUEUED;) {
      const piece = randomBytes(1 + ((pieces.length * 7919) % (900 * 1024)));
      pieces.push(piece);
      n += piece.length;
    }
    const file = new SyncedFile(path.join(dir, "stream.aof"));
    let waited = 0;
    try {
      for (const p of pieces) {
        const w = file.write(p);
        let settled = false;
        void w.then(() => (settled = true));
        await Promise.resolve();
        if (!settled) waited++;
        await w;
      }
      await file.finish();
    } finally {
      await file.close();
    }
    expect(waited).toBeGreaterThan(0);
    expect(fs.readFileSync(file.path).equals(Buffer.concat(pieces))).toBe(true);
  });

  it("fails finish with the disk's error when a write is refused, and refuses the writes after it", async () => {
    // /dev/full refuses every write with ENOSPC, as a full volume does.
    const file = new SyncedFile("/dev/full");
    try {
      await file.write(Buffer.from("SET a 1\r\n"));
      await expect(file.finish()).rejects.toMatchObject({ code: "ENOSPC" });
      await expect(file.write(Buffer.from("more"))).rejects.toMatchObject({ code: "ENOSPC" });
    } finally {
      await file.close();
    }
  });
});
