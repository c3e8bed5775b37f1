// Flag parsing: every type comes out typed before a command runs, old spellings and environment twins
// work, and every mistake is one Holdfast line naming the flag (never util.parseArgs's wording).
import { parseFlags, type FlagSpecs } from "./args";
import { UsageError } from "./errors";

const specs: FlagSpecs = {
  bucket: { type: "string", required: true, help: "" },
  json: { type: "boolean", help: "" },
  attempts: { type: "integer", min: 1, max: 9, default: "3", help: "" },
  wait: { type: "duration", bare: "3h", help: "" },
  "stall-timeout": { type: "duration", default: "60s", help: "" },
  "part-size": { type: "bytes", none: "auto", default: "auto", help: "" },
  source: { type: "enum", choices: ["replica", "primary"], default: "replica", help: "" },
  sentinel: { type: "string", repeatable: true, aliases: ["sentinels"], help: "" },
  timeout: { type: "duration", hidden: true, help: "" },
};

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseFlags(argv, specs, env);

/** The message of the UsageError `f` throws. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("no error");
}

it("types every value: numbers for integers, durations (ms) and sizes (bytes), lists for repeats", () => {
  expect(
    parse([
      "--bucket=b",
      "--attempts",
      "5",
      "--wait",
      "5m",
      "--part-size",
      "16MiB",
      "--source",
      "primary",
      "--sentinel",
      "a:1,b:2",
      "--sentinel",
      "c:3",
      "--json",
    ]),
  ).toEqual({
    bucket: "b",
    json: true,
    attempts: 5,
    wait: 300_000,
    "stall-timeout": 60_000,
    "part-size": 16 * 2 ** 20,
    source: "primary",
    sentinel: ["a:1", "b:2", "c:3"],
    timeout: undefined,
  });
});

it("reads environment twins, the hidden alias's twin too, and falls back to defaults", () => {
  const flags = parse([], { HOLDFAST_BUCKET: "b", HOLDFAST_SENTINELS: "x:1,y:2", HOLDFAST_JSON: "yes" });
  expect(flags).toMatchObject({ bucket: "b", sentinel: ["x:1", "y:2"], json: true, attempts: 3 });
  expect(parse(["--bucket", "b", "--sentinels", "z:9"]).sentinel).toEqual(["z:9"]);
  expect(parse(["--bucket", "b", "--part-size", "auto"])["part-size"]).toBeUndefined();
});

it("takes a value after a bare-able flag only when it is one of its type", () => {
  expect(parse(["--bucket", "b", "--wait"]).wait).toBe(3 * 3600_000);
  expect(parse(["--wait", "--bucket", "b"]).wait).toBe(3 * 3600_000);
  expect(parse(["--bucket", "b", "--wait", "90s"]).wait).toBe(90_000);
  expect(parse(["--bucket", "b", "--wait", "--timeout", "30s"])).toMatchObject({
    wait: 3 * 3600_000,
    timeout: 30_000,
  });
});

it("refuses mistakes with one Holdfast line naming the flag", () => {
  expect(refusal(() => parse([]))).toBe("missing --bucket (or HOLDFAST_BUCKET)");
  expect(refusal(() => parse(["--bucket", "b", "--nope"]))).toBe("unknown flag --nope");
  expect(refusal(() => parse(["--bucket", "b", "-x"]))).toBe("unknown flag -x (flags are spelled --name)");
  expect(refusal(() => parse(["--bucket", "b", "stray"]))).toBe("unexpected argument: stray");
  expect(refusal(() => parse(["--bucket"]))).toBe("--bucket needs a value");
  expect(refusal(() => parse(["--bucket", "--json"]))).toBe(
    "--bucket needs a value (got the flag --json; write --bucket=--json if that is the value)",
  );
  expect(refusal(() => parse(["--bucket", "a", "--bucket", "b"]))).toBe("--bucket is given more than once");
  expect(refusal(() => parse(["--bucket", "b", "--attempts", "0"]))).toBe('--attempts must be 1..9, got "0"');
  expect(refusal(() => parse(["--bucket", "b", "--attempts", "2.5"]))).toBe(
    '--attempts must be a whole number, got "2.5"',
  );
  expect(refusal(() => parse(["--bucket", "b", "--stall-timeout", "soon"]))).toBe(
    '--stall-timeout must look like 30s, 15m, 24h or 7d, got "soon"',
  );
  expect(refusal(() => parse(["--bucket", "b", "--part-size", "lots"]))).toBe(
    '--part-size must be a size such as 16MiB, got "lots"',
  );
  expect(refusal(() => parse(["--bucket", "b", "--source", "any"]))).toBe(
    '--source must be replica or primary, got "any"',
  );
  expect(refusal(() => parse(["--bucket", "b", "--json=maybe"]))).toBe(
    '--json is a switch: true or false, got "maybe"',
  );
  expect(refusal(() => parse(["--bucket", "b"], { HOLDFAST_ATTEMPTS: "many" }))).toBe(
    '--attempts must be a whole number, got "many"',
  );
});

it("accepts a value that starts with one dash, which util.parseArgs called ambiguous", () => {
  expect(parse(["--bucket", "-odd-name"]).bucket).toBe("-odd-name");
});
