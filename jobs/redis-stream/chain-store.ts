// The stream's objects in the bucket: chain records and segments, listed, read and checked, and
// written create-only (`If-None-Match: *`), so no segment is ever replaced: a second writer of the same
// offset is refused, and a retry of a write that did land finds its own bytes there.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import type { StoreLocation } from "../store/catalog";
import { getBytes, getChunks, getJson, isExistingObjectRefusal, listObjects, putJson } from "../store/s3";
import {
  chainRecordKey,
  type ChainRecord,
  decodeSegment,
  decodeSegmentPieces,
  parseSegmentKey,
  type Segment,
  SegmentError,
  type SegmentHeader,
  type SegmentPieces,
  streamPrefix,
} from "./segment";

/** What the bucket holds of one chain. */
export interface StoredChain {
  chain: number;
  /** Its record, when written. */
  record?: ChainRecord;
  /** Its segments' keys and start offsets, in offset order. */
  segments: { key: string; start: number; size: number }[];
}

/** Every chain in the bucket, oldest first. */
export async function listChains(at: StoreLocation): Promise<StoredChain[]> {
  const byChain = new Map<number, StoredChain>();
  const records: number[] = [];
  const chainOf = (n: number) => {
    let c = byChain.get(n);
    if (!c) byChain.set(n, (c = { chain: n, segments: [] }));
    return c;
  };
  for await (const o of listObjects(at.client, at.bucket, streamPrefix(at.layout.redis))) {
    const seg = parseSegmentKey(at.layout.redis, o.key);
    if (seg) chainOf(seg.chain).segments.push({ key: o.key, start: seg.start, size: o.size });
    const rec = /\/(\d{6})\/chain\.json$/.exec(o.key);
    if (rec && o.key === chainRecordKey(at.layout.redis, Number(rec[1]))) records.push(Number(rec[1]));
  }
  // The records are small and independent: read all at once.
  await Promise.all(
    records.map(async (n) => {
      chainOf(n).record = await getJson<ChainRecord>(
        at.client,
        at.bucket,
        chainRecordKey(at.layout.redis, n),
      );
    }),
  );
  const chains = [...byChain.values()].sort((a, b) => a.chain - b.chain);
  for (const c of chains) c.segments.sort((a, b) => a.start - b.start);
  return chains;
}

/**
 * Reads and checks one segment.
 * @throws SegmentError when it is damaged or not where its key says.
 */
export async function readSegment(at: StoreLocation, key: string): Promise<Segment> {
  const s = decodeSegment(await getBytes(at.client, at.bucket, key), key);
  checkPlace(at, key, s.header);
  return s;
}

/**
 * Reads and checks one segment, its payload left in the chunks it arrived in (see decodeSegmentPieces).
 * @throws SegmentError when it is damaged or not where its key says.
 */
export async function readSegmentPieces(at: StoreLocation, key: string): Promise<SegmentPieces> {
  const s = decodeSegmentPieces(await getChunks(at.client, at.bucket, key), key);
  checkPlace(at, key, s.header);
  return s;
}

function checkPlace(at: StoreLocation, key: string, header: SegmentHeader): void {
  const k = parseSegmentKey(at.layout.redis, key);
  if (!k || k.chain !== header.chain || k.start !== header.start)
    throw new SegmentError(`${key} holds the segment of chain ${header.chain} at offset ${header.start}`);
}

/** Another writer holds the key with other bytes: two streams write the same chain. */
export class SegmentConflictError extends Error {}

/**
 * Writes a segment create-only. A key that already holds exactly these bytes (a retried write that
 * had landed) is fine.
 * @throws SegmentConflictError when it holds other bytes.
 */
export async function putSegment(
  at: StoreLocation,
  key: string,
  body: Buffer,
  sha256: string,
): Promise<void> {
  try {
    await at.client.send(
      new PutObjectCommand({
        Bucket: at.bucket,
        Key: key,
        Body: body,
        ContentType: "application/octet-stream",
        ChecksumSHA256: createHash("sha256").update(body).digest("base64"),
        IfNoneMatch: "*",
      }),
    );
  } catch (err) {
    if (!isExistingObjectRefusal(err)) throw err;
    const there = await readSegment(at, key).catch(() => undefined);
    if (there?.sha256 !== sha256)
      throw new SegmentConflictError(
        `${key} already holds another segment: is a second stream writing to this prefix?`,
      );
  }
}

/** Writes a chain's record create-only. */
export async function putChainRecord(at: StoreLocation, record: ChainRecord): Promise<void> {
  await putJson(at.client, at.bucket, chainRecordKey(at.layout.redis, record.chain), record);
}

export { SegmentError };
