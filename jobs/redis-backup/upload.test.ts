// The bounded-memory multipart upload against s3rver (with AbortMultipartUpload and a hold on parts,
// see test/backup/s3rver-faults.js): content arrives whole, memory stays at the part buffers, a slow S3
// stops the writer, an abort leaves no parts behind, and S3 going away fails the upload.
import { randomBytes } from "crypto";
import { objectExists, getBytes } from "../store/s3";
import { FaultyS3 } from "../../test/backup/s3";
import { MultipartUpload, UploadError } from "./upload";
import { waitFor } from "../../test/harness/processes";

jest.setTimeout(60_000);

const BUCKET = "holdfast-upload-test";
const MiB = 1024 * 1024;

let s3: FaultyS3;
beforeEach(async () => {
  s3 = await FaultyS3.start();
  await s3.createBucket(BUCKET);
});
afterEach(() => s3.cleanup());

async function writeAll(u: MultipartUpload, data: Buffer, chunk = 64 * 1024): Promise<void> {
  for (let i = 0; i < data.length; i += chunk) await u.write(data.subarray(i, i + chunk));
}

it("stores the bytes written, in parts, with at most concurrency + 1 part buffers", async () => {
  const data = randomBytes(23 * MiB + 12345);
  const u = await MultipartUpload.start({
    client: s3.client(),
    bucket: BUCKET,
    key: "a/dump.rdb",
    partSize: 5 * MiB,
    concurrency: 2,
  });
  await writeAll(u, data);
  expect(u.bufferBytes).toBeLessThanOrEqual(3 * 5 * MiB);
  const done = await u.complete();
  expect(done).toMatchObject({ key: "a/dump.rdb", size: data.length, parts: 5 });
  expect((await getBytes(s3.client(), BUCKET, "a/dump.rdb")).equals(data)).toBe(true);
  expect(s3.incompleteUploads(BUCKET)).toEqual([]);
});

it("stops taking bytes while S3 holds every part, then goes on", async () => {
  await s3.hold(0);
  const u = await MultipartUpload.start({
    client: s3.client(),
    bucket: BUCKET,
    key: "b/dump.rdb",
    partSize: 5 * MiB,
    concurrency: 2,
  });
  const data = randomBytes(40 * MiB);
  let written = 0;
  const writer = (async () => {
    for (let i = 0; i < data.length; i += MiB) {
      await u.write(data.subarray(i, i + MiB));
      written += MiB;
    }
  })();
  await waitFor("two parts held by S3", async () => (await s3.state()).waiting >= 2);
  await new Promise((r) => setTimeout(r, 300));
  // Two parts in flight and a third full, waiting for its turn: every buffer is taken at 15 MiB.
  expect((await s3.state()).waiting).toBe(2);
  expect(written).toBe(15 * MiB);
  expect(u.canAccept(1)).toBe(false);
  await s3.release();
  await writer;
  await u.complete();
  expect((await getBytes(s3.client(), BUCKET, "b/dump.rdb")).equals(data)).toBe(true);
});

it("abort removes the parts and leaves no object", async () => {
  const u = await MultipartUpload.start({
    client: s3.client(),
    bucket: BUCKET,
    key: "c/dump.rdb",
    partSize: 5 * MiB,
  });
  await writeAll(u, randomBytes(12 * MiB));
  expect(s3.incompleteUploads(BUCKET)).toEqual([u.uploadId]);
  expect(await u.abort()).toBe(true);
  expect(s3.incompleteUploads(BUCKET)).toEqual([]);
  expect(await objectExists(s3.client(), BUCKET, "c/dump.rdb")).toBe(false);
});

it("fails with an UploadError when S3 goes away, and cannot abort then", async () => {
  await s3.hold(5 * MiB);
  const u = await MultipartUpload.start({
    client: s3.client(),
    bucket: BUCKET,
    key: "d/dump.rdb",
    partSize: 5 * MiB,
    concurrency: 1,
  });
  const writing = writeAll(u, randomBytes(30 * MiB)).then(() => u.complete());
  await waitFor("a part held", async () => (await s3.state()).waiting >= 1);
  await s3.kill();
  await expect(writing).rejects.toThrow(UploadError);
  expect(await u.abort(1)).toBe(false);
});
