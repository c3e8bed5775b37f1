// A streamed S3 multipart upload with bounded memory: bytes are copied into a fixed pool of part
// buffers (concurrency + 1 of partSize), at most `concurrency` parts are in flight, and `write` waits
// while every buffer is busy, so a slow S3 slows the source down instead of growing the heap. Each part
// carries its CRC-32 so S3 refuses a part damaged on the way. Nothing is visible under the key until
// `complete`; `abort` discards the parts (the commit of a backup is decided by the caller).
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import * as zlib from "zlib";

/** S3's limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 of them. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

/** Where and how to upload. */
export interface UploadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  /** Bytes per part. Default 16 MiB (up to 160 GiB in 10,000 parts). */
  partSize?: number;
  /** Parts in flight at once. Default 4. */
  concurrency?: number;
  contentType?: string;
}

/** A completed upload. */
export interface UploadedObject {
  key: string;
  size: number;
  etag: string;
  parts: number;
}

/** Thrown when S3 fails the upload; `uploadId` says what may be left behind. */
export class UploadError extends Error {
  constructor(
    message: string,
    readonly uploadId: string | undefined,
  ) {
    super(message);
    this.name = "UploadError";
  }
}

const crc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 as S3 wants it: the big-endian 4 bytes in base64. */
function crc32Base64(data: Uint8Array): string | undefined {
  if (!crc32) return undefined;
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(data) >>> 0, 0);
  return b.toString("base64");
}

/** One multipart upload in progress. */
export class MultipartUpload {
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private current?: Buffer;
  private filled = 0;
  private partNumber = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly done: { PartNumber: number; ETag: string; ChecksumCRC32?: string }[] = [];
  private failure?: Error;
  private bytes = 0;
  private finished = false;

  private constructor(
    private readonly target: UploadTarget,
    readonly uploadId: string,
  ) {
    this.partSize = target.partSize ?? 16 * 1024 * 1024;
    this.concurrency = target.concurrency ?? 4;
  }

  /** Starts an upload of `target.key`. */
  static async start(target: UploadTarget): Promise<MultipartUpload> {
    const partSize = target.partSize ?? 16 * 1024 * 1024;
    if (partSize < MIN_PART_SIZE) throw new Error(`the part size must be at least ${MIN_PART_SIZE} bytes`);
    const r = await target.client.send(
      new CreateMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        ContentType: target.contentType ?? "application/octet-stream",
        ChecksumAlgorithm: crc32 ? "CRC32" : undefined,
      }),
    );
    if (!r.UploadId) throw new UploadError(`S3 gave no upload id for ${target.key}`, undefined);
    return new MultipartUpload(target, r.UploadId);
  }

  /** Bytes accepted so far. */
  get size(): number {
    return this.bytes;
  }

  /** Bytes of part buffers allocated (the upload's memory). */
  get bufferBytes(): number {
    return this.allocated * this.partSize;
  }

  /** Adds bytes; resolves when they are buffered (waiting while every part buffer is in flight). */
  async write(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.current) this.current = await this.buffer();
      const n = Math.min(chunk.length - offset, this.partSize - this.filled);
      chunk.copy(this.current, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      this.bytes += n;
      if (this.filled === this.partSize) {
        // At most `concurrency` parts in flight: a full buffer waits for its turn.
        while (this.inFlight.size >= this.concurrency) {
          await Promise.race([...this.inFlight]);
          this.throwIfFailed();
        }
        this.dispatch();
      }
    }
  }

  /** Uploads the last part and completes the upload; checks the stored object's size. */
  async complete(): Promise<UploadedObject> {
    this.throwIfFailed();
    if (this.filled > 0 || this.partNumber === 0) {
      if (!this.current) this.current = await this.buffer();
      this.dispatch();
    }
    await Promise.all([...this.inFlight]);
    this.throwIfFailed();
    const { client, bucket, key } = this.target;
    const parts = [...this.done].sort((a, b) => a.PartNumber - b.PartNumber);
    try {
      const r = await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      this.finished = true;
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      if (head.ContentLength !== this.bytes)
        throw new UploadError(
          `S3 stored ${head.ContentLength} bytes for ${key}, ${this.bytes} were sent`,
          this.uploadId,
        );
      return {
        key,
        size: this.bytes,
        etag: (r.ETag ?? head.ETag ?? "").replace(/"/g, ""),
        parts: parts.length,
      };
    } catch (err) {
      if (err instanceof UploadError) throw err;
      throw new UploadError(
        `completing the upload of ${key} failed: ${(err as Error).message}`,
        this.uploadId,
      );
    } finally {
      this.release();
    }
  }

  /**
   * Discards the upload and its parts. Tries a few times (S3 may be back a moment later); resolves
   * false when the upload could not be aborted (S3's lifecycle rule for incomplete uploads removes it).
   */
  async abort(attempts = 3): Promise<boolean> {
    if (this.finished) return false;
    this.finished = true;
    await Promise.allSettled([...this.inFlight]);
    this.release();
    for (let i = 0; i < attempts; i++) {
      try {
        await this.target.client.send(
          new AbortMultipartUploadCommand({
            Bucket: this.target.bucket,
            Key: this.target.key,
            UploadId: this.uploadId,
          }),
        );
        return true;
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) return true;
        if (i < attempts - 1) await new Promise((r) => setTimeout(r, 500 * 2 ** i));
      }
    }
    return false;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
    if (this.finished) throw new UploadError(`the upload of ${this.target.key} is over`, this.uploadId);
  }

  /** A free part buffer, waiting for a part in flight to finish when all are busy. */
  private async buffer(): Promise<Buffer> {
    for (;;) {
      this.throwIfFailed();
      const b = this.free.pop();
      if (b) return b;
      if (this.allocated < this.concurrency + 1) {
        this.allocated++;
        return Buffer.allocUnsafeSlow(this.partSize);
      }
      await Promise.race([...this.inFlight]);
    }
  }

  private dispatch(): void {
    const buffer = this.current!;
    const body = buffer.subarray(0, this.filled);
    const partNumber = ++this.partNumber;
    this.current = undefined;
    this.filled = 0;
    if (partNumber > MAX_PARTS)
      this.failure = new UploadError(
        `more than ${MAX_PARTS} parts: raise the part size (--part-size)`,
        this.uploadId,
      );
    const { client, bucket, key } = this.target;
    const checksum = crc32Base64(body);
    const p: Promise<void> = client
      .send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
          ChecksumCRC32: checksum,
        }),
      )
      .then((r) => {
        this.done.push({ PartNumber: partNumber, ETag: r.ETag ?? "", ChecksumCRC32: checksum });
      })
      .catch((err: Error) => {
        this.failure ??= new UploadError(
          `uploading part ${partNumber} of ${key} failed: ${err.message || err.name}`,
          this.uploadId,
        );
      })
      .finally(() => {
        this.inFlight.delete(p);
        this.free.push(buffer);
      });
    this.inFlight.add(p);
  }

  private release(): void {
    this.free.length = 0;
    this.current = undefined;
  }
}
