import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { UNKNOWN_SENTINELS, at } from "../lib/props";
import {
  UNKNOWN,
  effectiveConfig,
  presentProps,
  runResourcePolicy,
  runStackPolicy,
  secret,
  urnFactory,
} from "./runtime";

/* eslint-disable @typescript-eslint/no-require-imports */
const proxy = require("@pulumi/policy/proxy") as Record<string, unknown>;
/* eslint-enable @typescript-eslint/no-require-imports */

describe("presentProps: what a policy receives, through @pulumi/policy's own deserialization", () => {
  it("unwraps secrets at any depth", () => {
    const props = presentProps({ stringData: secret({ "users.acl": "user app on" }), list: [secret(1)] });
    expect(at(props, "stringData", "users.acl")).toBe("user app on");
    expect(at(props, "list", 0)).toBe(1);
  });

  it("throws the runtime's UnknownValueError when a policy touches an unknown value, and not before", () => {
    const props = presentProps({ known: "x", later: UNKNOWN });
    expect(at(props, "known")).toBe("x");
    expect(() => at(props, "later")).toThrow(/can't be known during preview/);
    try {
      at(props, "later");
    } catch (err) {
      expect(err).toBeInstanceOf(proxy.UnknownValueError as new () => Error);
    }
  });

  it("uses the same sentinels as @pulumi/policy", () => {
    expect(UNKNOWN_SENTINELS).toEqual({
      boolean: proxy.unknownBooleanValue,
      number: proxy.unknownNumberValue,
      string: proxy.unknownStringValue,
      array: proxy.unknownArrayValue,
      asset: proxy.unknownAssetValue,
      archive: proxy.unknownArchiveValue,
      object: proxy.unknownObjectValue,
    });
  });
});

describe("urnFactory", () => {
  it("builds URNs with the parent types joined by $", () => {
    const records = [
      { type: "holdfast:redis:SentinelRedis", name: "redis", inputs: {}, protect: false },
      {
        type: "kubernetes:apps/v1:StatefulSet",
        name: "redis-data",
        parent: "holdfast:redis:SentinelRedis::redis",
        inputs: {},
        protect: true,
      },
    ];
    const urn = urnFactory("dev", "holdfast", records);
    expect(urn(records[1])).toBe(
      "urn:pulumi:dev::holdfast::holdfast:redis:SentinelRedis$kubernetes:apps/v1:StatefulSet::redis-data",
    );
    expect(urn(records[0])).toBe("urn:pulumi:dev::holdfast::holdfast:redis:SentinelRedis::redis");
  });
});

describe("effectiveConfig: the level and properties the CLI gives a policy", () => {
  const policy = {
    name: "p",
    description: "d",
    enforcementLevel: "advisory",
    configSchema: { properties: { days: { type: "integer", default: 30 } } },
  } as ResourceValidationPolicy;

  it("takes the policy's own level and schema defaults when the file says nothing", () => {
    expect(effectiveConfig(policy, "mandatory", {})).toEqual({
      enforcementLevel: "advisory",
      properties: { days: 30 },
    });
    expect(
      effectiveConfig({ ...policy, enforcementLevel: undefined }, "mandatory", {}).enforcementLevel,
    ).toBe("mandatory");
  });

  it("prefers the policy's entry over `all`, and `all` over the policy's own level", () => {
    expect(
      effectiveConfig(policy, "mandatory", { all: { enforcementLevel: "disabled" } }).enforcementLevel,
    ).toBe("disabled");
    const file = {
      all: { enforcementLevel: "disabled" as const },
      p: { enforcementLevel: "mandatory" as const, properties: { days: 7 } },
    };
    expect(effectiveConfig(policy, "advisory", file)).toEqual({
      enforcementLevel: "mandatory",
      properties: { days: 7 },
    });
  });
});

describe("running policies", () => {
  const ctx = {
    stack: "dev",
    project: "p",
    records: [{ type: "t:m:R", name: "r", inputs: { a: 1 }, outputs: { a: 1, id: "r-id" }, protect: true }],
  };

  it("a resource policy's violation is attributed to the resource, at the configured level (remediate counts as mandatory)", async () => {
    const policy: ResourceValidationPolicy = {
      name: "p",
      description: "d",
      validateResource: (args, report) => {
        if (args.opts.protect && args.props.a === 1) report("bad");
      },
    };
    expect(await runResourcePolicy(policy, { enforcementLevel: "remediate", properties: {} }, ctx)).toEqual([
      expect.objectContaining({
        policyName: "p",
        enforcementLevel: "mandatory",
        message: "bad",
        urn: "urn:pulumi:dev::p::t:m:R::r",
      }),
    ]);
    expect(await runResourcePolicy(policy, { enforcementLevel: "disabled", properties: {} }, ctx)).toEqual(
      [],
    );
  });

  it("a stack policy sees outputs, and its config", async () => {
    const seen: unknown[] = [];
    const policy: StackValidationPolicy = {
      name: "s",
      description: "d",
      validateStack: (args) => {
        seen.push(
          args.resources.map((r) => at(r.props, "id")),
          args.getConfig(),
        );
      },
    };
    await runStackPolicy(policy, { enforcementLevel: "advisory", properties: { x: 1 } }, ctx);
    expect(seen).toEqual([["r-id"], { x: 1 }]);
  });
});
