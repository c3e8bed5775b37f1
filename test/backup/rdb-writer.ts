// A small RDB writer for scanner tests: it builds the encodings Redis 7.0 no longer writes but still
// loads (linked lists, string-scored sorted sets, zipmaps, ziplists, quicklists of ziplists, the
// seconds expire opcode), module values and the types of Redis 7.2, byte by byte, with a valid CRC-64.
// The files it writes for RDB versions 7.0 reads are checked with redis-check-rdb in the tests.
import { Crc64 } from "../../jobs/redis-backup/rdb/crc64";

/** An RDB length. */
export function len(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 255]);
  const b = Buffer.alloc(5);
  b[0] = 0x80;
  b.writeUInt32BE(n, 1);
  return b;
}

/** A 64-bit RDB length (0x81), as module ids are written. */
export function len64(hi: number, lo: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = 0x81;
  b.writeUInt32BE(hi, 1);
  b.writeUInt32BE(lo, 5);
  return b;
}

/** A plain RDB string. */
export function str(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([len(b.length), b]);
}

/** An integer-encoded RDB string (8, 16 or 32 bits). */
export function intStr(n: number): Buffer {
  if (n >= -128 && n <= 127) return Buffer.from([0xc0, n & 255]);
  if (n >= -32768 && n <= 32767) {
    const b = Buffer.alloc(3);
    b[0] = 0xc1;
    b.writeInt16LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0xc2;
  b.writeInt32LE(n, 1);
  return b;
}

/** An LZF-encoded string of `count` times `ch`: one literal and one back reference (exercises both). */
export function lzfRepeat(ch: string, count: number): Buffer {
  if (count < 4 || count > 264) throw new Error("lzfRepeat: 4..264");
  const refLen = count - 1; // bytes copied by the reference
  const l = refLen - 2;
  const data =
    l < 7
      ? Buffer.from([0, ch.charCodeAt(0), (l << 5) | 0, 0])
      : Buffer.from([0, ch.charCodeAt(0), (7 << 5) | 0, l - 7, 0]);
  return Buffer.concat([Buffer.from([0xc3]), len(data.length), len(count), data]);
}

/** A ziplist of small strings and integers (what Redis < 7 wrote for small lists, hashes, sorted sets). */
export function ziplist(items: (string | number)[]): Buffer {
  const entries: Buffer[] = [];
  let prevlen = 0;
  let offset = 10;
  let tail = 10;
  for (const item of items) {
    let body: Buffer;
    if (typeof item === "number") {
      const v = Buffer.alloc(2);
      v.writeInt16LE(item, 0);
      body = Buffer.concat([Buffer.from([0xc0]), v]);
    } else {
      const s = Buffer.from(item);
      if (s.length > 63) throw new Error("ziplist: strings up to 63 bytes");
      body = Buffer.concat([Buffer.from([s.length]), s]);
    }
    const entry = Buffer.concat([Buffer.from([prevlen]), body]);
    tail = offset;
    offset += entry.length;
    prevlen = entry.length;
    entries.push(entry);
  }
  const total = offset + 1;
  const head = Buffer.alloc(10);
  head.writeUInt32LE(total, 0);
  head.writeUInt32LE(items.length === 0 ? 10 : tail, 4);
  head.writeUInt16LE(items.length, 8);
  return Buffer.concat([head, ...entries, Buffer.from([0xff])]);
}

/** A zipmap (Redis < 2.6 small hashes). */
export function zipmap(pairs: [string, string][]): Buffer {
  const parts: Buffer[] = [Buffer.from([pairs.length])];
  for (const [k, v] of pairs)
    parts.push(Buffer.from([k.length]), Buffer.from(k), Buffer.from([v.length, 0]), Buffer.from(v));
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}

/** An intset of 16-bit integers (sorted, unique). */
export function intset(values: number[]): Buffer {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const b = Buffer.alloc(8 + 2 * sorted.length);
  b.writeUInt32LE(2, 0);
  b.writeUInt32LE(sorted.length, 4);
  sorted.forEach((v, i) => b.writeInt16LE(v, 8 + 2 * i));
  return b;
}

/** Builds an RDB file. */
export class RdbWriter {
  private readonly parts: Buffer[] = [];

  constructor(version: number) {
    this.parts.push(Buffer.from(`REDIS${String(version).padStart(4, "0")}`));
  }

  raw(...b: Buffer[]): this {
    this.parts.push(...b);
    return this;
  }

  aux(key: string, value: string | Buffer): this {
    return this.raw(Buffer.from([0xfa]), str(key), Buffer.isBuffer(value) ? value : str(value));
  }

  select(db: number): this {
    return this.raw(Buffer.from([0xfe]), len(db));
  }

  resize(keys: number, expires: number): this {
    return this.raw(Buffer.from([0xfb]), len(keys), len(expires));
  }

  expireMs(at: number): this {
    const b = Buffer.alloc(9);
    b[0] = 0xfc;
    b.writeUInt32LE(at % 2 ** 32, 1);
    b.writeUInt32LE(Math.floor(at / 2 ** 32), 5);
    return this.raw(b);
  }

  expireSeconds(at: number): this {
    const b = Buffer.alloc(5);
    b[0] = 0xfd;
    b.writeInt32LE(at, 1);
    return this.raw(b);
  }

  idle(seconds: number): this {
    return this.raw(Buffer.from([0xf8]), len(seconds));
  }

  freq(counter: number): this {
    return this.raw(Buffer.from([0xf9, counter]));
  }

  /** A key of RDB type `type` whose value is `value` (already encoded). */
  key(type: number, name: string | Buffer, ...value: Buffer[]): this {
    return this.raw(Buffer.from([type]), Buffer.isBuffer(name) ? str(name) : str(name), ...value);
  }

  /** The EOF opcode and the CRC-64 of everything before the trailer. */
  finish(): Buffer {
    const body = Buffer.concat([...this.parts, Buffer.from([0xff])]);
    return Buffer.concat([body, new Crc64().update(body).bytes()]);
  }
}
