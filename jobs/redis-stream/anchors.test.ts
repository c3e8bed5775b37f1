// Which backups may start a replay inside a chain: replication backups past the chain's start, at or
// before the point, newest offset first; never data-directory backups, the chain's own base, backups
// taken before the chain began, or backups after the point.
import type { RedisBackupManifest } from "../redis-backup/manifest";
import { anchorCandidates } from "./anchors";
import type { StoredChain } from "./chain-store";

const REPLID = "b".repeat(40);

const chain: StoredChain = {
  chain: 1,
  record: {
    format: "holdfast.redis-stream-chain/1",
    chain: 1,
    replid: REPLID,
    offset: 1000,
    base: "20261205T090000.000Z-aaaaaa",
    startedAt: "2026-12-05T09:00:00.000Z",
    cause: "first",
  },
  segments: [{ key: "k", start: 1000, size: 10 }],
};

function backup(
  id: string,
  offset: number | undefined,
  startedAt: string,
  method: RedisBackupManifest["method"] = "replication",
): RedisBackupManifest {
  return {
    id,
    method,
    startedAt,
    source: { replicationId: REPLID, replicationOffset: offset },
  } as RedisBackupManifest;
}

const base = backup(chain.record!.base!, 1000, "2026-12-05T09:00:00.000Z");
const early = backup("20261205T100000.000Z-bbbbbb", 5000, "2026-12-05T10:00:00.000Z");
const late = backup("20261205T110000.000Z-cccccc", 9000, "2026-12-05T11:00:00.000Z");
const fromDataDir = backup("20261205T103000.000Z-dddddd", 7000, "2026-12-05T10:30:00.000Z", "data-dir");
const noOffset = backup("20261205T104000.000Z-eeeeee", undefined, "2026-12-05T10:40:00.000Z");
const older = backup("20261205T080000.000Z-ffffff", 400, "2026-12-05T08:00:00.000Z");
/** Of an earlier history: its offset is past the chain's start, but it was taken before the chain began. */
const earlierHistory = backup("20261205T085959.000Z-abcdef", 6000, "2026-12-05T08:59:59.000Z");
const all = [base, early, late, fromDataDir, noOffset, older, earlierHistory];

describe("backups that may start a replay inside a chain", () => {
  it("are the replication backups past the chain's start, newest offset first", () => {
    const ids = anchorCandidates(chain, all, { offset: 100_000 }).map((a) => a.base.id);
    expect(ids).toEqual([late.id, early.id]);
  });

  it("for an offset, only those at or before it", () => {
    expect(anchorCandidates(chain, all, { offset: 8999 }).map((a) => a.offset)).toEqual([5000]);
    expect(anchorCandidates(chain, all, { offset: 9000 }).map((a) => a.offset)).toEqual([9000, 5000]);
  });

  it("for a time, only those started at or before it", () => {
    const at = (t: string) => anchorCandidates(chain, all, { time: Date.parse(t) }).map((a) => a.base.id);
    expect(at("2026-12-05T10:59:59.999Z")).toEqual([early.id]);
    expect(at("2026-12-05T09:30:00.000Z")).toEqual([]);
  });

  it("carry the replication id and offset the plan matches against the segments", () => {
    expect(anchorCandidates(chain, [early], { offset: 5000 })).toEqual([
      { base: early, replid: REPLID, offset: 5000 },
    ]);
  });

  it("are none for a chain without its record", () => {
    expect(anchorCandidates({ ...chain, record: undefined }, all, { offset: 100_000 })).toEqual([]);
  });
});
