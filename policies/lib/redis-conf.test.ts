import {
  classifyConfig,
  disabledByRename,
  isRedisImage,
  parseConfig,
  redisInvocation,
  shellWords,
  splitArgs,
  viewOf,
} from "./redis-conf";

describe("splitArgs (Redis's config line splitting)", () => {
  it("splits on spaces and keeps quoted arguments whole, empty ones included", () => {
    expect(splitArgs('rename-command FLUSHALL ""')).toEqual(["rename-command", "FLUSHALL", ""]);
    expect(splitArgs(`save "" `)).toEqual(["save", ""]);
    expect(splitArgs(`user app on '>pa ss' +@all`)).toEqual(["user", "app", "on", ">pa ss", "+@all"]);
    expect(splitArgs('requirepass "a\\"b\\x41"')).toEqual(["requirepass", 'a"bA']);
  });

  it("rejects unbalanced quotes and a quote glued to the next word", () => {
    expect(splitArgs('rename-command FLUSHALL "')).toBeUndefined();
    expect(splitArgs('save ""x')).toBeUndefined();
  });
});

describe("classifyConfig", () => {
  it("tells ACL files, sentinel configs, server configs and included fragments apart", () => {
    expect(classifyConfig(parseConfig("user default off\nuser app on >x +@all\n"))).toBe("acl");
    expect(classifyConfig(parseConfig("port 26379\nsentinel monitor m 10.0.0.1 6379 2\n"))).toBe("sentinel");
    expect(classifyConfig(parseConfig("port 6379\ndir /data\nappendonly yes\n"))).toBe("server");
    expect(classifyConfig(parseConfig("masteruser replication\nmasterauth secret\n"))).toBe("fragment");
  });

  it("does not take a password, a certificate or prose for Redis config", () => {
    expect(classifyConfig(parseConfig("mock-redis-app-password"))).toBeUndefined();
    expect(
      classifyConfig(parseConfig("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")),
    ).toBeUndefined();
    expect(classifyConfig(parseConfig("the port is open\nand the dir is fine\nreally"))).toBeUndefined();
  });
});

describe("viewOf", () => {
  it('applies save lines in order: save "" clears, later rules add', () => {
    expect(viewOf(parseConfig('save 60 1000\nsave ""')).save).toEqual({ explicit: true, rules: 0 });
    expect(viewOf(parseConfig('save ""\nsave 900 1 300 10')).save).toEqual({ explicit: true, rules: 2 });
    expect(viewOf(parseConfig("port 1")).save).toEqual({ explicit: false, rules: 0 });
  });

  it('records renames by lower-case command, and renaming to "" disables', () => {
    const view = viewOf(parseConfig('rename-command FLUSHALL ""\nrename-command flushdb ""'));
    expect(disabledByRename(view, ["flushall", "flushdb"])).toBe(true);
    const hidden = viewOf(parseConfig('rename-command FLUSHALL "x"\nrename-command flushdb ""'));
    expect(disabledByRename(hidden, ["flushall", "flushdb"])).toBe(false);
  });
});

describe("redisInvocation", () => {
  const redisImage = () => true;
  const otherImage = () => false;

  it("reads redis-server options, its config file and sentinel mode", () => {
    expect(
      redisInvocation(["redis-server", "/etc/redis.conf", "--appendonly", "no"], [], otherImage),
    ).toEqual({
      mode: "server",
      configFile: "/etc/redis.conf",
      options: [{ name: "appendonly", args: ["no"] }],
      visible: true,
    });
    expect(redisInvocation(["redis-server", "/d/sentinel.conf", "--sentinel"], [], otherImage)?.mode).toBe(
      "sentinel",
    );
    expect(redisInvocation(["redis-sentinel", "/d/s.conf"], [], otherImage)?.mode).toBe("sentinel");
  });

  it("reads a redis-server command inside sh -c", () => {
    const inv = redisInvocation(
      ["sh", "-c", `echo start && exec redis-server --rename-command FLUSHALL "" --save "" ; echo done`],
      [],
      otherImage,
    );
    expect(inv?.options).toEqual([
      { name: "rename-command", args: ["FLUSHALL", ""] },
      { name: "save", args: [""] },
    ]);
  });

  it("takes the image's default command, and args starting with -- as redis-server's", () => {
    expect(redisInvocation([], [], redisImage)).toEqual({ mode: "server", options: [], visible: true });
    expect(redisInvocation([], ["--appendonly", "yes"], redisImage)?.options).toEqual([
      { name: "appendonly", args: ["yes"] },
    ]);
    expect(redisInvocation(["/opt/start.sh"], [], redisImage)).toEqual({
      mode: "server",
      options: [],
      visible: false,
    });
    expect(redisInvocation(["holdfast", "redis", "agent"], [], otherImage)).toBeUndefined();
  });

  it("splits shell scripts into words with quotes kept together", () => {
    expect(shellWords(`a "b c" 'd e'&&f;g`)).toEqual(["a", "b c", "d e", "&&", "f", ";", "g"]);
  });
});

describe("isRedisImage", () => {
  it("knows Redis and Valkey images, and not exporters or sentinels", () => {
    for (const image of [
      "redis",
      "redis:7.2.7-bookworm",
      "docker.io/library/redis:7@sha256:abc",
      "bitnami/redis:7.2",
      "valkey/valkey:8",
    ])
      expect([image, isRedisImage(image)]).toEqual([image, true]);
    for (const image of [
      "oliver006/redis_exporter:v1.67.0",
      "bitnami/redis-sentinel:7",
      "ghcr.io/x/holdfast-jobs@sha256:0",
      undefined,
    ])
      expect([image, isRedisImage(image)]).toEqual([image, false]);
  });
});
