// Transfers against a real s3rver: single and multipart uploads hash exactly the bytes sent, a file
// that changed size or vanished is reported as such, downloads refuse an object that is not what the
// record says and leave nothing behind, and the pool never runs more than its limit.
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { getBytes } from "../../store/s3";
import { S3Server } from "../../../harness/s3";
import { ChangedFileError, downloadFile, forEachLimit, IntegrityError, Uploader } from "./transfer";

const MiB = 1024 * 1024;

describe("transfers", () => {
  let s3: S3Server;
  let dir: string;
  beforeAll(async () => {
    s3 = await S3Server.start();
    await s3.createBucket("transfers");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-transfer-"));
  });
  afterAll(async () => {
    await s3.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("uploads small files from memory, medium ones streamed and large ones in parts, returning the sha256 of what was sent", async () => {
    const up = new Uploader(s3.client(), "transfers", {
      concurrency: 3,
      bufferedMax: 1 * MiB,
      multipartThreshold: 6 * MiB,
      partSize: 5 * MiB,
    });
    const small = path.join(dir, "small");
    const medium = path.join(dir, "medium");
    const large = path.join(dir, "large");
    fs.writeFileSync(small, randomBytes(1000));
    fs.writeFileSync(medium, randomBytes(3 * MiB + 1));
    fs.writeFileSync(large, randomBytes(12 * MiB + 7));
    for (const f of [small, medium, large]) {
      const data = fs.readFileSync(f);
      const sha = await up.putFile(f, `k/${path.basename(f)}`, data.length);
      expect(sha).toBe(createHash("sha256").update(data).digest("hex"));
      expect((await getBytes(s3.client(), "transfers", `k/${path.basename(f)}`)).equals(data)).toBe(true);
    }
    expect(up.bytesSent).toBe(1000 + 3 * MiB + 1 + 12 * MiB + 7);
    expect(up.objectsSent).toBe(3);
  });

  it("reports a file that changed size or vanished", async () => {
    const up = new Uploader(s3.client(), "transfers");
    const f = path.join(dir, "changing");
    fs.writeFileSync(f, "12345");
    await expect(up.putFile(f, "k/changing", 4)).rejects.toThrow(ChangedFileError);
    await expect(up.putFile(path.join(dir, "gone"), "k/gone", 4)).rejects.toMatchObject({ code: "ENOENT" });
    expect(up.objectsSent).toBe(0);
  });

  it("downloads with size and sha256 checked, and leaves nothing when they differ", async () => {
    const data = randomBytes(5000);
    const up = new Uploader(s3.client(), "transfers");
    const sha256 = await up.putBuffer("k/blob", data);
    const ok = path.join(dir, "ok");
    await downloadFile(s3.client(), "transfers", "k/blob", ok, { size: data.length, sha256 });
    expect(fs.readFileSync(ok).equals(data)).toBe(true);
    // Never over an existing file.
    await expect(
      downloadFile(s3.client(), "transfers", "k/blob", ok, { size: data.length, sha256 }),
    ).rejects.toThrow(/EEXIST/);

    const bad = path.join(dir, "bad");
    await expect(
      downloadFile(s3.client(), "transfers", "k/blob", bad, { size: data.length, sha256: "0".repeat(64) }),
    ).rejects.toThrow(IntegrityError);
    expect(fs.existsSync(bad)).toBe(false);
    await expect(downloadFile(s3.client(), "transfers", "k/blob", bad, { size: 1, sha256 })).rejects.toThrow(
      /5000 bytes/,
    );
  });

  it("forEachLimit runs at most its limit at once and rejects with the first failure", async () => {
    let running = 0;
    let peak = 0;
    await forEachLimit(
      Array.from({ length: 20 }, (_, i) => i),
      4,
      async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      },
    );
    expect(peak).toBe(4);
    const seen: number[] = [];
    await expect(
      forEachLimit([1, 2, 3, 4], 2, async (i) => {
        seen.push(i);
        if (i === 2) throw new Error("second failed");
      }),
    ).rejects.toThrow("second failed");
  });
});
