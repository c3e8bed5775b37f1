// The flags of continuous protection, in-process: `restore redis` takes exactly one of --backup,
// --to-time, --to-offset; a point is an RFC 3339 time with a zone or a whole offset; `stream redis` and
// `timeline` refuse bad values before they run. Every refusal is one line and exit 2.
import { main } from "../cli";
import { pointTargetOf } from "./point-flags";

/** Runs main in-process; resolves to its exit code and what it wrote on stderr. */
async function run(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const out = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
  const err = jest.spyOn(process.stderr, "write").mockImplementation((s) => ((stderr += String(s)), true));
  try {
    return { code: await main(argv), stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const WHERE = ["--bucket", "b", "--prefix", "p"];
const RESTORE = ["restore", "redis", "--data-dir", "/nonexistent", ...WHERE];

it("reads a point as an RFC 3339 time with a zone, or a whole offset", () => {
  expect(pointTargetOf({ "to-time": "2026-01-15T12:00:00.250Z" })).toEqual({
    time: Date.parse("2026-01-15T12:00:00.250Z"),
  });
  expect(pointTargetOf({ "to-time": "2026-01-15T13:00:00+01:00" })).toEqual({
    time: Date.parse("2026-01-15T12:00:00Z"),
  });
  expect(pointTargetOf({ "to-offset": 0 })).toEqual({ offset: 0 });
  expect(pointTargetOf({})).toBeUndefined();
  expect(() => pointTargetOf({ "to-time": "2026-01-15 12:00" })).toThrow(/RFC 3339 time with a zone/);
  expect(() => pointTargetOf({ "to-time": "2026-01-15T12:00:00" })).toThrow(/RFC 3339 time with a zone/);
});

it("restores exactly one of --backup, --to-time, --to-offset", async () => {
  expect(await run(RESTORE)).toEqual({
    code: 2,
    stderr: "holdfast: missing --backup, --to-time or --to-offset (give one)\n",
  });
  expect(await run([...RESTORE, "--backup", "latest", "--to-time", "2026-01-15T12:00:00Z"])).toEqual({
    code: 2,
    stderr: "holdfast: give one of --backup, --to-time, --to-offset, not --backup and --to-time\n",
  });
  const both = await run([...RESTORE, "--to-offset", "5", "--to-time", "2026-01-15T12:00:00Z"]);
  expect(both).toEqual({
    code: 2,
    stderr: "holdfast: give one of --backup, --to-time, --to-offset, not --to-time and --to-offset\n",
  });
  const offset = await run([...RESTORE, "--to-offset", "-1"]);
  expect(offset).toEqual({ code: 2, stderr: 'holdfast: --to-offset must be at least 0, got "-1"\n' });
  const time = await run([...RESTORE, "--to-time", "yesterday"]);
  expect(time.code).toBe(2);
  expect(time.stderr).toMatch(/^holdfast: --to-time must be an RFC 3339 time with a zone .*"yesterday"\n$/);
});

it("refuses bad stream and timeline flags before it runs", async () => {
  const stream = ["stream", "redis", "--sentinels", "127.0.0.1:1", "--master-name", "m", ...WHERE];
  expect(await run([...stream, "--segment-size", "0"])).toEqual({
    code: 2,
    stderr: 'holdfast: --segment-size must be at least 1 bytes, got "0"\n',
  });
  expect(await run([...stream, "--metrics-port", "70000"])).toEqual({
    code: 2,
    stderr: 'holdfast: --metrics-port must be 0..65535, got "70000"\n',
  });
  expect(await run(["stream", "redis", ...WHERE, "--master-name", "m"])).toEqual({
    code: 2,
    stderr: "holdfast: missing --sentinel (or HOLDFAST_SENTINEL)\n",
  });
  expect(await run(["timeline", "--store", "lancedb", ...WHERE])).toEqual({
    code: 2,
    stderr: 'holdfast: --store must be redis, got "lancedb"\n',
  });
});
