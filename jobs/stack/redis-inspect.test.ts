// Judging a set from what its sentinels and nodes said (pure), and finding the report in a Job's log.
import {
  assess,
  countReplicas,
  INSPECT_KIND,
  type NodeReport,
  reportFromLog,
  type SentinelReport,
} from "./redis-inspect";

const N = ["redis-0:6379", "redis-1:6379", "redis-2:6379"];
const sentinel = (i: number, primary = N[0], replicas = 2, stale = 0): SentinelReport => ({
  address: `s${i}:26379`,
  reachable: true,
  primary,
  replicas,
  staleReplicas: stale,
});
const whole = (): NodeReport[] => [
  { address: N[0], reachable: true, role: "primary", onlineReplicas: 2, goodReplicas: 2, keys: 10 },
  { address: N[1], reachable: true, role: "replica", following: N[0], inSync: true, keys: 10 },
  { address: N[2], reachable: true, role: "replica", following: N[0], inSync: true, keys: 10 },
];

test("a whole set led by the expected primary", () => {
  expect(assess([sentinel(0), sentinel(1), sentinel(2)], whole(), N[0])).toEqual({
    primary: N[0],
    primaryIndex: 0,
    problems: [],
    notes: [],
  });
});

test("sentinels that do not list every replica yet are noted, not waited for", () => {
  const r = assess([sentinel(0, N[0], 0), sentinel(1), sentinel(2, N[0], 1)], whole(), N[0]);
  expect(r.problems).toEqual([]);
  expect(r.notes).toEqual([
    "sentinel s0:26379 lists 0 of 2 replicas yet (it reads the primary's INFO every 10 s)",
    "sentinel s2:26379 lists 1 of 2 replicas yet (it reads the primary's INFO every 10 s)",
  ]);
});

test("a primary whose replicas are not all online, or not counted for writes, is not whole", () => {
  const s = [sentinel(0), sentinel(1), sentinel(2)];
  const offline = whole();
  offline[0] = { ...offline[0], onlineReplicas: 1, goodReplicas: 1 };
  expect(assess(s, offline, N[0]).problems).toEqual([`${N[0]} has 1 of 2 replicas online`]);
  const lagging = whole();
  lagging[0] = { ...lagging[0], goodReplicas: 1 };
  expect(assess(s, lagging, N[0]).problems).toEqual([
    `${N[0]} counts 1 of 2 replicas for min-replicas-to-write`,
  ]);
});

test("every sentinel that answers must name the same primary", () => {
  expect(assess([sentinel(0), sentinel(1), sentinel(2, N[1])], whole(), N[0]).problems).toEqual([
    "sentinel s2:26379 names redis-1:6379 primary",
  ]);
  const unaware: SentinelReport = { address: "s2:26379", reachable: true, error: "ERR No such master" };
  expect(assess([sentinel(0), sentinel(1), unaware], whole(), N[0]).problems).toEqual([
    "sentinel s2:26379 does not monitor the set: ERR No such master",
  ]);
});

test("what keeps a set from being whole", () => {
  const nodes = whole();
  nodes[1] = { ...nodes[1], inSync: false };
  nodes[2] = { address: N[2], reachable: false, error: "ECONNREFUSED" };
  const r = assess(
    [sentinel(0, N[1]), sentinel(1, N[1], 1, 1), { address: "s2:26379", reachable: false, error: "timeout" }],
    nodes,
    N[0],
  );
  expect(r.primaryIndex).toBe(1);
  expect(r.problems).toEqual([
    "sentinels not answering: s2:26379",
    `the sentinels name ${N[1]} primary, not ${N[0]}`,
    `${N[1]} serves as replica`,
    `${N[0]} serves as primary too`,
    `${N[2]} does not answer`,
    "sentinel s1:26379 lists 1 stale replicas",
  ]);
  expect(assess([sentinel(0, N[0]), sentinel(1, N[1]), sentinel(2, N[2])], whole()).problems[0]).toBe(
    "no primary named by 2 of 3 sentinels",
  );
});

test("the report is the last line of its kind in a Job's log", () => {
  const line = (healthy: boolean) =>
    JSON.stringify({ kind: INSPECT_KIND, healthy, problems: [], sentinels: [], nodes: [] });
  const log = [
    '{"level":"info","msg":"waiting for the set"}',
    line(false),
    `{"level":"warn","msg":"mentions ${INSPECT_KIND} but is no report"}`,
    line(true),
    '{"level":"info","msg":"the set is whole"}',
  ].join("\n");
  expect(reportFromLog(log)?.healthy).toBe(true);
  expect(reportFromLog("holdfast: missing --sentinel")).toBeUndefined();
});

test("a sentinel's entry without a listening port (the stream) is no node of the set", () => {
  const entry = (port: string, flags: string) => ({ ip: "10.0.0.5", port, flags });
  expect(
    countReplicas([entry("6379", "slave"), entry("6379", "slave"), entry("0", "s_down,slave,disconnected")]),
  ).toEqual({ replicas: 2, staleReplicas: 0 });
  expect(countReplicas([entry("6379", "slave"), entry("6379", "s_down,slave")])).toEqual({
    replicas: 1,
    staleReplicas: 1,
  });
});
