// The engines Holdfast supports: reading an image's engine and version, the check the stack runs when it
// renders, and what a Valkey stack renders (its own binaries in every container and probe).
import { renderedObjects } from "../harness/rendered";
import {
  checkEngineImage,
  engineOfInfo,
  engineOfRdb,
  engineOfVersionLine,
  imageEngine,
  readableRdbVersion,
} from "./engines";

describe("checkEngineImage", () => {
  it("accepts the supported releases of each engine, by tag, mirror and digest", () => {
    expect(checkEngineImage("redis", "redis:8.0.2-bookworm")).toEqual({ engine: "redis", version: "8.0.2" });
    expect(checkEngineImage("redis", "redis:7.0.15")).toEqual({ engine: "redis", version: "7.0.15" });
    expect(checkEngineImage("valkey", "valkey/valkey:8.1.1-bookworm")).toEqual({
      engine: "valkey",
      version: "8.1.1",
    });
    expect(
      checkEngineImage("valkey", "registry.example.com:5000/mirror/valkey:8.0.2@sha256:" + "a".repeat(64)),
    ).toEqual({ engine: "valkey", version: "8.0.2" });
  });

  it("refuses another engine's image, an unsupported release, an Alpine variant and a tag without version", () => {
    expect(() => checkEngineImage("valkey", "redis:8.0.2")).toThrow(
      "redisImage redis:8.0.2 runs Redis, but redisEngine is valkey: set both to the same engine",
    );
    expect(() => checkEngineImage("redis", "redis:6.2.14")).toThrow(
      /Redis 6.2.14 is not supported.*Redis 7.0/,
    );
    expect(() => checkEngineImage("valkey", "valkey/valkey:9.0.0")).toThrow(/Valkey 9.0.0 is not supported/);
    expect(() => checkEngineImage("redis", "redis:8.0.2-alpine")).toThrow(/Debian \(glibc\) variant/);
    expect(() => imageEngine("redis@sha256:" + "b".repeat(64))).toThrow(/its tag must name the version/);
  });
});

describe("what a server, an RDB and a binary say about their engine", () => {
  it("tells Valkey from the Redis version it reports for clients", () => {
    expect(engineOfInfo({ redis_version: "7.2.4", server_name: "valkey", valkey_version: "8.1.1" })).toEqual({
      engine: "valkey",
      version: "8.1.1",
    });
    expect(engineOfInfo({ redis_version: "8.0.2" })).toEqual({ engine: "redis", version: "8.0.2" });
    expect(engineOfRdb({ "valkey-ver": "8.1.1" })).toEqual({ engine: "valkey", version: "8.1.1" });
    expect(engineOfRdb({ "redis-ver": "7.0.15" })).toEqual({ engine: "redis", version: "7.0.15" });
    expect(engineOfVersionLine("Valkey server v=8.1.1 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64")).toEqual(
      {
        engine: "valkey",
        version: "8.1.1",
      },
    );
    expect(readableRdbVersion({ engine: "valkey", version: "8.1.1" })).toBe(11);
    expect(readableRdbVersion({ engine: "redis", version: "8.0.2" })).toBe(12);
  });
});

describe("a Valkey stack", () => {
  it("runs valkey-server for data nodes and sentinels and probes them with valkey-cli", async () => {
    const objects = await renderedObjects("dev", {
      "holdfast:redisEngine": "valkey",
      "holdfast:redisImage": "valkey/valkey:8.1.1-bookworm",
    });
    const sets = objects.filter((o) => o.kind === "StatefulSet" && /^redis/.test(o.metadata.name));
    type Container = {
      name: string;
      image: string;
      command: string[];
      readinessProbe: { exec: { command: string[] } };
    };
    const containers = sets.flatMap(
      (s) =>
        (s as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec
          .containers,
    );
    const engine = containers.filter((c) => c.name === "redis" || c.name === "sentinel");
    expect(engine.map((c) => [c.name, c.image, c.command[0]]).sort()).toEqual([
      ["redis", "valkey/valkey:8.1.1-bookworm", "valkey-server"],
      ["sentinel", "valkey/valkey:8.1.1-bookworm", "valkey-server"],
    ]);
    for (const c of engine) expect(c.readinessProbe.exec.command[2]).toMatch(/^\S+=\$\(valkey-cli /);
  });
});
