// The bounded-memory multipart upload against s3rver (with AbortMultipartUpload and a hold on parts,
// see harness/s3rver.js): content arrives whole, memory stays at the part buffers, a slow S3
// stops the writer, an abort leaves no parts behind, and S3 going away fails the upload; a part's bytes
// are in its signature over HTTP and left to TLS and its CRC-32 over HTTPS.
import { createHash, randomBytes } from "crypto";
import { Readable } from "stream";
import { S3Client, UploadPartCommand } from "@aws-sdk/client-s3";
import { objectExists, getBytes } from "../../store/s3";
import { S3Server } from "../../../harness/s3";
import { MultipartUpload, UploadError, unsignedPayloadOverHttps } from "./upload";
import { waitFor } from "../../../harness/processes";

jest.setTimeout(60_000);

const BUCKET = "holdfast-upload-test";
const MiB = 1024 * 1024;

let s3: S3Server;
beforeEach(async () => {
  s3 = await S3Server.start();
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

/** The signed headers of every UploadPart request `client` sends (after signing, before sending). */
function partHeaders(client: S3Client): Record<string, string>[] {
  const seen: Record<string, string>[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      if ((args.input as { PartNumber?: number }).PartNumber !== undefined)
        seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    },
    { step: "finalizeRequest", name: "testSeePartHeaders", priority: "low" },
  );
  return seen;
}

it("signs the parts' bytes over plain HTTP: a CRC-32 does not protect them on the way", async () => {
  const client = s3.client();
  const seen = partHeaders(client);
  const u = await MultipartUpload.start({ client, bucket: BUCKET, key: "e/dump.rdb", partSize: 5 * MiB });
  const data = randomBytes(6 * MiB);
  await writeAll(u, data);
  await u.complete();
  expect(seen).toHaveLength(2);
  for (const [i, h] of seen.entries()) {
    const part = data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB);
    expect(h["x-amz-content-sha256"]).toBe(createHash("sha256").update(part).digest("hex"));
    expect(h["x-amz-checksum-crc32"]).toMatch(/^[A-Za-z0-9+/]{6}==$/);
  }
  expect((await getBytes(client, BUCKET, "e/dump.rdb")).equals(data)).toBe(true);
});

it("over HTTPS leaves the parts' bytes out of the signature and sends their CRC-32", async () => {
  const sent: { protocol: string; headers: Record<string, string> }[] = [];
  // No HTTPS S3 here: a request handler that answers UploadPart as S3 does, with an ETag.
  const client = new S3Client({
    region: "us-east-1",
    endpoint: "https://s3.holdfast.test",
    forcePathStyle: true,
    credentials: { accessKeyId: "AKID", secretAccessKey: "SECRET" },
    requestHandler: {
      handle: async (request: { protocol: string; headers: Record<string, string> }) => {
        sent.push({ protocol: request.protocol, headers: { ...request.headers } });
        return {
          response: { statusCode: 200, headers: { etag: '"e"' }, body: Readable.from([]) },
        };
      },
    },
  });
  const body = randomBytes(64 * 1024);
  const command = new UploadPartCommand({
    Bucket: BUCKET,
    Key: "f/dump.rdb",
    UploadId: "u",
    PartNumber: 1,
    Body: body,
    ContentLength: body.length,
    ChecksumCRC32: "AAAAAA==",
  });
  unsignedPayloadOverHttps(command);
  expect((await client.send(command)).ETag).toBe('"e"');
  expect(sent).toHaveLength(1);
  expect(sent[0].protocol).toBe("https:");
  expect(sent[0].headers["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
  expect(sent[0].headers["x-amz-checksum-crc32"]).toBe("AAAAAA==");
  expect(sent[0].headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
});
