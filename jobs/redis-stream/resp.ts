// The replication stream as commands: an incremental reader of RESP arrays (what a primary sends its
// replicas) that says where each command ends, which database is selected, and whether a transaction
// (MULTI ... EXEC) is open. A point is a safe place to cut the stream when a command has just ended and
// no transaction is open: replaying up to it applies whole commands and whole transactions only.

/** What the reader knows at a point of the stream. */
export interface RespPosition {
  /** The database the next command runs in (-1: not known yet, no SELECT seen). */
  db: number;
  /** Inside MULTI ... EXEC. */
  inMulti: boolean;
}

/** The stream is not RESP as a primary sends it. */
export class RespError extends Error {}

/** One complete command: its name (upper case) and where it ends, relative to everything fed. */
export interface CommandEnd {
  name: string;
  /** Bytes fed up to and including this command. */
  end: number;
  /** A cut after this command is safe (no open transaction). */
  safe: boolean;
  /** The database selected after it. */
  db: number;
}

/** Reads commands from pieces of the stream; keeps only the bytes of the command not yet complete. */
export class RespReader {
  private pending: Buffer = Buffer.alloc(0);
  private consumed = 0;
  private position: RespPosition;

  constructor(start: RespPosition = { db: -1, inMulti: false }) {
    this.position = { ...start };
  }

  /** The state after the last complete command. */
  get state(): RespPosition {
    return { ...this.position };
  }

  /** Bytes fed that belong to no complete command yet. */
  get partial(): number {
    return this.pending.length;
  }

  /**
   * Feeds the next piece; returns every command it completes.
   * @throws RespError for bytes that are not a RESP command.
   */
  feed(piece: Buffer): CommandEnd[] {
    const data = this.pending.length === 0 ? piece : Buffer.concat([this.pending, piece]);
    const ends: CommandEnd[] = [];
    let at = 0;
    for (;;) {
      const parsed = parseCommand(data, at);
      if (!parsed) break;
      at = parsed.next;
      this.apply(parsed.name, parsed.arg1);
      ends.push({
        name: parsed.name,
        end: this.consumed + at,
        safe: !this.position.inMulti,
        db: this.position.db,
      });
    }
    this.consumed += at;
    // Copied: the caller may reuse `piece`.
    this.pending = Buffer.from(data.subarray(at));
    return ends;
  }

  /**
   * Feeds the next piece as `feed` does, but only counts the commands it completes (no names, no ends):
   * the fast path of a check that needs only whole commands and the transaction state.
   * @throws RespError for bytes that are not a RESP command.
   */
  count(piece: Buffer): number {
    let commands = 0;
    let at = 0;
    if (this.pending.length > 0) {
      // The command begun in an earlier piece, completed with as little of this one as it takes (the
      // piece itself is not copied: pieces are a download's chunks, all of the stream's bytes).
      const held = this.pending.length;
      for (let take = Math.min(piece.length, 4096); ; take = Math.min(piece.length, take * 4)) {
        const joined = Buffer.concat([this.pending, piece.subarray(0, take)]);
        const next = skipCommand(joined, 0, this.position);
        if (next >= 0) {
          at = next - held;
          this.consumed += next;
          commands++;
          break;
        }
        if (take === piece.length) {
          this.pending = joined;
          return 0;
        }
      }
    }
    const from = at;
    while (at < piece.length) {
      const next = skipCommand(piece, at, this.position);
      if (next < 0) break;
      at = next;
      commands++;
    }
    this.consumed += at - from;
    // Copied: the caller may reuse `piece`.
    this.pending = Buffer.from(piece.subarray(at));
    return commands;
  }

  private apply(name: string, arg1: string | undefined): void {
    applyEffect(this.position, effectOfName(name), arg1);
  }
}

function lineEnd(b: Buffer, from: number): number {
  const e = b.indexOf("\r\n", from, "latin1");
  return e;
}

/**
 * The decimal number at `from` up to its CRLF (an array or bulk string header), read byte by byte; -1
 * for a header that is not a number; undefined when its line is not complete yet.
 */
function readLength(b: Buffer, from: number): { value: number; next: number } | undefined {
  const value = readCount(b, from);
  return value === -2 ? undefined : { value, next: countEnd };
}

/** Parses one command at `from`; undefined when it is not complete yet. */
function parseCommand(b: Buffer, from: number): { name: string; arg1?: string; next: number } | undefined {
  if (from >= b.length) return undefined;
  if (b[from] === 0x0a) return { name: "", next: from + 1 }; // a bare newline (keep-alive)
  if (b[from] !== 0x2a /* * */) {
    // An inline command (Redis never sends one to a replica, but it is valid RESP).
    const e = lineEnd(b, from);
    if (e < 0) return undefined;
    const words = b.toString("latin1", from, e).trim().split(/\s+/);
    return { name: (words[0] ?? "").toUpperCase(), arg1: words[1], next: e + 2 };
  }
  const header = readLength(b, from + 1);
  if (header === undefined) return undefined;
  const n = header.value;
  if (n < 0) throw new RespError(`bad array header at byte ${from}`);
  let p = header.next;
  let name = "";
  let arg1: string | undefined;
  for (let i = 0; i < n; i++) {
    if (p >= b.length) return undefined;
    if (b[p] !== 0x24 /* $ */) throw new RespError(`bad bulk string header at byte ${p}`);
    const bulk = readLength(b, p + 1);
    if (bulk === undefined) return undefined;
    const len = bulk.value;
    if (len < 0) throw new RespError(`bad bulk string length at byte ${p}`);
    const start = bulk.next;
    if (start + len + 2 > b.length) return undefined;
    if (i === 0) name = b.toString("latin1", start, start + len).toUpperCase();
    // Only SELECT's argument is read (the database); decoding every key would cost the replay's time.
    if (i === 1 && len <= 32 && name === "SELECT") arg1 = b.toString("latin1", start, start + len);
    p = start + len + 2;
  }
  return { name, arg1, next: p };
}

/** Where the last readCount's line ended (the byte after its CRLF, or the stray byte). */
let countEnd = 0;

/**
 * readLength without an object (the skip's hot path): the number, -1 for a header that is not a
 * number, -2 when its line is not complete yet; where it ended in `countEnd`.
 */
function readCount(b: Buffer, from: number): number {
  let value = 0;
  let digits = 0;
  for (let i = from; i < b.length; i++) {
    const c = b[i];
    if (c >= 0x30 && c <= 0x39 && digits < 15) {
      value = value * 10 + (c - 0x30);
      digits++;
    } else if (c === 0x0d) {
      if (i + 1 >= b.length) return -2;
      countEnd = i + 2;
      return digits > 0 && b[i + 1] === 0x0a ? value : -1;
    } else {
      countEnd = i;
      return -1;
    }
  }
  return -2;
}

/** Whether the `word.length` bytes at `at` spell `word` (upper case ASCII) in any case. */
function spells(b: Buffer, at: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if ((b[at + i] & 0xdf) !== word.charCodeAt(i)) return false;
  return true;
}

const OTHER = 0;
const SELECT = 1;
const MULTI = 2;
const ENDS_MULTI = 3;

/** What a command named `name` (upper case) does to the reader's position. */
function effectOfName(name: string): number {
  if (name === "SELECT") return SELECT;
  if (name === "MULTI") return MULTI;
  return name === "EXEC" || name === "DISCARD" ? ENDS_MULTI : OTHER;
}

/** What a command's name, the `len` bytes at `at`, does to the reader's position. */
function effectOf(b: Buffer, at: number, len: number): number {
  if (len === 6 && spells(b, at, "SELECT")) return SELECT;
  if (len === 5 && spells(b, at, "MULTI")) return MULTI;
  if ((len === 4 && spells(b, at, "EXEC")) || (len === 7 && spells(b, at, "DISCARD"))) return ENDS_MULTI;
  return OTHER;
}

/**
 * Skips one command at `from` (as parseCommand reads it, without naming it) and applies it to
 * `position`; returns where it ends, or -1 when it is not complete yet (`position` unchanged).
 * @throws RespError for bytes that are not a RESP command.
 */
function skipCommand(b: Buffer, from: number, position: RespPosition): number {
  if (b[from] !== 0x2a /* * */) {
    // A bare newline or an inline command: rare, read as feed reads it.
    const parsed = parseCommand(b, from);
    if (!parsed) return -1;
    applyEffect(position, effectOfName(parsed.name), parsed.arg1);
    return parsed.next;
  }
  const n = readCount(b, from + 1);
  if (n === -2) return -1;
  if (n < 0) throw new RespError(`bad array header at byte ${from}`);
  let p = countEnd;
  let effect = OTHER;
  let arg1: string | undefined;
  for (let i = 0; i < n; i++) {
    if (p >= b.length) return -1;
    if (b[p] !== 0x24 /* $ */) throw new RespError(`bad bulk string header at byte ${p}`);
    const len = readCount(b, p + 1);
    if (len === -2) return -1;
    if (len < 0) throw new RespError(`bad bulk string length at byte ${p}`);
    const start = countEnd;
    if (start + len + 2 > b.length) return -1;
    if (i === 0) effect = effectOf(b, start, len);
    else if (i === 1 && len <= 32 && effect === SELECT) arg1 = b.toString("latin1", start, start + len);
    p = start + len + 2;
  }
  applyEffect(position, effect, arg1);
  return p;
}

function applyEffect(position: RespPosition, effect: number, arg1: string | undefined): void {
  if (effect === SELECT && arg1 !== undefined) position.db = Number(arg1);
  else if (effect === MULTI) position.inMulti = true;
  else if (effect === ENDS_MULTI) position.inMulti = false;
}

/** A RESP command as bytes (for SELECT and the like written into a replay). */
export function encodeCommand(...args: string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(""));
}
