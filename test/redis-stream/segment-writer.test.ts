// The segment writer against a real s3rver that is slow and refuses one segment for a while: segments
// are written several at a time, the one refused is retried, and the durable position never moves past
// it while it is missing, though later segments already sit in the bucket; once it lands the chain is
// whole (offsets contiguous, each naming the hash of the one before). While too much waits for the
// bucket the link is paused, and resumed once the bucket catches up. A stream started again while the
// hole is open cannot continue the chain over it and begins a new one.
import { S3Server } from "../../harness/s3";
import { listChains, putChainRecord, readSegment } from "../../jobs/redis-stream/chain-store";
import { resumePoint } from "../../jobs/redis-stream/streamer";
import { encodeCommand } from "../../jobs/redis-stream/resp";
import { checkChain } from "../../jobs/redis-stream/segment";
import { type DurableSegment, SegmentWriter } from "../../jobs/redis-stream/segment-writer";
import { layoutOf } from "../../jobs/store/location";
import type { StoreLocation } from "../../jobs/store/catalog";
import { BUCKET } from "../backup/cli";

jest.setTimeout(120_000);

let s3: S3Server;
beforeAll(async () => {
  s3 = await S3Server.start();
  await s3.createBucket(BUCKET);
});
afterAll(async () => {
  await s3?.segmentFaults({}).catch(() => undefined);
  await s3?.cleanup();
});

const REPLID = "b".repeat(40);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function location(prefix: string): StoreLocation {
  const layout = layoutOf(prefix);
  return { client: s3.client(), bucket: BUCKET, prefix, layout };
}

/** `count` SETs of `bytes`-byte values, one segment cut after each `perSegment`. */
function feed(w: SegmentWriter, count: number, bytes: number, perSegment: number): number {
  let sent = 0;
  for (let i = 0; i < count; i++) {
    const c = encodeCommand("SET", `k:${i}`, "v".repeat(bytes));
    w.add(c, Date.now());
    sent += c.length;
    if ((i + 1) % perSegment === 0) w.cut();
  }
  return sent;
}

async function storedChain(at: StoreLocation) {
  const [chain] = await listChains(at);
  return Promise.all(chain.segments.map((s) => readSegment(at, s.key)));
}

it("writes segments concurrently around a refused one without reporting a hole as durable", async () => {
  const at = location("holes");
  await putChainRecord(at, {
    format: "holdfast.redis-stream-chain/1",
    chain: 1,
    replid: REPLID,
    offset: 1000,
    startedAt: new Date().toISOString(),
    cause: "first",
  });
  await s3.segmentFaults({ delayMs: 150, failFirstMs: 2500 });
  const durable: DurableSegment[] = [];
  const w = new SegmentWriter(
    at,
    { chain: 1, replid: REPLID, offset: 1000, prev: null, db: 0 },
    { segmentMs: 60_000, uploads: 4 },
    (s) => durable.push(s),
  );
  const sent = feed(w, 200, 100, 10); // 20 segments
  await pause(1800);
  // The first segment is refused: nothing is durable, though later segments are in the bucket.
  expect(w.durable.offset).toBe(1000);
  expect(durable).toHaveLength(0);
  const [early] = await listChains(at);
  // Written past the hole: the other three of the four at once, no more.
  expect(early.segments).toHaveLength(3);
  expect(early.segments.map((s) => s.start)).not.toContain(1000);
  // A stream started again now could not continue this chain over the hole: it begins a new one.
  expect((await resumePoint(at)).position).toBeUndefined();

  const end = await w.finish();
  expect(end.offset).toBe(1000 + sent);
  // Told in chain order, each once, each following the one before.
  expect(durable.map((d) => d.header.start)).toEqual(
    durable.map((_d, i) => (i === 0 ? 1000 : durable[i - 1].header.end)),
  );
  expect(durable).toHaveLength(20);
  const stored = await storedChain(at);
  expect(stored).toHaveLength(20);
  expect(checkChain(1000, stored)).toBeUndefined();
  expect(stored[stored.length - 1].sha256).toBe(end.prev);
  expect((await resumePoint(at)).position).toMatchObject({ offset: end.offset, prev: end.prev });
  await s3.segmentFaults({});
});

it("pauses the link while more than maxBuffered waits for a slow bucket, and resumes it", async () => {
  const at = location("paused");
  await s3.segmentFaults({ delayMs: 400 });
  const pauses: boolean[] = [];
  const w = new SegmentWriter(
    at,
    { chain: 1, replid: REPLID, offset: 0, prev: null, db: 0 },
    { segmentMs: 60_000, uploads: 2, maxBuffered: 1 << 20 },
    () => undefined,
    (p) => pauses.push(p),
  );
  // 16 segments of about 256 KiB: 4 MiB queued at once against a 1 MiB limit.
  const sent = feed(w, 16 * 64, 4000, 64);
  expect(pauses[0]).toBe(true);
  const end = await w.finish();
  expect(end.offset).toBe(sent);
  expect(pauses[pauses.length - 1]).toBe(false);
  expect(checkChain(0, await storedChain(at))).toBeUndefined();
  await s3.segmentFaults({});
});
