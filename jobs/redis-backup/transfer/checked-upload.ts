// Moving one object of a backup into S3: chunks from a source (a replication stream, a file) go through
// the RDB check (hash, CRC, scanner) and into a multipart upload, one at a time, so memory stays at the
// upload's part buffers whatever the size. The upload is completed only once the check has passed;
// on any failure it is aborted, so nothing is left under the key.
import type { S3Client } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import { Progress } from "./progress";
import { RdbCheck, type RdbCheckResult } from "../rdb/check";
import type { ScanOptions } from "../rdb/scanner";
import { type PayloadSink, READ_BUFFER_BYTES } from "../replication/stream";
import { MultipartUpload, type UploadedObject } from "./upload";

/** How to upload. */
export interface TransferTarget {
  client: S3Client;
  bucket: string;
  key: string;
  partSize?: number;
  concurrency?: number;
}

/** A failed transfer and whether its upload was cleaned up. */
export class TransferError extends Error {
  constructor(
    readonly cause: Error,
    /** The multipart upload left behind when it could not be aborted. */
    readonly leftUpload: string | undefined,
    /** Bytes that had passed. */
    readonly bytes: number,
  ) {
    super(cause.message);
    this.name = "TransferError";
  }
}

/** Something that delivers bytes to a sink: a replication stream, or any iterable of chunks. */
export interface ByteSource {
  pipe(sink: PayloadSink): Promise<void>;
}

/** A source of the chunks of an iterable (a file read stream), waiting whenever the sink is full. */
export function chunksOf(chunks: AsyncIterable<Buffer> | Iterable<Buffer>): ByteSource {
  return {
    async pipe(sink) {
      for await (const chunk of chunks) if (!sink.write(chunk)) await sink.drained();
    },
  };
}

/** The largest piece a source hands over at once (a replication read, a 1 MiB file read). */
const MAX_PIECE = Math.max(READ_BUFFER_BYTES, 1024 * 1024);

/** Streams an RDB into S3, checking it on the way; completes the upload only if the check passes. */
export async function transferRdb(
  source: ByteSource,
  target: TransferTarget,
  scan: ScanOptions,
  progress?: Progress,
): Promise<{ object: UploadedObject; check: RdbCheckResult }> {
  const check = new RdbCheck(scan);
  return transfer(source, target, check, progress, () => check.finish());
}

/** Streams any file into S3 with its SHA-256 (AOF files of the data-dir method). */
export async function transferFile(
  source: ByteSource,
  target: TransferTarget,
  progress?: Progress,
): Promise<{ object: UploadedObject; check: { bytes: number; sha256: string } }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const sink = {
    write(c: Buffer) {
      hash.update(c);
      bytes += c.length;
    },
  };
  return transfer(source, target, sink, progress, () => ({ bytes, sha256: hash.digest("hex") }));
}

async function transfer<T>(
  source: ByteSource,
  target: TransferTarget,
  inspector: { write(chunk: Buffer): void },
  progress: Progress | undefined,
  finish: () => T,
): Promise<{ object: UploadedObject; check: T }> {
  const upload = await MultipartUpload.start({ ...target });
  try {
    await source.pipe({
      write(chunk) {
        inspector.write(chunk);
        upload.writeSync(chunk);
        progress?.add(chunk.length);
        return upload.canAccept(MAX_PIECE);
      },
      drained: () => upload.whenRoom(MAX_PIECE),
    });
    const check = finish();
    const object = await upload.complete();
    return { object, check };
  } catch (err) {
    const aborted = await upload.abort();
    throw new TransferError(err as Error, aborted ? undefined : upload.uploadId, upload.size);
  } finally {
    progress?.done();
  }
}
