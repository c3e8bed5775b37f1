// Backups inside a chain: a replay need not start at the chain's base. Every backup taken over
// replication records the replication id and offset its snapshot stands at (the primary's FULLRESYNC
// reply); when a chain's segments hold that offset under that id, the backup is the dataset at that
// point of the chain, and a restore to a later point can start there and replay only the stream after
// it. A chain runs until a gap, weeks perhaps; the scheduled backups bound a replay to their interval.
// Which candidate fits is settled by the segment that holds its offset (planPoint): the same replication
// id, a safe point (a mark) exactly at the offset, and, for a time, that point arrived by then.
import type { RedisBackupManifest } from "../redis-backup/manifest";
import type { StoredChain } from "./chain-store";
import type { PointTarget } from "./point-plan";

/** A backup that may start a replay inside a chain: its manifest and where it stands. */
export interface Anchor {
  base: RedisBackupManifest;
  replid: string;
  offset: number;
}

/**
 * The committed backups that may start a replay to `target` inside `chain` later than its base, newest
 * offset first: taken over replication (a data-directory backup's offset is INFO's at some moment, not
 * its snapshot's), started after the chain began (older ones belong to an earlier history, whatever
 * their offsets), standing past the chain's start, at or before an offset target, and started at or
 * before a time target.
 * @param manifests the committed backups' manifests (the catalogue's).
 */
export function anchorCandidates(
  chain: StoredChain,
  manifests: Iterable<RedisBackupManifest>,
  target: PointTarget,
): Anchor[] {
  const record = chain.record;
  if (!record) return [];
  const out: Anchor[] = [];
  for (const m of manifests) {
    const { replicationId: replid, replicationOffset: offset } = m.source;
    if (m.method !== "replication" || replid === undefined || offset === undefined) continue;
    if (m.id === record.base || !Number.isSafeInteger(offset) || offset <= record.offset) continue;
    if (Date.parse(m.startedAt) < Date.parse(record.startedAt)) continue;
    if ("time" in target ? Date.parse(m.startedAt) > target.time : offset > target.offset) continue;
    out.push({ base: m, replid, offset });
  }
  return out.sort((a, b) => b.offset - a.offset || (a.base.id < b.base.id ? 1 : -1));
}
