// Retention of the stream: a chain lives and dies with its base. The base of the newest chain (the one
// the stream extends) is always kept, whatever its age; an older chain is kept whole while retention
// keeps its base, and deleted whole (record first, then its segments) with it. No segment a kept base
// needs is ever deleted, and no chain is ever cut short.
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import type { StoreLocation } from "../store/catalog";
import { mapLimit } from "../store/map-limit";
import { chainRecordKey } from "./segment";
import { listChains, type StoredChain } from "./chain-store";

/** What retention does to the chains, given the backups it drops. */
export interface ChainRetention {
  /** Bases dropped by retention that must be kept: the newest chain's. */
  protect: string[];
  /** Chains to delete whole (their base is deleted). */
  remove: StoredChain[];
}

/** Decides (pure). */
export function chainRetention(chains: StoredChain[], drop: Set<string>): ChainRetention {
  const newest = chains[chains.length - 1];
  const protect = newest?.record?.base && drop.has(newest.record.base) ? [newest.record.base] : [];
  const remove = chains.filter((c) => c !== newest && c.record?.base && drop.has(c.record.base));
  return { protect, remove };
}

/** Reads the chains and decides. */
export async function planChainRetention(at: StoreLocation, drop: Set<string>): Promise<ChainRetention> {
  return chainRetention(await listChains(at), drop);
}

/** Deletes whole chains: the record first (the chain is then no longer restorable), then the segments. */
export async function deleteChains(
  at: StoreLocation,
  chains: StoredChain[],
): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  const del = (key: string) => at.client.send(new DeleteObjectCommand({ Bucket: at.bucket, Key: key }));
  for (const c of chains) {
    if (c.record) await del(chainRecordKey(at.layout.redis, c.chain));
    await mapLimit(c.segments, 8, (s) => del(s.key));
    objects += c.segments.length + (c.record ? 1 : 0);
    bytes += c.segments.reduce((n, s) => n + s.size, 0);
  }
  return { objects, bytes };
}
