// The pieces of the store-generic commands that need no server: flag values (sizes, counts, the
// retention defaults), how numbers are shown, and which stores `--store` selects.
import { UsageError } from "../cli/errors";
import { byteSize, parseFlags } from "../cli/args";
import type { StoreModule } from "../store/catalog";
import { RETENTION_DEFAULTS, RETENTION_FLAGS, retentionPolicy } from "../store/flags";
import { formatBytes, formatDuration, formatTable } from "../cli/format";
import { selectStores, storeModules } from "./stores";

describe("flag values", () => {
  it("reads sizes in binary units and refuses anything else", () => {
    expect(byteSize("16MiB", "part-size")).toBe(16 * 2 ** 20);
    expect(byteSize("8M", "part-size")).toBe(8 * 2 ** 20);
    expect(byteSize("1.5GiB", "part-size")).toBe(1.5 * 2 ** 30);
    expect(byteSize("4096", "part-size")).toBe(4096);
    expect(() => byteSize("lots", "--part-size")).toThrow(
      new UsageError('--part-size must be a size such as 16MiB, got "lots"'),
    );
  });

  it("reads whole numbers with a minimum", () => {
    const specs = { attempts: { type: "integer", min: 1, help: "" } } as const;
    expect(parseFlags(["--attempts", "3"], specs, {}).attempts).toBe(3);
    expect(() => parseFlags(["--attempts", "0"], specs, {})).toThrow(/--attempts must be at least 1/);
    expect(() => parseFlags(["--keep-last", "2.5"], RETENTION_FLAGS, {})).toThrow(UsageError);
  });

  it("defaults retention to 30 days of daily backups: the newest 7, then one a day for 30 days", () => {
    expect(RETENTION_DEFAULTS).toEqual({ keepLast: 7, keepDaily: 30, keepWeekly: 0, keepMonthly: 0 });
    expect(retentionPolicy(parseFlags([], RETENTION_FLAGS, {}))).toEqual(RETENTION_DEFAULTS);
    expect(
      retentionPolicy(parseFlags(["--keep-weekly", "8"], RETENTION_FLAGS, { HOLDFAST_KEEP_LAST: "3" })),
    ).toEqual({ keepLast: 3, keepDaily: 30, keepWeekly: 8, keepMonthly: 0 });
  });
});

describe("formatting", () => {
  it("shows sizes, ages and tables for people", () => {
    expect(formatBytes(900)).toBe("900 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(1.2 * 2 ** 30)).toBe("1.2 GiB");
    expect(formatDuration(45_000)).toBe("45s");
    expect(formatDuration(3 * 3600_000 + 600_000)).toBe("3h10m");
    expect(formatDuration(4 * 86_400_000 + 2 * 3600_000)).toBe("4d2h");
    expect(
      formatTable(
        ["A", "N"],
        [
          ["x", 1],
          ["long", 100],
        ],
      ),
    ).toBe("A       N\nx       1\nlong  100");
  });
});

describe("selectStores", () => {
  const fake = (kind: "redis" | "lancedb") => ({ kind }) as StoreModule;
  const modules = [fake("redis"), fake("lancedb")];

  it("uses every registered store by default, and says when the user named them", () => {
    expect(selectStores([], modules)).toEqual({ stores: modules, explicit: false });
    expect(selectStores(["lancedb"], modules)).toEqual({ stores: [modules[1]], explicit: true });
    expect(() => selectStores(["mysql"], modules)).toThrow(
      /--store must be one of redis, lancedb, got "mysql"/,
    );
  });

  it("registers the Redis store", () => {
    expect(storeModules.map((m) => m.kind)).toContain("redis");
  });
});
