// Retention of the stream: the newest chain's base is kept whatever its age; an older chain goes whole
// with its base, and stays whole while its base is kept.
import { chainRetention } from "./chain-retention";
import type { StoredChain } from "./chain-store";

function chain(n: number, base: string): StoredChain {
  return {
    chain: n,
    record: {
      format: "holdfast.redis-stream-chain/1",
      chain: n,
      replid: "r".repeat(40),
      offset: 0,
      base,
      startedAt: "2026-01-01T00:00:00Z",
      cause: "first",
    },
    segments: [{ key: `s/${n}`, start: 0, size: 10 }],
  };
}

it("keeps the newest chain's base, drops older chains whole with their base, keeps kept ones", () => {
  const chains = [chain(1, "a"), chain(2, "b"), chain(3, "c")];
  expect(chainRetention(chains, new Set(["a", "c"]))).toEqual({ protect: ["c"], remove: [chains[0]] });
  expect(chainRetention(chains, new Set())).toEqual({ protect: [], remove: [] });
  expect(chainRetention([], new Set(["a"]))).toEqual({ protect: [], remove: [] });
});
