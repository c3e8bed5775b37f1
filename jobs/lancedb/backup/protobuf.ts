// A minimal reader of the protobuf wire format, enough to walk a Lance manifest without a protobuf
// dependency: it yields each field's number and its raw value, and the caller decodes what it knows.

/** One field of a message: varints as bigint (u64 values do not fit a double), length-delimited as bytes. */
export type WireField =
  | { field: number; wire: "varint"; value: bigint }
  | { field: number; wire: "bytes"; value: Uint8Array }
  | { field: number; wire: "fixed64" | "fixed32"; value: Uint8Array };

/** A malformed message (a truncated manifest, a file that is not one). */
export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireFormatError";
  }
}

function readVarint(buf: Uint8Array, at: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i];
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
    shift += 7n;
  }
  throw new WireFormatError(`truncated varint at byte ${at}`);
}

/** The fields of one message, in the order they are encoded. */
export function* wireFields(buf: Uint8Array): Generator<WireField> {
  let at = 0;
  while (at < buf.length) {
    const key = readVarint(buf, at);
    at = key.next;
    const field = Number(key.value >> 3n);
    const wireType = Number(key.value & 7n);
    if (field === 0) throw new WireFormatError(`field number 0 at byte ${at}`);
    switch (wireType) {
      case 0: {
        const v = readVarint(buf, at);
        at = v.next;
        yield { field, wire: "varint", value: v.value };
        break;
      }
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (at + size > buf.length) throw new WireFormatError(`truncated fixed field ${field}`);
        yield { field, wire: wireType === 1 ? "fixed64" : "fixed32", value: buf.subarray(at, at + size) };
        at += size;
        break;
      }
      case 2: {
        const len = readVarint(buf, at);
        at = len.next;
        const end = at + Number(len.value);
        if (end > buf.length) throw new WireFormatError(`field ${field} runs past the end of its message`);
        yield { field, wire: "bytes", value: buf.subarray(at, end) };
        at = end;
        break;
      }
      default:
        throw new WireFormatError(`unsupported wire type ${wireType} for field ${field}`);
    }
  }
}

/** A field's value as a number (u64 values beyond 2^53 are out of range for what Lance stores here). */
export function asNumber(f: WireField): number {
  if (f.wire !== "varint") throw new WireFormatError(`field ${f.field} is not a varint`);
  return Number(f.value);
}

/** A length-delimited field as UTF-8 text. */
export function asString(f: WireField): string {
  if (f.wire !== "bytes") throw new WireFormatError(`field ${f.field} is not length-delimited`);
  return Buffer.from(f.value.buffer, f.value.byteOffset, f.value.byteLength).toString("utf8");
}

/** A length-delimited field's bytes (an embedded message). */
export function asBytes(f: WireField): Uint8Array {
  if (f.wire !== "bytes") throw new WireFormatError(`field ${f.field} is not length-delimited`);
  return f.value;
}
