// A streaming RDB scanner: reads an RDB as it passes (in chunks of any size, without holding it) and
// records what a backup manifest needs about the dataset — keys per database and type, keys with an
// expire time, key counts for glob patterns, aux fields (Redis version, replication offset), functions
// and module types. It reads each entry's opcode, type and key and skips the value, for every type and
// encoding Redis 2.0–8.0 and Valkey 7.2–8.1 write (RDB versions 1 to 12: hash field TTLs included). A
// key Redis would drop on load (an empty list, set, sorted set or hash) is counted apart, not as a key.
// Anything it cannot parse in a version it knows is an error: a manifest must describe exactly the RDB
// stored, or not be written. An RDB of a version it does not know (a newer Redis, Valkey's own VALKEY0NN
// numbering) is not parsed at all: the scanner only records its version and `unread`, and the caller
// falls back to what it can check without reading the content (docs/engines.md, "RDB formats").
import { keyMatcher } from "./glob";
import { lzfDecompress, lzfPrefix } from "./lzf";

/** Thrown for an RDB the scanner cannot read: corrupt, truncated, or of a version or type it does not know. */
export class RdbFormatError extends Error {
  constructor(
    message: string,
    /** Byte offset in the RDB where the problem is. */
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset} of the RDB)`);
    this.name = "RdbFormatError";
  }
}

/** The newest RDB version the scanner knows (Redis 7.4 to 8.0). */
export const MAX_RDB_VERSION = 12;

/**
 * The newest version this scanner reads: MAX_RDB_VERSION, or lower with HOLDFAST_RDB_SCANNER_MAX (to
 * see the rule for unknown formats at work on an engine of today: it pretends this Holdfast is older).
 */
function readableVersion(): number {
  const lower = Number(process.env.HOLDFAST_RDB_SCANNER_MAX);
  return lower > 0 && lower < MAX_RDB_VERSION ? lower : MAX_RDB_VERSION;
}

/** Counts of one database. */
export interface DatabaseSummary {
  /** Keys in the RDB (DBSIZE of a server that loads it, before expired keys are dropped). */
  keys: number;
  /** Keys with an expire time. */
  expires: number;
  /**
   * Hashes stored in an encoding of fields with their own TTL (HEXPIRE was used on them): such a hash
   * vanishes once every field has expired, so a later count may be lower.
   */
  fieldExpires?: number;
  /** Empty keys Redis drops when it loads the RDB (not counted in `keys`, types or patterns). */
  empty?: number;
  /** Keys by type: string, list, set, zset, hash, stream, or a module type's name (vectorset). */
  types: Record<string, number>;
  /** Keys matching each pattern. */
  patterns: Record<string, number>;
}

/** What the scanner learned about an RDB. */
export interface RdbSummary {
  rdbVersion: number;
  /** The header's magic: REDIS, or VALKEY (Valkey 9 and later). */
  magic: "REDIS" | "VALKEY";
  /**
   * Set when the scanner did not read the content (a format newer than it knows): why. The counts are
   * then zero and mean nothing.
   */
  unread?: string;
  /** Aux fields (redis-ver, redis-bits, ctime, used-mem, repl-id, repl-offset, aof-base, ...). */
  aux: Record<string, string>;
  /** Per database index ("0", "1", ...), only databases with keys. */
  databases: Record<string, DatabaseSummary>;
  /** Keys in all databases. */
  keys: number;
  /** Keys matching each pattern in all databases. */
  patterns: Record<string, number>;
  /** Function libraries (FUNCTION LOAD). */
  functions: number;
  /** Names of module types whose values or aux data the RDB holds. */
  modules: string[];
  /** Bytes of the RDB, checksum included. */
  bytes: number;
  /** Empty keys in all databases (dropped by a load; see DatabaseSummary.empty). */
  emptyKeys: number;
}

/** Keys whose expire time falls in a window, by second, so a later check knows how many a load drops. */
export class ExpiryWindow {
  /** Keys that had expired at `from`. */
  expired = 0;
  /** Keys expiring after `from + horizonMs`. */
  later = 0;
  private readonly bySecond = new Map<number, number>();

  constructor(
    readonly from: number,
    readonly horizonMs: number,
  ) {}

  add(expireAtMs: number): void {
    if (expireAtMs <= this.from) this.expired++;
    else if (expireAtMs > this.from + this.horizonMs) this.later++;
    else {
      const s = Math.floor(expireAtMs / 1000);
      this.bySecond.set(s, (this.bySecond.get(s) ?? 0) + 1);
    }
  }

  /**
   * Keys expired at `at` (ms). Counted by whole seconds, so the answer may be off by the keys expiring
   * in the second of `at`; callers compare with a range.
   */
  expiredAt(at: number): number {
    let n = this.expired;
    const s = Math.floor(at / 1000);
    for (const [sec, count] of this.bySecond) if (sec <= s) n += count;
    if (at > this.from + this.horizonMs) n += this.later;
    return n;
  }
}

/** Options of a scan. */
export interface ScanOptions {
  /** Glob patterns (Redis syntax) to count keys for. */
  patterns?: string[];
  /**
   * When set (ms since the epoch), expire times are bucketed from this moment for `expiryHorizonMs`,
   * per database and per pattern, so a restore check can tell which keys a load may drop.
   */
  expiryFrom?: number;
  /** How far the expiry buckets reach. Default one hour. */
  expiryHorizonMs?: number;
}

// RDB opcodes.
const OP_SLOT_INFO = 0xf4;
const OP_FUNCTION_PRE_GA = 0xf6;
const OP_FUNCTION2 = 0xf5;
const OP_MODULE_AUX = 0xf7;
const OP_IDLE = 0xf8;
const OP_FREQ = 0xf9;
const OP_AUX = 0xfa;
const OP_RESIZEDB = 0xfb;
const OP_EXPIRETIME_MS = 0xfc;
const OP_EXPIRETIME = 0xfd;
const OP_SELECTDB = 0xfe;
const OP_EOF = 0xff;

// Steps of the value programs the scanner runs to skip a value.
const STR = 1; // a string, skipped
const LEN = 2; // a length-encoded integer
const RAW8 = 3; // 8 raw bytes (a binary double, a millisecond time)
const RAW16 = 4; // 16 raw bytes (a stream id)
const DSTR = 5; // an old-style double: a length byte (253..255 for nan/inf) and that many bytes
const MODID = 6; // a module type id (recorded)
const MODOPS = 7; // module values, each after its opcode, until the EOF opcode
const RAW4 = 8; // 4 raw bytes (a binary float)
// Encoded blobs whose element count the scanner peeks at, to know an empty key: a listpack, a
// ziplist, an intset, a zipmap. Skipped like STR.
const LISTPACK = 9;
const ZIPLIST = 10;
const INTSET = 11;
const ZIPMAP = 12;
const HASH_TTL = 13; // a hash field's TTL (a length), 0 for none: marks the key as having field TTLs
const FIELD_TTLS = 14; // no bytes: the hash is of an encoding that holds field TTLs
const CONTAINER = 15; // a quicklist 2 node's container: 1 a plain element, 2 a listpack
type Step = number | Step[]; // an array is a repetition: read a length N, run the inner steps N times

const STREAM_CONSUMER_V1: Step[] = [STR, RAW8, [RAW16]];
const STREAM_CONSUMER_V3: Step[] = [STR, RAW8, RAW8, [RAW16]];
const STREAM_PEL: Step[] = [RAW16, RAW8, LEN];

/**
 * How to skip the value of each RDB type, and the type's name. `elements` says how an empty value shows:
 * a first repetition of 0 (`count`), encoded blobs all of 0 elements (`blobs`); never for the others.
 */
const TYPES: Record<number, { name: string; steps: Step[]; elements?: "count" | "blobs" }> = {
  0: { name: "string", steps: [STR] },
  1: { name: "list", steps: [[STR]], elements: "count" },
  2: { name: "set", steps: [[STR]], elements: "count" },
  3: { name: "zset", steps: [[STR, DSTR]], elements: "count" },
  4: { name: "hash", steps: [[STR, STR]], elements: "count" },
  5: { name: "zset", steps: [[STR, RAW8]], elements: "count" },
  7: { name: "module", steps: [MODID, MODOPS] },
  9: { name: "hash", steps: [ZIPMAP], elements: "blobs" },
  10: { name: "list", steps: [ZIPLIST], elements: "blobs" },
  11: { name: "set", steps: [INTSET], elements: "blobs" },
  12: { name: "zset", steps: [ZIPLIST], elements: "blobs" },
  13: { name: "hash", steps: [ZIPLIST], elements: "blobs" },
  14: { name: "list", steps: [[ZIPLIST]], elements: "blobs" }, // quicklist of ziplists
  15: {
    name: "stream",
    steps: [[STR, STR], LEN, LEN, LEN, [STR, LEN, LEN, [...STREAM_PEL], [...STREAM_CONSUMER_V1]]],
  },
  16: { name: "hash", steps: [LISTPACK], elements: "blobs" },
  17: { name: "zset", steps: [LISTPACK], elements: "blobs" },
  // Quicklist 2: per node its container (1 a plain element, 2 a listpack) and the node.
  18: { name: "list", steps: [[CONTAINER, LISTPACK]], elements: "blobs" },
  19: {
    name: "stream",
    steps: [
      [STR, STR],
      ...[LEN, LEN, LEN, LEN, LEN, LEN, LEN, LEN],
      [STR, LEN, LEN, LEN, [...STREAM_PEL], [...STREAM_CONSUMER_V1]],
    ],
  },
  20: { name: "set", steps: [LISTPACK], elements: "blobs" },
  21: {
    name: "stream",
    steps: [
      [STR, STR],
      ...[LEN, LEN, LEN, LEN, LEN, LEN, LEN, LEN],
      [STR, LEN, LEN, LEN, [...STREAM_PEL], [...STREAM_CONSUMER_V3]],
    ],
  },
  // Hashes with field TTLs (Redis 7.4+): per field its TTL, the field and the value; the GA formats
  // start with the hash's smallest field expire time. The listpack forms hold field, value, TTL triplets.
  22: { name: "hash", steps: [[HASH_TTL, STR, STR]], elements: "count" },
  23: { name: "hash", steps: [FIELD_TTLS, LISTPACK], elements: "blobs" },
  24: { name: "hash", steps: [RAW8, [HASH_TTL, STR, STR]], elements: "count" },
  25: { name: "hash", steps: [FIELD_TTLS, RAW8, LISTPACK], elements: "blobs" },
};

/** The 64 characters of module type names, 6 bits each (moduleTypeNameByID in module.c). */
const MODULE_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function moduleName(hi: number, lo: number): string {
  // 9 characters of 6 bits above a 10-bit encoding version: 64 bits in all.
  let id = (BigInt(hi) << 32n) | BigInt(lo);
  id >>= 10n;
  let name = "";
  for (let i = 0; i < 9; i++) {
    name = MODULE_CHARSET[Number(id & 63n)] + name;
    id >>= 6n;
  }
  return name;
}

interface Frame {
  steps: Step[];
  pc: number;
  /** Repetitions left, the current one included. */
  left: number;
}

const enum State {
  Header,
  Top,
  Value,
  Trailer,
  Done,
  /** A format the scanner does not know: every byte is passed over unread. */
  Unread,
}

/** The bytes of an encoded blob's header that hold its element count, and where the count is. */
const BLOB_HEADS: Record<number, { bytes: number; count: (head: Buffer) => number | undefined }> = {
  // total bytes (4), elements (2; 65535 when there are more)
  [LISTPACK]: { bytes: 6, count: (h) => (h.readUInt16LE(4) === 0xffff ? undefined : h.readUInt16LE(4)) },
  // total bytes (4), offset of the tail (4), entries (2; 65535 when there are more)
  [ZIPLIST]: { bytes: 10, count: (h) => (h.readUInt16LE(8) === 0xffff ? undefined : h.readUInt16LE(8)) },
  // encoding (4), entries (4)
  [INTSET]: { bytes: 8, count: (h) => h.readUInt32LE(4) },
  // pairs (1; 254 and above when there are more)
  [ZIPMAP]: { bytes: 1, count: (h) => (h[0] >= 254 ? undefined : h[0]) },
};

/** The key whose value is being read: counted once the value shows whether Redis keeps it. */
interface PendingKey {
  typeName: string;
  elements?: "count" | "blobs";
  expireAt?: number;
  /** Indexes of the patterns the key matches. */
  matched: number[];
  /** The value holds at least one element. */
  filled: boolean;
  /** The first repetition of the value was read. */
  counted: boolean;
  /** A hash with field TTLs. */
  fieldTtls: boolean;
}

/**
 * Scans one RDB; feed it with `write` and call `end` when the stream ends. It never holds on to a chunk
 * after `write` returns (a reader may reuse its buffer).
 */
export class RdbScanner {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Chunks that arrived while the scanner needed more contiguous bytes than it had. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Contiguous bytes the scanner waits for before it can go on. */
  private need = 0;
  /** Bytes of the stream before `buf`. */
  private base = 0;
  /** Bytes of a value still to skip. */
  private skip = 0;
  private state = State.Header;
  private frames: Frame[] = [];
  private version = 0;
  private db = 0;
  private pendingKey: PendingKey | undefined;
  /** The container of the quicklist node being read (1 plain, 2 a listpack). */
  private container = 2;
  private expireAt: number | undefined;
  private readonly matchers: { pattern: string; match: (key: Uint8Array) => boolean }[];
  private readonly summary: RdbSummary;
  private readonly modules = new Set<string>();
  private readonly windows = new Map<string, ExpiryWindow>();
  /** How often some opcodes and encodings were met (for tests that the fixtures cover them). */
  readonly stats = {
    freq: 0,
    idle: 0,
    expireSeconds: 0,
    moduleAux: 0,
    lzfKeys: 0,
    slotInfo: 0,
    /** Keys by RDB type id (the encodings the file holds). */
    typeIds: {} as Record<number, number>,
  };
  // Results of the last len / strHeader / readString (fields rather than objects: no allocation per key).
  private lv = 0;
  private lhi = 0;
  private llo = 0;
  private sPayload = 0;
  private sLzf = -1;
  private sInt = 0;
  private sValue: Buffer = Buffer.alloc(0);

  constructor(private readonly options: ScanOptions = {}) {
    this.matchers = (options.patterns ?? []).map((pattern) => ({ pattern, match: keyMatcher(pattern) }));
    this.summary = {
      rdbVersion: 0,
      magic: "REDIS",
      aux: {},
      databases: {},
      keys: 0,
      patterns: Object.fromEntries((options.patterns ?? []).map((p) => [p, 0])),
      functions: 0,
      modules: [],
      bytes: 0,
      emptyKeys: 0,
    };
  }

  /** Feeds the next bytes of the RDB. @throws RdbFormatError */
  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.summary.bytes += chunk.length;
    if (this.state === State.Done) throw this.error("data after the end of the RDB", 0);
    if (this.state === State.Unread) return;
    const left = this.buf.length - this.pos;
    if (left === 0 && this.pendingBytes === 0) {
      this.base += this.buf.length;
      this.buf = chunk;
      this.pos = 0;
    } else {
      // Kept beyond this call: copied, the caller may reuse its buffer.
      this.pending.push(Buffer.from(chunk));
      this.pendingBytes += chunk.length;
      if (left + this.pendingBytes < this.need) return;
      this.base += this.pos;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.pending]);
      this.pos = 0;
      this.pending = [];
      this.pendingBytes = 0;
    }
    this.run();
    if (this.pos < this.buf.length && this.buf.buffer === chunk.buffer) {
      // An item continues in the next chunk: keep a copy of its start, never the caller's buffer.
      this.base += this.pos;
      this.buf = Buffer.from(this.buf.subarray(this.pos));
      this.pos = 0;
    }
  }

  /** Ends the scan. @throws RdbFormatError when the RDB is incomplete. */
  end(): RdbSummary {
    if (this.state !== State.Done && this.state !== State.Unread)
      throw this.error(
        this.summary.bytes === 0 ? "the RDB is empty" : "the RDB ends early (truncated)",
        this.buf.length + this.pendingBytes,
      );
    this.summary.modules = [...this.modules].sort();
    return this.summary;
  }

  /** Whether the scanner has read the RDB to its end (the EOF opcode and checksum). */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** The RDB version of the header, once read (0 before). */
  get rdbVersion(): number {
    return this.version;
  }

  /** Whether the content is passed over unread (a format the scanner does not know). */
  get unread(): boolean {
    return this.state === State.Unread;
  }

  /**
   * The expiry buckets of database `db` (and pattern, when given); only with `expiryFrom`.
   * Empty when the database has no key with an expire time.
   */
  expiries(db: string, pattern?: string): ExpiryWindow {
    const w = this.windows.get(pattern === undefined ? db : `${db}\u0000${pattern}`);
    return w ?? new ExpiryWindow(this.options.expiryFrom ?? 0, this.options.expiryHorizonMs ?? 3600_000);
  }

  private error(message: string, at = this.pos): RdbFormatError {
    return new RdbFormatError(message, this.base + at);
  }

  private get avail(): number {
    return this.buf.length - this.pos;
  }

  /**
   * Reads a length at `p` into `lv` (and its 32-bit halves into `lhi`/`llo`); returns where the next
   * item starts, or -1 when the bytes are not all here yet. No allocation: this runs for every key.
   */
  private len(p: number): number {
    const b = this.buf;
    if (p >= b.length) return -1;
    const first = b[p];
    const kind = first >> 6;
    if (kind === 0) {
      this.lv = this.llo = first & 0x3f;
      this.lhi = 0;
      return p + 1;
    }
    if (kind === 1) {
      if (p + 2 > b.length) return -1;
      this.lv = this.llo = ((first & 0x3f) << 8) | b[p + 1];
      this.lhi = 0;
      return p + 2;
    }
    if (first === 0x80) {
      if (p + 5 > b.length) return -1;
      this.lv = this.llo = b.readUInt32BE(p + 1);
      this.lhi = 0;
      return p + 5;
    }
    if (first === 0x81) {
      if (p + 9 > b.length) return -1;
      this.lhi = b.readUInt32BE(p + 1);
      this.llo = b.readUInt32BE(p + 5);
      this.lv = this.lhi * 2 ** 32 + this.llo;
      return p + 9;
    }
    throw this.error(`unexpected length encoding 0x${first.toString(16)}`, p);
  }

  /**
   * Reads a string header at `p`: `sPayload` bytes follow, LZF data of `sLzf` uncompressed bytes when
   * `sLzf` >= 0, an integer of `sInt` bytes when `sInt` > 0. Returns where the payload starts, or -1.
   */
  private strHeader(p: number): number {
    const b = this.buf;
    if (p >= b.length) return -1;
    const first = b[p];
    this.sLzf = -1;
    this.sInt = 0;
    if (first >> 6 !== 3) {
      const next = this.len(p);
      this.sPayload = this.lv;
      return next;
    }
    const enc = first & 0x3f;
    if (enc <= 2) {
      this.sInt = this.sPayload = enc === 0 ? 1 : enc === 1 ? 2 : 4;
      return p + 1;
    }
    if (enc === 3) {
      const afterClen = this.len(p + 1);
      if (afterClen < 0) return -1;
      const clen = this.lv;
      const next = this.len(afterClen);
      if (next < 0) return -1;
      this.sLzf = this.lv;
      this.sPayload = clen;
      return next;
    }
    throw this.error(`unknown string encoding ${enc}`, p);
  }

  /**
   * Reads a whole string at `p` (a key, an aux field) into `sValue` (a view of the buffer unless it had
   * to be decoded); returns where the next item starts, or -1 when not all of it is here.
   */
  private readString(p: number): number {
    const start = this.strHeader(p);
    if (start < 0) {
      // `need` must never exceed what the item takes: one more byte may complete the header.
      this.need = Math.max(this.need, this.avail + 1);
      return -1;
    }
    const end = start + this.sPayload;
    if (end > this.buf.length) {
      this.need = end - this.pos;
      return -1;
    }
    const raw = this.buf.subarray(start, end);
    if (this.sInt === 1) this.sValue = Buffer.from(String(raw.readInt8(0)));
    else if (this.sInt === 2) this.sValue = Buffer.from(String(raw.readInt16LE(0)));
    else if (this.sInt === 4) this.sValue = Buffer.from(String(raw.readInt32LE(0)));
    else if (this.sLzf >= 0) {
      try {
        this.sValue = lzfDecompress(raw, this.sLzf);
      } catch (err) {
        throw this.error((err as Error).message, start);
      }
    } else this.sValue = raw;
    return end;
  }

  private run(): void {
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.avail);
        this.pos += n;
        this.skip -= n;
        if (this.skip > 0) return;
      }
      this.need = 0;
      let progressed: boolean;
      switch (this.state) {
        case State.Header:
          progressed = this.header();
          break;
        case State.Top:
          progressed = this.top();
          break;
        case State.Value:
          progressed = this.value();
          break;
        case State.Unread:
          this.pos = this.buf.length;
          return;
        case State.Trailer:
          // RDB 5 added the CRC-64 trailer; older files end at the EOF opcode.
          if (this.version < 5) {
            this.state = State.Done;
            if (this.avail > 0) throw this.error("data after the end of the RDB");
            return;
          }
          if (this.avail < 8) {
            this.need = 8;
            return;
          }
          this.pos += 8;
          this.state = State.Done;
          if (this.avail > 0) throw this.error("data after the end of the RDB");
          return;
        default:
          return;
      }
      if (!progressed) {
        if (this.need === 0) this.need = this.avail + 1;
        return;
      }
    }
  }

  private header(): boolean {
    if (this.avail < 9) {
      this.need = 9;
      return false;
    }
    // REDIS and 4 digits; Valkey 9 and later write VALKEY and 3 digits (version 80 on).
    const head = this.buf.toString("latin1", this.pos, this.pos + 9);
    const m = /^(?:REDIS(\d{4})|VALKEY(\d{3}))$/.exec(head);
    if (!m) throw this.error("not an RDB file (no REDIS or VALKEY header)");
    this.version = Number(m[1] ?? m[2]);
    this.summary.rdbVersion = this.version;
    this.summary.magic = m[1] ? "REDIS" : "VALKEY";
    this.pos += 9;
    if (m[1] && this.version >= 1 && this.version <= readableVersion()) {
      this.state = State.Top;
      return true;
    }
    this.summary.unread = `RDB version ${this.version}${m[2] ? " (Valkey's numbering)" : ""} unknown to this Holdfast (it reads 1 to ${readableVersion()})`;
    this.state = State.Unread;
    this.pos = this.buf.length;
    return false;
  }

  private database(): DatabaseSummary {
    const key = String(this.db);
    let d = this.summary.databases[key];
    if (!d) {
      d = {
        keys: 0,
        expires: 0,
        types: {},
        patterns: Object.fromEntries(this.matchers.map((m) => [m.pattern, 0])),
      };
      this.summary.databases[key] = d;
    }
    return d;
  }

  private window(key: string): ExpiryWindow {
    let w = this.windows.get(key);
    if (!w) {
      w = new ExpiryWindow(this.options.expiryFrom ?? 0, this.options.expiryHorizonMs ?? 3600_000);
      this.windows.set(key, w);
    }
    return w;
  }

  /** One top-level item: an opcode with its operands, or a key with the start of its value. */
  private top(): boolean {
    const p = this.pos;
    if (p >= this.buf.length) return false;
    const op = this.buf[p];
    switch (op) {
      case OP_EOF:
        this.pos = p + 1;
        this.state = State.Trailer;
        return true;
      case OP_SELECTDB: {
        const next = this.len(p + 1);
        if (next < 0) return false;
        this.db = this.lv;
        this.pos = next;
        return true;
      }
      case OP_SLOT_INFO: {
        // Cluster mode: slot id, keys and expires in the slot.
        const a = this.len(p + 1);
        const b = a < 0 ? -1 : this.len(a);
        const next = b < 0 ? -1 : this.len(b);
        if (next < 0) return false;
        this.stats.slotInfo++;
        this.pos = next;
        return true;
      }
      case OP_RESIZEDB: {
        const a = this.len(p + 1);
        const next = a < 0 ? -1 : this.len(a);
        if (next < 0) return false;
        this.pos = next;
        return true;
      }
      case OP_EXPIRETIME_MS:
        if (this.avail < 9) return false;
        this.expireAt = this.buf.readUInt32LE(p + 5) * 2 ** 32 + this.buf.readUInt32LE(p + 1);
        this.pos = p + 9;
        return true;
      case OP_EXPIRETIME:
        if (this.avail < 5) return false;
        this.expireAt = this.buf.readInt32LE(p + 1) * 1000;
        this.stats.expireSeconds++;
        this.pos = p + 5;
        return true;
      case OP_FREQ:
        if (this.avail < 2) return false;
        this.stats.freq++;
        this.pos = p + 2;
        return true;
      case OP_IDLE: {
        const next = this.len(p + 1);
        if (next < 0) return false;
        this.stats.idle++;
        this.pos = next;
        return true;
      }
      case OP_AUX:
        return this.aux(p);
      case OP_MODULE_AUX:
        this.stats.moduleAux++;
        this.pos = p + 1;
        this.push([MODID, MODOPS]);
        return true;
      case OP_FUNCTION2:
        this.summary.functions++;
        this.pos = p + 1;
        this.push([STR]);
        return true;
      case OP_FUNCTION_PRE_GA:
        throw this.error("functions in the pre-release format of Redis 7.0 RC are not supported", p);
      default:
        return this.keyStart(p, op);
    }
  }

  /** An aux field (name and value); a large value is recorded by size and skipped. */
  private aux(p: number): boolean {
    const afterName = this.readString(p + 1);
    if (afterName < 0) return false;
    const name = this.sValue.toString("utf8");
    if (this.strHeader(afterName) < 0) return false;
    if (this.sPayload > 1 << 20) {
      // A large aux value (old versions stored Lua scripts here): recorded by size, skipped.
      this.summary.aux[name] = `(${this.sPayload} bytes)`;
      this.pos = afterName;
      this.push([STR]);
      return true;
    }
    const next = this.readString(afterName);
    if (next < 0) return false;
    this.summary.aux[name] = this.sValue.toString("utf8");
    this.pos = next;
    return true;
  }

  /** The start of a key: its type, name and the patterns it matches, then its value's first steps. */
  private keyStart(p: number, op: number): boolean {
    const type = TYPES[op];
    if (!type) throw this.error(`unknown RDB type or opcode ${op}`, p);
    const afterKey = this.readString(p + 1);
    if (afterKey < 0) return false;
    if (this.sLzf >= 0) this.stats.lzfKeys++;
    this.stats.typeIds[op] = (this.stats.typeIds[op] ?? 0) + 1;
    const matched: number[] = [];
    for (let i = 0; i < this.matchers.length; i++) if (this.matchers[i].match(this.sValue)) matched.push(i);
    const key: PendingKey = {
      typeName: type.name,
      elements: type.elements,
      expireAt: this.expireAt,
      matched,
      filled: false,
      counted: false,
      fieldTtls: false,
    };
    this.expireAt = undefined;
    this.pos = afterKey;
    if (type.steps.length === 1 && type.steps[0] === STR) {
      // Fast path for strings: never empty, counted at once.
      this.countKey(key);
      const start = this.strHeader(afterKey);
      if (start >= 0) {
        this.pos = start;
        this.skip = this.sPayload;
        return true;
      }
      this.push(type.steps);
      return true;
    }
    this.pendingKey = key;
    this.push(type.steps);
    return true;
  }

  /** Counts a key whose value was read: as a key, or as an empty key Redis drops on load. */
  private countKey(k: PendingKey): void {
    const d = this.database();
    if (k.elements && !k.filled) {
      d.empty = (d.empty ?? 0) + 1;
      this.summary.emptyKeys++;
      return;
    }
    d.keys++;
    this.summary.keys++;
    d.types[k.typeName] = (d.types[k.typeName] ?? 0) + 1;
    if (k.fieldTtls) d.fieldExpires = (d.fieldExpires ?? 0) + 1;
    const tracking = this.options.expiryFrom !== undefined;
    const db = String(this.db);
    if (k.expireAt !== undefined) {
      d.expires++;
      if (tracking) this.window(db).add(k.expireAt);
    }
    for (const i of k.matched) {
      const pattern = this.matchers[i].pattern;
      d.patterns[pattern]++;
      this.summary.patterns[pattern]++;
      if (tracking && k.expireAt !== undefined) this.window(`${db}\u0000${pattern}`).add(k.expireAt);
    }
  }

  private push(steps: Step[]): void {
    this.frames.push({ steps, pc: 0, left: 1 });
    this.state = State.Value;
  }

  /**
   * An encoded blob: its element count is peeked at (the first bytes, decompressed when LZF) to know
   * whether the key is empty, then it is skipped like any string.
   */
  private blob(kind: number, f: Frame): boolean {
    const p = this.pos;
    const start = this.strHeader(p);
    if (start < 0) return false;
    const k = this.pendingKey;
    if (k && !k.filled) {
      if (kind === LISTPACK && this.container === 1)
        k.filled = true; // a plain quicklist element
      else if (this.sInt > 0) k.filled = true;
      else {
        const head = BLOB_HEADS[kind];
        // LZF needs a few more compressed bytes than it yields; 64 cover any header.
        const n = Math.min(this.sPayload, this.sLzf >= 0 ? 64 : head.bytes);
        if (start + n > this.buf.length) {
          this.need = start + n - this.pos;
          return false;
        }
        const raw = this.buf.subarray(start, start + n);
        const bytes = this.sLzf >= 0 ? lzfPrefix(raw, head.bytes) : raw;
        const count = bytes.length >= head.bytes ? head.count(bytes) : undefined;
        if (count !== 0) k.filled = true;
      }
    }
    this.container = 2;
    this.pos = start;
    this.skip = this.sPayload;
    f.pc++;
    return true;
  }

  /** One step of the value being skipped. */
  private value(): boolean {
    const f = this.frames[this.frames.length - 1];
    if (!f) {
      if (this.pendingKey) this.countKey(this.pendingKey);
      this.pendingKey = undefined;
      this.state = State.Top;
      return true;
    }
    if (f.pc === f.steps.length) {
      if (--f.left > 0) f.pc = 0;
      else this.frames.pop();
      return true;
    }
    const step = f.steps[f.pc];
    const p = this.pos;
    if (Array.isArray(step)) {
      const next = this.len(p);
      if (next < 0) return false;
      this.pos = next;
      f.pc++;
      const k = this.pendingKey;
      if (k && !k.counted) {
        k.counted = true;
        if (k.elements === "count" && this.lv > 0) k.filled = true;
      }
      if (this.lv > 0) this.frames.push({ steps: step, pc: 0, left: this.lv });
      return true;
    }
    switch (step) {
      case STR: {
        const start = this.strHeader(p);
        if (start < 0) return false;
        this.pos = start;
        this.skip = this.sPayload;
        f.pc++;
        return true;
      }
      case LEN:
      case HASH_TTL:
      case CONTAINER: {
        const next = this.len(p);
        if (next < 0) return false;
        this.pos = next;
        if (step === HASH_TTL && this.lv !== 0 && this.pendingKey) this.pendingKey.fieldTtls = true;
        if (step === CONTAINER) this.container = this.lv;
        f.pc++;
        return true;
      }
      case FIELD_TTLS:
        if (this.pendingKey) this.pendingKey.fieldTtls = true;
        f.pc++;
        return true;
      case LISTPACK:
      case ZIPLIST:
      case INTSET:
      case ZIPMAP:
        return this.blob(step, f);
      case RAW4:
      case RAW8:
      case RAW16:
        this.skip = step === RAW4 ? 4 : step === RAW8 ? 8 : 16;
        f.pc++;
        return true;
      case DSTR: {
        if (p >= this.buf.length) return false;
        const len = this.buf[p];
        this.pos = p + 1;
        if (len < 253) this.skip = len;
        f.pc++;
        return true;
      }
      case MODID: {
        const next = this.len(p);
        if (next < 0) return false;
        const name = moduleName(this.lhi, this.llo);
        this.modules.add(name);
        // A module value's type is its module type's name, as TYPE answers (vectorset, ReJSON-RL...).
        if (this.pendingKey?.typeName === "module") this.pendingKey.typeName = name;
        this.pos = next;
        f.pc++;
        return true;
      }
      case MODOPS: {
        // RDB_MODULE_OPCODE_*: 0 EOF, 1 signed int, 2 unsigned int, 3 float, 4 double, 5 string.
        const next = this.len(p);
        if (next < 0) return false;
        this.pos = next;
        const code = this.lv;
        if (code === 0) f.pc++;
        else if (code === 1 || code === 2) this.frames.push({ steps: [LEN], pc: 0, left: 1 });
        else if (code === 3) this.frames.push({ steps: [RAW4], pc: 0, left: 1 });
        else if (code === 4) this.frames.push({ steps: [RAW8], pc: 0, left: 1 });
        else if (code === 5) this.frames.push({ steps: [STR], pc: 0, left: 1 });
        else throw this.error(`unknown module value opcode ${code}`, p);
        return true;
      }
      default:
        throw new Error(`scanner program error: step ${step}`);
    }
  }
}
