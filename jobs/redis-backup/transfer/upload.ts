// A streamed S3 multipart upload with bounded memory: bytes are copied into a fixed pool of part
// buffers (concurrency + 1 of partSize), at most `concurrency` parts are in flight, and `write` waits
// while every buffer is busy, so a slow S3 slows the source down instead of growing the heap. Each part
// carries its CRC-32 so S3 refuses a part damaged on the way. Nothing is visible under the key until
// `complete`, which is create-only (`If-None-Match: *`): it never replaces an object already there;
// `abort` discards the parts (the commit of a backup is decided by the caller).
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import * as zlib from "zlib";
import { isExistingObjectRefusal } from "../../store/s3";
import { describeS3Error, s3TimeoutMs } from "../../store/s3-timeout";

/** S3's limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 of them. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

/**
 * Parts in flight at once by default. With DEFAULT_PART_SIZE the part buffers take 32 MiB, which keeps a
 * backup's peak RSS well under 150 MiB (Node and the AWS SDK alone take about 75 MiB); the source, not
 * the upload, is what limits a backup's speed.
 */
export const DEFAULT_CONCURRENCY = 3;

/** The part size unless a larger object needs larger parts: 8 MiB (memory: 8 MiB x (concurrency + 1)). */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/**
 * A part size for an object of about `expectedBytes` (unknown before a diskless stream ends): the
 * default, or larger so that twice the expected size still fits in S3's 10,000 parts.
 */
export function partSizeFor(expectedBytes: number): number {
  const needed = Math.ceil((2 * Math.max(0, expectedBytes)) / MAX_PARTS);
  const mib = 1024 * 1024;
  return Math.max(DEFAULT_PART_SIZE, Math.ceil(needed / mib) * mib);
}

/** Where and how to upload. */
export interface UploadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  /** Bytes per part. Default DEFAULT_PART_SIZE. */
  partSize?: number;
  /** Parts in flight at once. Default DEFAULT_CONCURRENCY. */
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

/**
 * Over HTTPS, signs a part without hashing its body (`x-amz-content-sha256: UNSIGNED-PAYLOAD`), as the
 * AWS CLI does when a request carries a checksum: TLS protects the bytes on the way and the part's
 * CRC-32, which S3 checks, catches damage at either end, so a second SHA-256 of every byte (the whole
 * RDB's is computed anyway) is CPU spent for nothing. Over plain HTTP the payload stays signed: a CRC-32
 * is no protection against bytes changed on the way, the signature is.
 */
export function unsignedPayloadOverHttps(command: UploadPartCommand): void {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { protocol?: string; headers?: Record<string, string> };
      if (request.protocol === "https:" && request.headers)
        request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
      return next(args);
    },
    { step: "build", name: "holdfastUnsignedPayload" },
  );
}

/** One multipart upload in progress. */
export class MultipartUpload {
  private readonly partSize: number;
  private readonly concurrency: number;
  /** Part buffers: at most `concurrency` in flight, one full waiting for its turn or being filled. */
  private readonly maxBuffers: number;
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private current?: Buffer;
  private filled = 0;
  private partNumber = 0;
  /** Full buffers waiting for a slot, with their part numbers. */
  private readonly ready: { buffer: Buffer; length: number; partNumber: number }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly done: { PartNumber: number; ETag: string; ChecksumCRC32?: string }[] = [];
  private failure?: Error;
  private bytes = 0;
  private finished = false;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly target: UploadTarget,
    readonly uploadId: string,
  ) {
    this.partSize = target.partSize ?? DEFAULT_PART_SIZE;
    this.concurrency = target.concurrency ?? DEFAULT_CONCURRENCY;
    this.maxBuffers = this.concurrency + 1;
  }

  /** Starts an upload of `target.key`. */
  static async start(target: UploadTarget): Promise<MultipartUpload> {
    const partSize = target.partSize ?? DEFAULT_PART_SIZE;
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

  /** Whether `writeSync` can take `n` more bytes (n at most the part size) right now. */
  canAccept(n: number): boolean {
    if (this.failure || this.finished) return true; // writeSync will throw the reason
    const room = this.current ? this.partSize - this.filled : 0;
    const spare = this.free.length > 0 || this.allocated < this.maxBuffers ? this.partSize : 0;
    return room + spare >= n;
  }

  /** Resolves when `canAccept(n)`; rejects when the upload has failed. */
  async whenRoom(n: number): Promise<void> {
    while (!this.canAccept(n)) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.throwIfFailed();
  }

  /**
   * Copies `chunk` into the part buffers at once (the caller may reuse it afterwards), starting the
   * upload of every part that fills.
   * @throws Error when it does not fit (check `canAccept` first), UploadError when the upload failed.
   */
  writeSync(chunk: Buffer): void {
    this.throwIfFailed();
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.current) {
        const b = this.free.pop() ?? (this.allocated < this.maxBuffers ? this.allocate() : undefined);
        if (!b) throw new Error("upload buffers overrun: wait for whenRoom() before writing");
        this.current = b;
        this.filled = 0;
      }
      const n = Math.min(chunk.length - offset, this.partSize - this.filled);
      chunk.copy(this.current, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      this.bytes += n;
      if (this.filled === this.partSize) this.seal();
    }
  }

  /** Adds bytes, waiting while every part buffer is busy. */
  async write(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; offset += this.partSize) {
      const piece = chunk.subarray(offset, offset + this.partSize);
      await this.whenRoom(piece.length);
      this.writeSync(piece);
    }
  }

  /** Uploads the last part and completes the upload; checks the stored object's size. */
  async complete(): Promise<UploadedObject> {
    this.throwIfFailed();
    if (this.filled > 0 || this.partNumber === 0) {
      if (!this.current) this.current = this.free.pop() ?? this.allocate();
      this.seal();
    }
    for (;;) {
      this.throwIfFailed();
      this.pump();
      if (this.ready.length === 0 && this.inFlight.size === 0) break;
      await Promise.race([...this.inFlight]);
    }
    const { client, bucket, key } = this.target;
    const parts = [...this.done].sort((a, b) => a.PartNumber - b.PartNumber);
    try {
      const r = await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: parts },
          IfNoneMatch: "*",
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
      if (isExistingObjectRefusal(err))
        throw new UploadError(`${key} already exists in the bucket; it was not overwritten`, this.uploadId);
      throw new UploadError(
        `completing the upload of ${key} failed: ${describeS3Error(err, client)}`,
        this.uploadId,
      );
    } finally {
      this.release();
    }
  }

  /**
   * Discards the upload and its parts. Tries a few times (S3 may be back a moment later), within the
   * client's S3 timeout in all (a frozen S3 must not hold the failure back); resolves false when the
   * upload could not be aborted (S3's lifecycle rule for incomplete uploads removes it).
   */
  async abort(attempts = 3): Promise<boolean> {
    if (this.finished) return false;
    this.finished = true;
    await Promise.allSettled([...this.inFlight]);
    this.release();
    const budget = AbortSignal.timeout(s3TimeoutMs(this.target.client));
    for (let i = 0; i < attempts && !budget.aborted; i++) {
      try {
        await this.target.client.send(
          new AbortMultipartUploadCommand({
            Bucket: this.target.bucket,
            Key: this.target.key,
            UploadId: this.uploadId,
          }),
          { abortSignal: budget },
        );
        return true;
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) return true;
        if (i < attempts - 1 && !budget.aborted) await new Promise((r) => setTimeout(r, 500 * 2 ** i));
      }
    }
    return false;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
    if (this.finished) throw new UploadError(`the upload of ${this.target.key} is over`, this.uploadId);
  }

  private allocate(): Buffer {
    this.allocated++;
    return Buffer.allocUnsafeSlow(this.partSize);
  }

  /** The current buffer is a part: queue it and start it when a slot is free. */
  private seal(): void {
    const partNumber = ++this.partNumber;
    if (partNumber > MAX_PARTS)
      this.failure ??= new UploadError(
        `more than ${MAX_PARTS} parts: raise the part size (--part-size)`,
        this.uploadId,
      );
    this.ready.push({ buffer: this.current!, length: this.filled, partNumber });
    this.current = undefined;
    this.filled = 0;
    this.pump();
  }

  private pump(): void {
    while (this.ready.length > 0 && this.inFlight.size < this.concurrency && !this.failure)
      this.dispatch(this.ready.shift()!);
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private dispatch(part: { buffer: Buffer; length: number; partNumber: number }): void {
    const { buffer, partNumber } = part;
    const body = buffer.subarray(0, part.length);
    const { client, bucket, key } = this.target;
    const checksum = crc32Base64(body);
    const command = new UploadPartCommand({
      Bucket: bucket,
      Key: key,
      UploadId: this.uploadId,
      PartNumber: partNumber,
      Body: body,
      ContentLength: body.length,
      ChecksumCRC32: checksum,
    });
    if (checksum) unsignedPayloadOverHttps(command);
    const p: Promise<void> = client
      .send(command)
      .then((r) => {
        this.done.push({ PartNumber: partNumber, ETag: r.ETag ?? "", ChecksumCRC32: checksum });
      })
      .catch((err: Error) => {
        this.failure ??= new UploadError(
          `uploading part ${partNumber} of ${key} failed: ${describeS3Error(err, client)}`,
          this.uploadId,
        );
      })
      .finally(() => {
        this.inFlight.delete(p);
        this.free.push(buffer);
        this.pump();
        this.notify();
      });
    this.inFlight.add(p);
  }

  private release(): void {
    this.free.length = 0;
    this.ready.length = 0;
    this.current = undefined;
    this.notify();
  }
}
