// s3rver for Holdfast's tests, sandbox and benchmarks, started as its own process: `node s3rver.js DIR PORT`.
// Adds what s3rver 3.7 lacks and the tests need:
// - AbortMultipartUpload (DELETE ?uploadId), which s3rver answers with 405: it removes the upload's parts
//   as S3 does, so a test can check a failed backup left no incomplete upload behind;
// - a hold on part uploads: after POST /__faults/hold?afterBytes=N, part uploads past N bytes wait
//   (their bodies unread, so the client's TCP backpressure stops the upload) until POST /__faults/release;
//   with &rdbGets=1 downloads of *.rdb objects wait too. GET /__faults/state says how many requests wait;
// - conditional writes, which s3rver 3.7 ignores: a PutObject or CompleteMultipartUpload with
//   `If-None-Match: *` on a key that holds an object is refused with 412 PreconditionFailed, as S3 does
//   (since August 2024), one such write of a key at a time so two racing writers cannot both create it.
// - a throttle on downloads of *.rdb objects: after POST /__faults/throttle?bytesPerSecond=N their bodies
//   flow at about N bytes a second (0 lifts it), so a test can stop the server in the middle of one.
// - a bucket's versioning and Object Lock as declared settings: s3rver keeps no object versions and
//   answers GetBucketVersioning as S3 does for a bucket never versioned (no Status). After
//   POST /__faults/bucket-settings?bucket=B&versioning=Enabled[&objectLock=GOVERNANCE&days=35] it answers
//   GetBucketVersioning and GetObjectLockConfiguration of B with those settings (it still keeps one
//   version of each object); without objectLock it answers 404 ObjectLockConfigurationNotFoundError, as
//   S3 does for a bucket without Object Lock.
// - faults on stream segment writes (PUT of a *.seg key): after
//   POST /__faults/segments?delayMs=D&failFirstMs=F every such PUT waits D ms before it is handled, and
//   the first segment key put after the call is answered 503 SlowDown for F ms from its first attempt
//   (the others pass), so a test sees a hole in the chain that later segments write around.
"use strict";
const fs = require("fs");
const path = require("path");
const { Transform } = require("stream");
const S3rver = require("s3rver");

const [directory, port] = process.argv.slice(2);
const server = new S3rver({ directory, address: "127.0.0.1", port: Number(port), silent: true });

let holdAfter = Infinity;
let holdRdbGets = false;
let throttleBytesPerSecond = 0;
let partBytes = 0;
let waiting = 0;
let release = null;
let released = Promise.resolve();
let segmentDelayMs = 0;
let segmentFailMs = 0;
/** The segment key that fails, and until when (ms). */
let failingSegment = null;
/** Declared bucket settings, by bucket: { versioning, objectLock, days }. */
const bucketSettings = new Map();
/** Conditional writes under way, by bucket/key: the next one of a key waits for the one before. */
const creating = new Map();

/** Reads and drops a request body S3 refuses without reading (so the client sees the answer, not a reset). */
function drain(req) {
  return new Promise((resolve) => {
    if (req.complete) return resolve();
    req.on("end", resolve);
    req.on("error", resolve);
    req.resume();
  });
}

/** Runs a create-only write: 412 when the key holds an object, else the write, one per key at a time. */
async function createOnly(ctx, bucket, key, next) {
  const id = `${bucket}/${key}`;
  const before = creating.get(id) || Promise.resolve();
  let done;
  const mine = new Promise((resolve) => (done = resolve));
  const chain = before.then(() => mine);
  creating.set(id, chain);
  try {
    await before;
    if (await ctx.store.existsObject(bucket, key)) {
      await drain(ctx.req);
      ctx.status = 412;
      ctx.type = "application/xml";
      ctx.body =
        "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message>" +
        "<Condition>If-None-Match</Condition></Error>";
      return;
    }
    return await next();
  } finally {
    done();
    if (creating.get(id) === chain) creating.delete(id);
  }
}

server.middleware.unshift(async (ctx, next) => {
  if (ctx.path.startsWith("/__faults/")) {
    const what = ctx.path.slice("/__faults/".length);
    if (what === "hold") {
      holdAfter = Number(ctx.query.afterBytes || 0);
      holdRdbGets = ctx.query.rdbGets === "1";
      released = new Promise((resolve) => (release = resolve));
    } else if (what === "throttle") {
      throttleBytesPerSecond = Number(ctx.query.bytesPerSecond || 0);
    } else if (what === "bucket-settings") {
      bucketSettings.set(String(ctx.query.bucket), {
        versioning: ctx.query.versioning ? String(ctx.query.versioning) : "",
        objectLock: ctx.query.objectLock ? String(ctx.query.objectLock) : "",
        days: Number(ctx.query.days || 0),
      });
    } else if (what === "segments") {
      segmentDelayMs = Number(ctx.query.delayMs || 0);
      segmentFailMs = Number(ctx.query.failFirstMs || 0);
      failingSegment = null;
    } else if (what === "release") {
      holdAfter = Infinity;
      holdRdbGets = false;
      if (release) release();
    }
    ctx.body = JSON.stringify({ waiting, partBytes, holding: holdAfter !== Infinity });
    ctx.type = "application/json";
    return;
  }
  const [bucket, ...key] = ctx.path.slice(1).split("/");
  if (
    ctx.method === "GET" &&
    key.join("") === "" &&
    ("versioning" in ctx.query || "object-lock" in ctx.query)
  ) {
    const settings = bucketSettings.get(bucket);
    ctx.type = "application/xml";
    if ("versioning" in ctx.query) {
      if (!settings || !settings.versioning) return next();
      ctx.body = `<VersioningConfiguration><Status>${settings.versioning}</Status></VersioningConfiguration>`;
      return;
    }
    if (!settings || !settings.objectLock) {
      ctx.status = 404;
      ctx.body =
        "<Error><Code>ObjectLockConfigurationNotFoundError</Code><Message>Object Lock configuration does not exist for this bucket</Message></Error>";
      return;
    }
    ctx.body =
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>" +
      `<Mode>${settings.objectLock}</Mode><Days>${settings.days}</Days></DefaultRetention></Rule></ObjectLockConfiguration>`;
    return;
  }
  if (ctx.method === "DELETE" && "uploadId" in ctx.query && key.length > 0) {
    const dir = path.join(directory, bucket, "._S3rver_uploads", String(ctx.query.uploadId));
    if (!fs.existsSync(dir)) {
      ctx.status = 404;
      ctx.type = "application/xml";
      ctx.body =
        "<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>";
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  if (ctx.method === "PUT" && ctx.path.endsWith(".seg")) {
    if (segmentDelayMs > 0) await new Promise((r) => setTimeout(r, segmentDelayMs));
    if (segmentFailMs > 0 && failingSegment === null)
      failingSegment = { key: ctx.path, until: Date.now() + segmentFailMs };
    if (failingSegment && failingSegment.key === ctx.path && Date.now() < failingSegment.until) {
      await drain(ctx.req);
      ctx.status = 503;
      ctx.type = "application/xml";
      ctx.body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
      return;
    }
  }
  const conditional = ctx.get("if-none-match") === "*";
  const isPut = ctx.method === "PUT" && !("partNumber" in ctx.query) && !ctx.get("x-amz-copy-source");
  const isComplete = ctx.method === "POST" && "uploadId" in ctx.query;
  if (conditional && key.length > 0 && (isPut || isComplete))
    return createOnly(ctx, bucket, decodeURIComponent(key.join("/")), next);
  if (ctx.method === "GET" && holdRdbGets && ctx.path.endsWith(".rdb")) {
    waiting++;
    await released;
    waiting--;
  }
  if (ctx.method === "PUT" && "partNumber" in ctx.query && "uploadId" in ctx.query) {
    if (partBytes >= holdAfter) {
      waiting++;
      await released;
      waiting--;
    }
    partBytes += Number(ctx.get("content-length") || 0);
  }
  await next();
  if (ctx.method === "GET" && throttleBytesPerSecond > 0 && ctx.path.endsWith(".rdb") && ctx.body?.pipe) {
    const length = ctx.length;
    ctx.body = ctx.body.pipe(throttled(throttleBytesPerSecond));
    if (length !== undefined) ctx.length = length;
  }
});

/** A pass-through that lets about `rate` bytes a second through, in pieces of a tenth of that. */
function throttled(rate) {
  const piece = Math.max(1, Math.floor(rate / 10));
  return new Transform({
    transform(chunk, _enc, done) {
      const send = (offset) => {
        if (offset >= chunk.length) return done();
        this.push(chunk.subarray(offset, offset + piece));
        setTimeout(() => send(offset + piece), 100);
      };
      send(0);
    },
  });
}

server.run((err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
});
