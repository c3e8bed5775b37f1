// Sample data shaped like an application's: per knowledge base the patterns with their emotives, metadata and
// frequency counters, and the symbol frequencies and PMF (what lives only in
// Redis); and the proposal-log rows with vectors the application's sidecar keeps in LanceDB.
import type Redis from "ioredis";
import { prng } from "../harness/prng";

/** Knowledge bases of the sample. */
export const KNOWLEDGE_BASES = ["kb-alpha", "kb-beta", "kb-gamma"];

/** The key patterns a backup counts and the sandbox checks (the usual check, plus frequencies). */
export const CHECKED_PATTERNS = ["*:emotives:*", "*:metadata:*", "*:frequency:*"];

const EMOTIVES = ["joy", "trust", "fear", "surprise", "sadness", "anticipation"];
const SYMBOLS = Array.from({ length: 64 }, (_, i) => `sym-${i.toString(36)}`);

type Command = (string | number)[];

/** The sample's writes, in batches of at most `batchSize` commands (a pure function of the size). */
export function sampleCommands(patternsPerBase: number, batchSize = 2000): Command[][] {
  const random = prng(2026);
  const commands: Command[] = [];
  for (const kb of KNOWLEDGE_BASES) {
    for (let i = 0; i < patternsPerBase; i++) {
      const id = `p${i.toString(16).padStart(5, "0")}`;
      const sequence = Array.from(
        { length: 4 + (i % 5) },
        () => SYMBOLS[Math.floor(random() * SYMBOLS.length)],
      );
      commands.push(
        ["hset", `${kb}:patterns:${id}`, "sequence", sequence.join(" "), "length", String(sequence.length)],
        ["hset", `${kb}:emotives:${id}`, ...EMOTIVES.flatMap((e) => [e, random().toFixed(4)])],
        [
          "hset",
          `${kb}:metadata:${id}`,
          "tag",
          `topic-${i % 17}`,
          "source",
          "training",
          "annotated_by",
          `analyst-${i % 5}`,
        ],
        ["set", `${kb}:frequency:${id}`, String(1 + Math.floor(random() * 1000))],
      );
    }
    commands.push(
      ["zadd", `${kb}:symbols:frequencies`, ...SYMBOLS.flatMap((sym) => [Math.floor(random() * 10000), sym])],
      ["hset", `${kb}:symbols:pmf`, ...SYMBOLS.flatMap((sym) => [sym, (1 / SYMBOLS.length).toFixed(6)])],
    );
  }
  const batches: Command[][] = [];
  for (let i = 0; i < commands.length; i += batchSize) batches.push(commands.slice(i, i + batchSize));
  return batches;
}

/**
 * Writes `patternsPerBase` patterns per knowledge base, pipelined (a long Lua script would block Redis
 * past the sentinels' down-after time). A batch the primary refuses (NOREPLICAS while its replicas catch
 * up with a burst) is sent again, as an application retries. Resolves to the number of keys written.
 */
export async function loadRedisSample(app: Redis, patternsPerBase: number): Promise<number> {
  let keys = 0;
  for (const batch of sampleCommands(patternsPerBase)) {
    for (let attempt = 1; ; attempt++) {
      const error = (await app.pipeline(batch).exec())?.find(([e]) => e)?.[0];
      if (!error) break;
      if (attempt >= 30) throw new Error(`loading the sample failed: ${error.message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    keys += batch.length; // every command writes a key of its own
  }
  return keys;
}

/** Width of the proposal vectors. */
export const VECTOR_DIM = 32;

/** One proposal-log row, a pure function of its id. */
export function proposalRow(id: number): Record<string, unknown> {
  const random = prng(id + 1);
  return {
    id,
    kb_id: KNOWLEDGE_BASES[id % KNOWLEDGE_BASES.length],
    proposal: `proposal ${id}: extend pattern p${(id * 7).toString(16)} with ${Math.floor(random() * 100)} symbols`,
    score: Math.round(random() * 10000) / 10000,
    vector: Array.from({ length: VECTOR_DIM }, () => random() * 2 - 1),
  };
}
