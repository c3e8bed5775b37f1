// Which manifests a restore accepts, and the AOF layout a restore writes (the names and the manifest
// text Redis 7 reads, the base a hard link of the RDB).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backupStoreLayout } from "../../core/store-layout";
import { aofFiles, aofManifestText, buildAofDir, DEFAULT_NAMES } from "./aof-layout";
import {
  checkManifest,
  ManifestError,
  MANIFEST_FORMAT,
  summarize,
  type RedisBackupManifest,
} from "./manifest";

const manifest = (over: Partial<RedisBackupManifest> = {}): RedisBackupManifest =>
  ({
    format: MANIFEST_FORMAT,
    store: "redis",
    id: "20260115T120000Z",
    reason: "scheduled",
    method: "replication",
    startedAt: "2026-01-15T12:00:00.000Z",
    completedAt: "2026-01-15T12:00:30.000Z",
    timings: { discoverMs: 1, transferMs: 2, commitMs: 3, totalMs: 6 },
    source: { address: "redis-1:6379", role: "replica", transfer: "eof" },
    redis: { version: "7.0.15", rdbVersion: 10 },
    objects: {
      "dump.rdb": { key: "dev/redis/20260115T120000Z/dump.rdb", size: 100, sha256: "a".repeat(64) },
    },
    dataset: { keys: 5, databases: {}, patterns: {}, functions: 0, modules: [], aux: {} },
    info: {},
    holdfast: { version: "0.1.0" },
    ...over,
  }) as RedisBackupManifest;

const dev = backupStoreLayout("dev");

describe("checkManifest", () => {
  it("accepts a manifest of this format naming its backup", () => {
    expect(checkManifest(manifest(), "20260115T120000Z", dev).id).toBe("20260115T120000Z");
    expect(summarize(manifest())).toEqual({
      store: "redis",
      id: "20260115T120000Z",
      completedAt: "2026-01-15T12:00:30.000Z",
      sizeBytes: 100,
      items: 5,
      reason: "scheduled",
    });
  });

  it("refuses another format, another backup's manifest, or one without a valid RDB entry", () => {
    expect(() =>
      checkManifest(manifest({ format: "v0" as typeof MANIFEST_FORMAT }), "20260115T120000Z", dev),
    ).toThrow(/has format "v0", which this version does not know/);
    expect(() => checkManifest(manifest(), "20260116T120000Z", dev)).toThrow(
      /names backup "20260115T120000Z"/,
    );
    expect(() => checkManifest(manifest({ objects: {} }), "20260115T120000Z", dev)).toThrow(
      /no valid dump.rdb entry/,
    );
    expect(() => checkManifest(null, "20260115T120000Z", dev)).toThrow(ManifestError);
  });

  it("refuses objects outside the backup's own folder: another backup, another stack, a path that climbs out", () => {
    const rdb = manifest().objects["dump.rdb"];
    const at = (key: string, name = "dump.rdb") =>
      checkManifest(
        manifest({ objects: { "dump.rdb": rdb, [name]: { ...rdb, key } } }),
        "20260115T120000Z",
        dev,
      );
    expect(() => at("dev/redis/20260114T120000Z/dump.rdb")).toThrow(
      /puts dump.rdb at "dev\/redis\/20260114T120000Z\/dump.rdb", outside its own backup \(dev\/redis\/20260115T120000Z\/dump.rdb\)/,
    );
    expect(() => at("prod/redis/20260115T120000Z/dump.rdb")).toThrow(/outside its own backup/);
    expect(() => at("dev/redis/20260115T120000Z/../20260114T120000Z/dump.rdb")).toThrow(/outside/);
    expect(() => at("dev/redis/20260115T120000Z/aof/../../x", "aof/../../x")).toThrow(
      /lists an object named/,
    );
    expect(
      at("dev/redis/20260115T120000Z/aof/appendonly.aof.1.base.rdb", "aof/appendonly.aof.1.base.rdb").id,
    ).toBe("20260115T120000Z");
  });
});

describe("the AOF layout of a restore", () => {
  it("is Redis 7's multi-part AOF: the RDB as base (hard link), an empty incr file and the manifest", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-aof-"));
    try {
      const rdb = path.join(dir, "backup.rdb");
      fs.writeFileSync(rdb, "REDIS0010...");
      const built = buildAofDir(dir, rdb, DEFAULT_NAMES);
      expect(built).toBe(path.join(dir, "appendonlydir"));
      expect(fs.readdirSync(built).sort()).toEqual([
        "appendonly.aof.1.base.rdb",
        "appendonly.aof.1.incr.aof",
        "appendonly.aof.manifest",
      ]);
      expect(fs.readFileSync(path.join(built, "appendonly.aof.manifest"), "utf8")).toBe(
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
      );
      expect(fs.statSync(path.join(built, "appendonly.aof.1.base.rdb")).ino).toBe(fs.statSync(rdb).ino);
      expect(fs.statSync(path.join(built, "appendonly.aof.1.incr.aof")).size).toBe(0);
      const custom = { appendFilename: "app.aof", appendDirname: "aof", dbFilename: "app.rdb" };
      expect(aofFiles(custom)).toEqual({
        base: "app.aof.1.base.rdb",
        incr: "app.aof.1.incr.aof",
        manifest: "app.aof.manifest",
      });
      expect(aofManifestText(custom)).toMatch(/^file app.aof.1.base.rdb seq 1 type b\n/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
