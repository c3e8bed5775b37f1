// LZF decompression, the format Redis uses for compressed strings in an RDB (`rdbcompression yes`).
// The scanner needs it only for the strings it reads (key names, aux fields); values are skipped.

/** Thrown when compressed data does not decode to the stated length. */
export class LzfError extends Error {}

/**
 * Decompresses `input` into exactly `length` bytes.
 * @throws LzfError when the data is malformed or decodes to another length.
 */
export function lzfDecompress(input: Uint8Array, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    const ctrl = input[ip++];
    if (ctrl < 32) {
      // A literal run of ctrl + 1 bytes.
      const run = ctrl + 1;
      if (op + run > length || ip + run > input.length) throw new LzfError("LZF literal run overflows");
      out.set(input.subarray(ip, ip + run), op);
      ip += run;
      op += run;
    } else {
      // A back reference: length (ctrl >> 5) + 2, extended by a byte when 7; offset in 13 bits.
      let len = ctrl >> 5;
      if (len === 7) {
        if (ip >= input.length) throw new LzfError("LZF reference truncated");
        len += input[ip++];
      }
      if (ip >= input.length) throw new LzfError("LZF reference truncated");
      const ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++];
      len += 2;
      if (ref < 0 || op + len > length) throw new LzfError("LZF reference out of range");
      // Byte by byte: a reference may overlap the bytes it produces.
      for (let k = 0; k < len; k++) out[op++] = out[ref + k];
    }
  }
  if (op !== length) throw new LzfError(`LZF data decodes to ${op} bytes, ${length} expected`);
  return out;
}

/**
 * The first `want` bytes `input` (the start of an LZF stream, possibly cut anywhere) decodes to, or
 * fewer when it ends before: for peeking at the header of a compressed value without its whole data.
 */
export function lzfPrefix(input: Uint8Array, want: number): Buffer {
  const out: number[] = [];
  let ip = 0;
  while (ip < input.length && out.length < want) {
    const ctrl = input[ip++];
    if (ctrl < 32) {
      for (let k = 0; k <= ctrl && ip < input.length; k++) out.push(input[ip++]);
    } else {
      let len = ctrl >> 5;
      if (len === 7) {
        if (ip >= input.length) break;
        len += input[ip++];
      }
      if (ip >= input.length) break;
      const ref = out.length - ((ctrl & 0x1f) << 8) - 1 - input[ip++];
      if (ref < 0) break;
      for (let k = 0; k < len + 2; k++) out.push(out[ref + k]);
    }
  }
  return Buffer.from(out.slice(0, want));
}
