// Snapshot records read back from the store are checked before use: a tampered path, key, name, hash
// or total is refused, and no local path a record can produce leaves the data directory.
import * as path from "path";
import {
  checkRecord,
  fileKey,
  InvalidRecordError,
  isSafeRelativePath,
  isTableName,
  localPath,
  RECORD_FORMAT,
  type SnapshotRecord,
} from "./record";

const SHA = "a".repeat(64);

function sample(): SnapshotRecord {
  const files = [
    { path: "data/0a1b.lance", key: "docs.lance/data/0a1b.lance", size: 100, sha256: SHA },
    { path: "_indices/3f2e/index.idx", key: "docs.lance/_indices/3f2e/index.idx", size: 10, sha256: SHA },
    {
      path: "_versions/18446744073709551612.manifest",
      key: fileKey("docs", "_versions/18446744073709551612.manifest", SHA),
      size: 5,
      sha256: SHA,
    },
  ];
  return {
    format: RECORD_FORMAT,
    store: "lancedb",
    id: "20260115T120000Z",
    reason: "scheduled",
    startedAt: "2026-01-15T12:00:00.000Z",
    completedAt: "2026-01-15T12:00:09.000Z",
    source: { dataDir: "/app/lancedb_data", host: "app-0", lancedb: "0.37.1" },
    tables: [
      {
        name: "docs",
        version: 3,
        scheme: "v2",
        rows: 42,
        manifest: "_versions/18446744073709551612.manifest",
        latestManifestCopy: false,
        files,
      },
    ],
    totals: { tables: 1, files: 3, bytes: 115, rows: 42 },
    uploaded: { files: 3, bytes: 115 },
  };
}

/** The record entry of a tag file `_refs/tags/<name>.json`. */
function tagFile(name: string) {
  const p = `_refs/tags/${name}.json`;
  return { path: p, key: fileKey("docs", p, SHA), size: 0, sha256: SHA };
}

function tampered(change: (r: SnapshotRecord) => void): SnapshotRecord {
  const r = sample();
  change(r);
  return r;
}

describe("checkRecord", () => {
  it("accepts a complete record", () => {
    expect(checkRecord(sample(), "20260115T120000Z").tables[0].rows).toBe(42);
  });

  it("accepts tags with the older versions they name, their manifests and tag files among the files", () => {
    const r = sample();
    const t = r.tables[0];
    const older = "_versions/18446744073709551614.manifest";
    t.files.push(
      { path: older, key: fileKey("docs", older, SHA), size: 0, sha256: SHA },
      tagFile("first"),
      tagFile("head"),
    );
    t.versions = [{ version: 1, manifest: older, rows: 7 }];
    t.tags = { first: 1, head: 3 };
    r.totals.files = 6;
    expect(checkRecord(r, "20260115T120000Z").tables[0].tags).toEqual({ first: 1, head: 3 });
    expect(fileKey("docs", "_refs/tags/first.json", SHA)).toBe(
      `docs.lance/_refs/tags/first.json.sha256-${SHA}`,
    );
  });

  it.each<[string, (r: SnapshotRecord) => void, RegExp]>([
    ["a ../ path", (r) => (r.tables[0].files[0].path = "../../etc/cron.d/x"), /leaves the table directory/],
    [
      "a path with .. inside",
      (r) => (r.tables[0].files[0].path = "data/../../x"),
      /leaves the table directory/,
    ],
    ["an absolute path", (r) => (r.tables[0].files[0].path = "/etc/passwd"), /leaves the table directory/],
    [
      "a backslash path",
      (r) => (r.tables[0].files[0].path = "data\\..\\..\\x"),
      /leaves the table directory/,
    ],
    ["an empty segment", (r) => (r.tables[0].files[0].path = "data//x"), /leaves the table directory/],
    ["an absolute key", (r) => (r.tables[0].files[0].key = "/docs.lance/x"), /not inside the table's files/],
    ["a key of another table", (r) => (r.tables[0].files[0].key = "other.lance/data/x"), /not inside/],
    ["a key with ..", (r) => (r.tables[0].files[0].key = "docs.lance/../../redis/x"), /not inside/],
    ["a table name with a slash", (r) => (r.tables[0].name = "../docs"), /table name/],
    ["a table name ..", (r) => (r.tables[0].name = ".."), /table name/],
    ["a bad hash", (r) => (r.tables[0].files[0].sha256 = "xyz"), /no valid sha256/],
    ["a negative size", (r) => (r.tables[0].files[0].size = -1), /no valid size/],
    ["a duplicate path", (r) => r.tables[0].files.push({ ...r.tables[0].files[0] }), /appears twice/],
    ["a manifest of another version", (r) => (r.tables[0].version = 4), /not the one of version 4/],
    [
      "a second manifest",
      (r) => r.tables[0].files.push({ ...r.tables[0].files[2], path: "_versions/1.manifest" }),
      /a manifest _versions\/1.manifest of no version it holds/,
    ],
    [
      "a tag naming a version it does not hold",
      (r) => (r.tables[0].tags = { current: 2 }),
      /tag current names version 2, which the record does not hold/,
    ],
    [
      "a tag file of no tag",
      (r) => r.tables[0].files.push(tagFile("stray")),
      /_refs\/tags\/stray.json is not the file of one of its tags/,
    ],
    [
      "a kept version newer than the table's",
      (r) =>
        (r.tables[0].versions = [
          { version: 3, manifest: "_versions/18446744073709551612.manifest", rows: 1 },
        ]),
      /kept version 3 is not older than 3/,
    ],
    [
      "a tag whose file is missing",
      (r) => (r.tables[0].tags = { current: 3 }),
      /_refs\/tags\/current.json is not among its files/,
    ],
    [
      "a tag name that climbs out",
      (r) => (r.tables[0].tags = { "../x": 3 }),
      /tag name "..\/x" is not allowed/,
    ],
    ["totals that do not add up", (r) => (r.totals.rows = 41), /totals/],
    ["another id", (r) => (r.id = "20260115T120001Z"), /names backup/],
    ["another format", (r) => ((r as { format: string }).format = "x"), /unknown record format/],
  ])("refuses %s", (_what, change, message) => {
    expect(() => checkRecord(tampered(change), "20260115T120000Z")).toThrow(InvalidRecordError);
    expect(() => checkRecord(tampered(change), "20260115T120000Z")).toThrow(message);
  });

  it("refuses what is not a record at all", () => {
    for (const v of [null, [], "x", 3, {}])
      expect(() => checkRecord(v, "20260115T120000Z")).toThrow(InvalidRecordError);
  });
});

describe("paths", () => {
  it("isSafeRelativePath and isTableName", () => {
    for (const ok of ["data/a.lance", "_indices/u/x/y.idx", "_deletions/0-2-3.arrow"])
      expect(isSafeRelativePath(ok)).toBe(true);
    for (const bad of ["", ".", "..", "a/../b", "./a", "a/", "/a", "C:/a", "a\\b", "a\0b"])
      expect(isSafeRelativePath(bad)).toBe(false);
    for (const ok of ["docs", "my_table-2", "v1.old"]) expect(isTableName(ok)).toBe(true);
    for (const bad of ["", ".", "..", "a/b", ".hidden", "a..b", "-x"]) expect(isTableName(bad)).toBe(false);
  });

  it("localPath never leaves the data directory", () => {
    const root = path.resolve("/data/lancedb");
    expect(localPath(root, "docs", "data/a.lance")).toBe(path.join(root, "docs.lance", "data", "a.lance"));
    expect(() => localPath(root, "docs", "../../x")).toThrow(InvalidRecordError);
    expect(() => localPath(root, "..", "x")).toThrow(InvalidRecordError);
    expect(() => localPath(root, "docs", "/etc/passwd")).toThrow(InvalidRecordError);
  });

  it("manifest keys carry the manifest's hash; other keys are the path", () => {
    expect(fileKey("docs", "data/a.lance")).toBe("docs.lance/data/a.lance");
    expect(fileKey("docs", "_versions/3.manifest", SHA)).toBe(
      `docs.lance/_versions/3.manifest.sha256-${SHA}`,
    );
    expect(() => fileKey("docs", "_versions/3.manifest")).toThrow();
  });
});
