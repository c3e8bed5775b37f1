// Moving Lance files between a data directory and the store with a bounded number of requests in
// flight. Every upload is create-only (`If-None-Match: *`: an object already under the key is never
// replaced; ObjectExistsError says so) and carries its sha256 for S3 to check what it received, and
// returns it for the record: small files are read once into memory and hashed there; medium files are hashed in one
// streaming pass and then streamed in a single PUT (no buffer, and no multipart upload, which S3
// gateways such as s3rver assemble by copying); large files go up in parts, each part hashed on the
// way. Downloads are hashed as they are written and refused when size or sha256 differ from the record.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import * as fs from "fs";
import { Readable, Transform } from "stream";
import { errorCode, isExistingObjectRefusal, ObjectExistsError } from "../../store/s3";

/** How transfers are sized. */
export interface TransferSettings {
  /** Requests in flight (each holds at most one buffer of `bufferedMax` or `partSize` bytes). */
  concurrency: number;
  /** Files up to this size are read into memory and sent in one PUT. */
  bufferedMax: number;
  /** Files larger than this go up in parts (rclone's default upload cutoff); smaller ones are streamed. */
  multipartThreshold: number;
  partSize: number;
}

export const DEFAULT_TRANSFER: TransferSettings = {
  concurrency: 8,
  bufferedMax: 16 * 1024 * 1024,
  multipartThreshold: 200 * 1024 * 1024,
  partSize: 16 * 1024 * 1024,
};

/** A downloaded object that is not what the record says. */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IntegrityError";
  }
}

/** A local file that changed size while it was read (Lance files never do). */
export class ChangedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChangedFileError";
  }
}

/** Counts permits; `acquire` waits for one. */
export class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private permits: number) {}

  async acquire(): Promise<void> {
    if (this.permits > 0) {
      this.permits--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.permits++;
  }
}

/** Runs `fn` over `items` with at most `limit` running; rejects with the first failure after all settle. */
export async function forEachLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.err;
}

const sha256b64 = (b: Buffer) => createHash("sha256").update(b).digest("base64");

/** Sends a create-only write of `key`; S3's refusal because the key exists becomes ObjectExistsError. */
async function createOnly<T>(key: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isExistingObjectRefusal(err)) throw new ObjectExistsError(key);
    throw err;
  }
}

/** Reads exactly `length` bytes at `position`, or throws ChangedFileError. */
async function readExactly(
  fh: fs.promises.FileHandle,
  length: number,
  position: number,
  what: string,
): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new ChangedFileError(`${what} became shorter while it was read`);
    got += bytesRead;
  }
  return buf;
}

/** Uploads files and buffers to one bucket, counting what it sent. */
export class Uploader {
  /** Bytes and objects sent by this uploader. */
  bytesSent = 0;
  objectsSent = 0;
  private readonly slots: Semaphore;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly settings: TransferSettings = DEFAULT_TRANSFER,
  ) {
    this.slots = new Semaphore(settings.concurrency);
  }

  /** One create-only PUT of `body` to `key`, carrying its SHA-256 (base64) for S3 to check. */
  private async putObject(key: string, body: Buffer | Readable, sha256: string, contentLength?: number) {
    await createOnly(key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: contentLength,
          ChecksumSHA256: sha256,
          IfNoneMatch: "*",
        }),
      ),
    );
  }

  /** Uploads a small object held in memory (a manifest, a record part); returns its sha256 (hex). */
  async putBuffer(key: string, body: Buffer): Promise<string> {
    await this.slots.acquire();
    try {
      await this.putObject(key, body, sha256b64(body));
    } finally {
      this.slots.release();
    }
    this.bytesSent += body.length;
    this.objectsSent++;
    return createHash("sha256").update(body).digest("hex");
  }

  /**
   * Uploads a local file of `size` bytes to `key`.
   * @returns the file's sha256 (hex), computed from the bytes sent.
   * @throws ENOENT from open when the file is gone; ChangedFileError when its size is not `size`.
   */
  async putFile(file: string, key: string, size: number): Promise<string> {
    const fh = await fs.promises.open(file, "r");
    try {
      const st = await fh.stat();
      if (st.size !== size) throw new ChangedFileError(`${file} is ${st.size} bytes, listed as ${size}`);
      if (size <= this.settings.bufferedMax) return await this.putBuffered(fh, file, key, size);
      if (size <= this.settings.multipartThreshold) return await this.putStreamed(file, key, size);
      return await this.putFileInParts(fh, file, key, size);
    } finally {
      await fh.close();
    }
  }

  private async putBuffered(
    fh: fs.promises.FileHandle,
    file: string,
    key: string,
    size: number,
  ): Promise<string> {
    await this.slots.acquire();
    try {
      const body = await readExactly(fh, size, 0, file);
      const digest = createHash("sha256").update(body).digest();
      await this.putObject(key, body, digest.toString("base64"));
      this.bytesSent += size;
      this.objectsSent++;
      return digest.toString("hex");
    } finally {
      this.slots.release();
    }
  }

  /** One pass to hash, one streamed PUT carrying the hash (S3 refuses the body if the file changed). */
  private async putStreamed(file: string, key: string, size: number): Promise<string> {
    await this.slots.acquire();
    try {
      const hashed = await hashFile(file);
      if (hashed.size !== size)
        throw new ChangedFileError(`${file} is ${hashed.size} bytes, listed as ${size}`);
      let streamed = 0;
      const source = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
      const body = new Transform({
        transform(chunk: Buffer, _enc, done) {
          streamed += chunk.length;
          done(null, chunk);
        },
      });
      source.on("error", (err) => body.destroy(err));
      source.pipe(body);
      await this.putObject(key, body, Buffer.from(hashed.sha256, "hex").toString("base64"), size);
      if (streamed !== size) throw new ChangedFileError(`${file} sent ${streamed} bytes, listed as ${size}`);
      this.bytesSent += size;
      this.objectsSent++;
      return hashed.sha256;
    } finally {
      this.slots.release();
    }
  }

  private async putFileInParts(
    fh: fs.promises.FileHandle,
    file: string,
    key: string,
    size: number,
  ): Promise<string> {
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ChecksumAlgorithm: "SHA256" }),
    );
    const whole = createHash("sha256");
    const parts: Promise<CompletedPart>[] = [];
    let failed: { err: unknown } | undefined;
    try {
      for (let offset = 0, n = 1; offset < size; offset += this.settings.partSize, n++) {
        await this.slots.acquire();
        if (failed) {
          this.slots.release();
          throw failed.err;
        }
        let body: Buffer;
        try {
          body = await readExactly(fh, Math.min(this.settings.partSize, size - offset), offset, file);
        } catch (err) {
          this.slots.release();
          throw err;
        }
        whole.update(body);
        const partNumber = n;
        const checksum = sha256b64(body);
        parts.push(
          this.client
            .send(
              new UploadPartCommand({
                Bucket: this.bucket,
                Key: key,
                UploadId,
                PartNumber: partNumber,
                Body: body,
                ChecksumSHA256: checksum,
              }),
            )
            .then((r) => {
              this.bytesSent += body.length;
              return { PartNumber: partNumber, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 ?? checksum };
            })
            .finally(() => this.slots.release()),
        );
        // A failed part stops the reading of further parts.
        parts[parts.length - 1].catch((err) => (failed ??= { err }));
      }
      const done = await Promise.all(parts);
      await createOnly(key, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId,
            MultipartUpload: { Parts: done },
            IfNoneMatch: "*",
          }),
        ),
      );
    } catch (err) {
      await Promise.allSettled(parts);
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId }))
        .catch(() => undefined);
      throw err;
    }
    this.objectsSent++;
    return whole.digest("hex");
  }
}

/**
 * Downloads `key` to `file` (created, never overwritten), checking its size and sha256 as it is written.
 * @throws IntegrityError when the object is missing or not what the record says (the partial file is removed).
 */
export async function downloadFile(
  client: S3Client,
  bucket: string,
  key: string,
  file: string,
  expected: { size: number; sha256: string },
): Promise<void> {
  let r;
  try {
    r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (errorCode(err) === "NoSuchKey") throw new IntegrityError(`${key} is missing from the bucket`);
    throw err;
  }
  const hash = createHash("sha256");
  let size = 0;
  const source = r.Body as Readable;
  const out = fs.createWriteStream(file, { flags: "wx" });
  try {
    await new Promise<void>((resolve, reject) => {
      source.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      source.on("error", reject);
      out.on("error", reject);
      out.on("finish", resolve);
      source.pipe(out);
    });
    const sha256 = hash.digest("hex");
    if (size !== expected.size || sha256 !== expected.sha256)
      throw new IntegrityError(
        `${key}: ${size} bytes with sha256 ${sha256.slice(0, 12)}…, the record says ${expected.size} bytes with ${expected.sha256.slice(0, 12)}…`,
      );
  } catch (err) {
    source.destroy();
    out.destroy();
    await fs.promises.rm(file, { force: true });
    throw err;
  }
}

/** The sha256 (hex) of a local file, for a file the store already holds under an unknown hash. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), size };
}
