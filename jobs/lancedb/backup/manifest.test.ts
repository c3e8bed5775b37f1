// Reading Lance manifests: both naming schemes and the names to ignore, and on real tables written by
// @lancedb/lancedb, that a version's manifest names every file the version needs (a copy of just those
// files opens and reads in full) and its row count.
import * as lancedb from "@lancedb/lancedb";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { captureLatest } from "./dataset";
import { latestManifest, ManifestError, manifestName, parseManifestName, readManifest } from "./manifest";
import { expectedRows, range, rowsFor, tableRows } from "../../../test/lancedb/support";

describe("manifest names", () => {
  it("parse both schemes and ignore detached, staging, temporary and hint files", () => {
    expect(parseManifestName("7.manifest")).toEqual({ version: 7, scheme: "v1", name: "7.manifest" });
    expect(parseManifestName("18446744073709551608.manifest")).toEqual({
      version: 7,
      scheme: "v2",
      name: "18446744073709551608.manifest",
    });
    for (const ignored of [
      "d1234567.manifest",
      ".tmp_7.manifest_9c100374-3298-4537-afc6-f5ee7913666d",
      "18446744073709551608.manifest-2b1d6a4e",
      "7.manifest-2b1d6a4e",
      "latest_version_hint.json",
      "latest_version_hint.bin",
      "_latest.manifest",
      "99999999999999999999.manifest",
    ])
      expect(parseManifestName(ignored)).toBeUndefined();
  });

  it("round-trip through manifestName", () => {
    for (const v of [1, 2, 10, 123456, 2 ** 40])
      for (const scheme of ["v1", "v2"] as const)
        expect(parseManifestName(manifestName(v, scheme))).toEqual({
          version: v,
          scheme,
          name: manifestName(v, scheme),
        });
    expect(manifestName(1, "v2")).toBe("18446744073709551614.manifest");
  });

  it("find the newest committed version and refuse a mix of schemes", () => {
    expect(latestManifest(["1.manifest", "10.manifest", "9.manifest", "d5.manifest"])?.version).toBe(10);
    expect(latestManifest(["18446744073709551614.manifest", "18446744073709551605.manifest"])?.version).toBe(
      10,
    );
    expect(latestManifest(["latest_version_hint.json"])).toBeUndefined();
    expect(() => latestManifest(["1.manifest", "18446744073709551613.manifest"])).toThrow(ManifestError);
  });
});

/** Encodes a protobuf key and value, enough to build manifests the parser must refuse. */
function field(n: number, value: Buffer | number): Buffer {
  const varint = (x: number) => {
    const out: number[] = [];
    do {
      out.push((x & 0x7f) | (x > 0x7f ? 0x80 : 0));
      x = Math.floor(x / 128);
    } while (x > 0);
    return Buffer.from(out);
  };
  if (typeof value === "number") return Buffer.concat([varint(n << 3), varint(value)]);
  return Buffer.concat([varint((n << 3) | 2), varint(value.length), value]);
}

function manifestFile(message: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(message.length);
  const footer = Buffer.alloc(16);
  footer.writeBigInt64LE(0n, 0);
  footer.writeUInt16LE(0, 8);
  footer.writeUInt16LE(2, 10);
  footer.write("LANC", 12, "latin1");
  return Buffer.concat([len, message, footer]);
}

describe("readManifest", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-manifest-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("names every file each version of a real table needs, and its rows", async () => {
    const db = await lancedb.connect(path.join(dir, "db"));
    const t = await db.createTable("t", rowsFor(range(0, 2000)));
    await t.add(rowsFor(range(2000, 4000)));
    await t.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: 2, numSubVectors: 4 }) });
    await t.createIndex("category", { config: lancedb.Index.bitmap() });
    await t.delete("id % 5 = 0");
    await t.add(rowsFor(range(4000, 4100)));
    const versions = (await t.listVersions()).map((v) => v.version);
    const tableDir = path.join(dir, "db", "t.lance");
    for (const version of versions) {
      const content = readManifest(
        fs.readFileSync(path.join(tableDir, "_versions", manifestName(version, "v2"))),
      );
      expect(content.version).toBe(version);
      await t.checkout(version);
      expect(content.rows).toBe(await t.countRows());
      for (const f of content.files) expect(fs.existsSync(path.join(tableDir, f))).toBe(true);
      for (const i of content.indices)
        expect(fs.existsSync(path.join(tableDir, "_indices", i.uuid))).toBe(true);
    }
    const latest = readManifest(
      fs.readFileSync(path.join(tableDir, "_versions", manifestName(versions.at(-1)!, "v2"))),
    );
    expect(latest.files.filter((f) => f.startsWith("_deletions/"))).toHaveLength(2);
    expect(latest.indices.map((i) => i.name).sort()).toEqual(["category_idx", "vector_idx"]);
    t.close();
    db.close();

    // Only the manifest and the files it names: the copy opens at that version and reads every row.
    const cap = captureLatest(path.join(dir, "db"), "t")!;
    const copy = path.join(dir, "copy", "t.lance");
    for (const f of [...cap.files.map((x) => x.path), cap.manifestPath]) {
      fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
      fs.copyFileSync(path.join(tableDir, f), path.join(copy, f));
    }
    const ids = range(0, 4100).filter((id) => id >= 4000 || id % 5 !== 0);
    expect(await tableRows(path.join(dir, "copy"), "t")).toEqual(expectedRows(ids));
  });

  it("refuses what is not a manifest, a truncated one, and tables with files under other base paths", () => {
    expect(() => readManifest(Buffer.from("hello"))).toThrow(/no LANC footer/);
    const good = manifestFile(field(3, 5));
    expect(readManifest(good).version).toBe(5);
    const truncated = Buffer.concat([good.subarray(0, 2), good.subarray(good.length - 16)]);
    expect(() => readManifest(truncated)).toThrow(ManifestError);
    expect(() => readManifest(manifestFile(Buffer.from([0x12, 0x40, 0x01])))).toThrow(/corrupt manifest/);
    expect(() => readManifest(manifestFile(field(18, field(4, Buffer.from("s3://elsewhere")))))).toThrow(
      /external base paths/,
    );
    const importedFile = field(
      2,
      Buffer.concat([field(1, 0), field(2, Buffer.concat([field(1, Buffer.from("a.lance")), field(7, 1)]))]),
    );
    expect(() => readManifest(manifestFile(importedFile))).toThrow(/another base path/);
  });
});
