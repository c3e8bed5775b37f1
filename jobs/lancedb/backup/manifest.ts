// What one version of a Lance table needs on disk, read from its manifest: the manifest file names of
// both naming schemes, and the files a manifest references (data files, deletion files, index
// directories, the transaction file, external row-id files). @lancedb/lancedb does not expose a
// version's file list, so the manifest is read here (Lance's table.proto, wire format only).
import { asBytes, asNumber, asString, wireFields, WireFormatError } from "./protobuf";

/** How a table names its manifests: V1 `_versions/<N>.manifest`, V2 `_versions/<u64::MAX - N, 20 digits>.manifest`. */
export type ManifestScheme = "v1" | "v2";

/** A committed version's manifest file, found in `_versions/`. */
export interface ManifestName {
  version: number;
  scheme: ManifestScheme;
  /** The file name inside `_versions/`. */
  name: string;
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Reads a `_versions/` entry name. Returns undefined for everything that is not a committed version of
 * the main lineage: detached versions (`d<N>.manifest`), staging and temporary files
 * (`.tmp_7.manifest_<uuid>`, `<N>.manifest-<uuid>`), version hints.
 */
export function parseManifestName(name: string): ManifestName | undefined {
  const m = /^(\d+)\.manifest$/.exec(name);
  if (!m) return undefined;
  if (m[1].length === 20) {
    const inverted = BigInt(m[1]);
    if (inverted > U64_MAX) return undefined;
    const version = U64_MAX - inverted;
    if (version > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return { version: Number(version), scheme: "v2", name };
  }
  if (m[1].length > 16) return undefined;
  return { version: Number(m[1]), scheme: "v1", name };
}

/** The manifest file name of `version` under `scheme`. */
export function manifestName(version: number, scheme: ManifestScheme): string {
  if (scheme === "v1") return `${version}.manifest`;
  return `${(U64_MAX - BigInt(version)).toString().padStart(20, "0")}.manifest`;
}

/** The newest committed version among `_versions/` entry names, or undefined when there is none. */
export function latestManifest(names: string[]): ManifestName | undefined {
  const parsed = names.map(parseManifestName).filter((n): n is ManifestName => n !== undefined);
  const schemes = new Set(parsed.map((p) => p.scheme));
  if (schemes.size > 1)
    throw new ManifestError("both manifest naming schemes (V1 and V2) are present in _versions/");
  return parsed.sort((a, b) => b.version - a.version)[0];
}

/** A manifest that cannot be read, or that needs something a backup cannot copy. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

/** An index of a version: its directory `_indices/<uuid>/` and, when the manifest lists them, its files. */
export interface ManifestIndex {
  uuid: string;
  name: string;
  /** Paths relative to the index directory; empty when the manifest does not list them (older writers). */
  files: string[];
}

/** What a version is made of, as far as copying it goes. */
export interface ManifestContent {
  version: number;
  /** Paths relative to the table directory, without index files (see `indices`). */
  files: string[];
  indices: ManifestIndex[];
  /** Rows in the version: physical rows of every fragment minus their deleted rows. */
  rows: number;
  fragments: number;
}

function uuidText(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
  if (hex.length !== 32) throw new ManifestError(`index uuid has ${bytes.byteLength} bytes, expected 16`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The message stored at `pos` of a manifest file: a u32 little-endian length, then the message. */
function messageAt(file: Buffer, pos: number, what: string): Buffer {
  if (pos < 0 || pos + 4 > file.length)
    throw new ManifestError(`${what} position ${pos} is outside the file`);
  const len = file.readUInt32LE(pos);
  if (pos + 4 + len > file.length) throw new ManifestError(`${what} runs past the end of the file`);
  return file.subarray(pos + 4, pos + 4 + len);
}

function noExternalBase(baseId: boolean, what: string): void {
  if (baseId)
    throw new ManifestError(
      `${what} lives under another base path (shallow clone or imported files); such tables are not supported`,
    );
}

function externalFilePath(msg: Uint8Array): string {
  for (const f of wireFields(msg)) if (f.field === 1) return asString(f);
  throw new ManifestError("external file without a path");
}

function readFragment(msg: Uint8Array, files: string[]): { rows: number } {
  let id = 0;
  let physicalRows = 0;
  let deleted = 0;
  let del: { type: number; readVersion: bigint; id: bigint } | undefined;
  for (const f of wireFields(msg)) {
    if (f.field === 1) id = asNumber(f);
    else if (f.field === 2) {
      let path: string | undefined;
      let baseId = false;
      for (const g of wireFields(asBytes(f))) {
        if (g.field === 1) path = asString(g);
        else if (g.field === 7) baseId = true;
      }
      if (!path) throw new ManifestError("data file without a path");
      noExternalBase(baseId, `data file ${path}`);
      files.push(`data/${path}`);
    } else if (f.field === 3) {
      del = { type: 0, readVersion: 0n, id: 0n };
      let baseId = false;
      for (const g of wireFields(asBytes(f))) {
        if (g.field === 1) del.type = asNumber(g);
        else if (g.field === 2 && g.wire === "varint") del.readVersion = g.value;
        else if (g.field === 3 && g.wire === "varint") del.id = g.value;
        else if (g.field === 4) deleted = asNumber(g);
        else if (g.field === 7) baseId = true;
      }
      noExternalBase(baseId, "a deletion file");
    } else if (f.field === 4) physicalRows = asNumber(f);
    else if (f.field === 6 || f.field === 8 || f.field === 10) files.push(externalFilePath(asBytes(f)));
  }
  if (del) {
    const ext = del.type === 1 ? "bin" : del.type === 0 ? "arrow" : undefined;
    if (!ext) throw new ManifestError(`unknown deletion file type ${del.type}`);
    files.push(`_deletions/${id}-${del.readVersion}-${del.id}.${ext}`);
  }
  return { rows: physicalRows - deleted };
}

function readIndexSection(msg: Uint8Array): ManifestIndex[] {
  const indices: ManifestIndex[] = [];
  for (const f of wireFields(msg)) {
    if (f.field !== 1) continue;
    const index: ManifestIndex = { uuid: "", name: "", files: [] };
    let baseId = false;
    for (const g of wireFields(asBytes(f))) {
      if (g.field === 1) {
        for (const u of wireFields(asBytes(g))) if (u.field === 1) index.uuid = uuidText(asBytes(u));
      } else if (g.field === 3) index.name = asString(g);
      else if (g.field === 9) baseId = true;
      else if (g.field === 10) {
        for (const h of wireFields(asBytes(g))) if (h.field === 1) index.files.push(asString(h));
      }
    }
    if (!index.uuid) throw new ManifestError(`index ${index.name} without a uuid`);
    noExternalBase(baseId, `index ${index.name}`);
    indices.push(index);
  }
  return indices;
}

/**
 * Reads a manifest file: the footer (`<u64 position><u16 major><u16 minor>LANC`), the Manifest message
 * at that position and, when present, the IndexSection it points to.
 * @throws ManifestError when the bytes are not a Lance manifest or the table uses external base paths.
 */
export function readManifest(file: Buffer): ManifestContent {
  if (file.length < 16 || file.subarray(file.length - 4).toString("latin1") !== "LANC")
    throw new ManifestError("not a Lance manifest (no LANC footer)");
  const pos = Number(file.readBigInt64LE(file.length - 16));
  const message = messageAt(file, pos, "manifest");
  if (pos + 4 + message.length !== file.length - 16)
    throw new ManifestError("manifest length does not match its footer");
  const content: ManifestContent = { version: 0, files: [], indices: [], rows: 0, fragments: 0 };
  let indexSection: number | undefined;
  try {
    for (const f of wireFields(message)) {
      switch (f.field) {
        case 2:
          content.rows += readFragment(asBytes(f), content.files).rows;
          content.fragments++;
          break;
        case 3:
          content.version = asNumber(f);
          break;
        case 6:
          indexSection = asNumber(f);
          break;
        case 12: {
          const txn = asString(f);
          if (txn) content.files.push(`_transactions/${txn}`);
          break;
        }
        case 18:
          throw new ManifestError(
            "the table has external base paths (shallow clone or imported files); such tables are not supported",
          );
      }
    }
    if (indexSection !== undefined)
      content.indices = readIndexSection(messageAt(file, indexSection, "index section"));
  } catch (err) {
    if (err instanceof WireFormatError) throw new ManifestError(`corrupt manifest: ${err.message}`);
    throw err;
  }
  return content;
}
