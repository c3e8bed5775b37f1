// The election on simulated time: an in-memory lease, candidates with their own (skewed, drifting)
// clocks, and faults. The invariant "at most one candidate believes it leads" is checked after every
// timer of the simulation and at every step, not only at the end.
import { DEFAULT_TIMINGS, ElectionTimings, Elector, timingProblems } from "./elector";
import { ElectionLoop } from "./loop";
import {
  ClientFaults,
  InMemoryLease,
  InMemoryLeaseClient,
  SimClock,
  SimWorld,
  seededRandom,
} from "../../../harness/election-simulation";

interface Candidate {
  name: string;
  clock: SimClock;
  client: InMemoryLeaseClient;
  elector: Elector;
  loop: ElectionLoop;
  crashed: boolean;
  /** Leadership changes the loop reported, in true time. */
  changes: Array<{ time: number; leading: boolean }>;
  run?: Promise<void>;
}

interface CandidateSpec {
  name: string;
  offset?: number;
  rate?: number;
  faults?: ClientFaults;
  /** True time at which it starts. Default 0. */
  startAt?: number;
}

class Election {
  readonly world = new SimWorld();
  readonly lease = new InMemoryLease(this.world);
  readonly candidates: Candidate[] = [];
  /** Every instant at which more than one candidate believed it led. */
  readonly violations: string[] = [];
  observations = 0;

  constructor(
    specs: CandidateSpec[],
    readonly timings: ElectionTimings = DEFAULT_TIMINGS,
    seed = 1,
  ) {
    const random = seededRandom(seed);
    for (const spec of specs) {
      const clock = new SimClock(this.world, spec.offset ?? 0, spec.rate ?? 1);
      const client = this.lease.client(spec.name, spec.faults ?? {});
      const elector = new Elector(spec.name, client, clock, timings);
      const changes: Candidate["changes"] = [];
      const loop = new ElectionLoop(
        elector,
        clock,
        { onLeadershipChange: (leading) => changes.push({ time: this.world.time, leading }) },
        { random },
      );
      const c: Candidate = { name: spec.name, clock, client, elector, loop, crashed: false, changes };
      this.candidates.push(c);
      const start = () => {
        c.run = c.loop.run();
      };
      if (!spec.startAt) start();
      else void this.world.sleep(spec.startAt).then(start);
    }
    this.world.observers.push((time) => this.check(time));
  }

  candidate(name: string): Candidate {
    return this.candidates.find((c) => c.name === name)!;
  }

  /** Names of the live candidates that believe they lead (by their own clocks) right now. */
  believers(): string[] {
    return this.candidates.filter((c) => !c.crashed && c.elector.isLeader()).map((c) => c.name);
  }

  /** Names of the live candidates whose loop reports them as leader right now. */
  reported(): string[] {
    return this.candidates.filter((c) => !c.crashed && c.loop.leading).map((c) => c.name);
  }

  leader(): string | undefined {
    const b = this.believers();
    return b.length === 1 ? b[0] : undefined;
  }

  private check(time: number): void {
    this.observations++;
    const believers = this.believers();
    const reported = this.reported();
    if (believers.length > 1) this.violations.push(`t=${time}: believers ${believers.join(",")}`);
    if (reported.length > 1) this.violations.push(`t=${time}: reported ${reported.join(",")}`);
  }

  /** The process dies: it stops acting at once, without stepping down through the API or releasing. */
  crash(name: string): void {
    const c = this.candidate(name);
    c.crashed = true;
    void c.loop.stop({ release: false });
  }

  async run(until: number, step = 100): Promise<void> {
    await this.world.runInSteps(until, step);
  }

  /** True time at which `name` last started leading (undefined if never). */
  startedLeading(name: string, after = -Infinity): number | undefined {
    return this.candidate(name).changes.find((ch) => ch.leading && ch.time >= after)?.time;
  }

  /** True time at which `name` last stopped leading after `after`. */
  stoppedLeading(name: string, after = -Infinity): number | undefined {
    return this.candidate(name).changes.find((ch) => !ch.leading && ch.time >= after)?.time;
  }

  /** True time of the last lease write that named `holder` as holder, before `before`. */
  lastWriteBy(holder: string, before = Infinity): number {
    const writes = this.lease.writes.filter((w) => w.record.holderIdentity === holder && w.time < before);
    return writes[writes.length - 1].time;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.candidates.filter((c) => !c.crashed).map((c) => c.loop.stop({ release: false })));
  }
}

const T = DEFAULT_TIMINGS;

describe("election timings", () => {
  test("client-go's defaults are safe", () => {
    expect(timingProblems(DEFAULT_TIMINGS)).toEqual([]);
  });

  test("a renew deadline not shorter than the lease duration is refused", () => {
    expect(
      timingProblems({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).toEqual([expect.stringContaining("renew deadline must be shorter")]);
    expect(
      () => new Elector("a", {} as never, new SimClock(new SimWorld()), { ...T, renewDeadlineMs: 20_000 }),
    ).toThrow(/unsafe election timings/);
  });

  test("a retry period that leaves no room for a retry before the deadline is refused", () => {
    expect(
      timingProblems({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 9_000 }),
    ).toEqual([expect.stringContaining("exceed 1.2 x the retry period")]);
  });
});

describe("election on simulated time", () => {
  test("a single candidate acquires the lease and keeps it", async () => {
    const e = new Election([{ name: "a" }]);
    await e.run(60_000);
    expect(e.candidate("a").changes).toEqual([{ time: 0, leading: true }]);
    expect(e.lease.peek()!.record.holderIdentity).toBe("a");
    // Renewed every retry period: about 30 writes in a minute.
    expect(e.lease.writes.length).toBeGreaterThanOrEqual(29);
    expect(e.violations).toEqual([]);
    await e.stopAll();
  });

  test("two candidates racing for a missing lease: exactly one leads at every instant", async () => {
    const e = new Election([{ name: "a" }, { name: "b" }]);
    await e.run(120_000);
    expect(e.violations).toEqual([]);
    expect(e.observations).toBeGreaterThan(1200);
    const leader = e.leader();
    expect(leader).toBeDefined();
    // Nobody ever changed hands: one start, no stops.
    const changes = e.candidates.flatMap((c) => c.changes.map((ch) => `${c.name}:${ch.leading}`));
    expect(changes).toEqual([`${leader}:true`]);
    expect(e.lease.peek()!.record.leaseTransitions).toBe(0);
    await e.stopAll();
  });

  test("leader crash: the standby leads only after the lease has expired on its own clock", async () => {
    const e = new Election([{ name: "a" }, { name: "b", startAt: 1_000 }]);
    await e.run(30_000);
    expect(e.leader()).toBe("a");
    e.crash("a");
    await e.run(90_000);
    expect(e.violations).toEqual([]);
    expect(e.leader()).toBe("b");
    const lastRenew = e.lastWriteBy("a");
    const takeover = e.startedLeading("b")!;
    // b saw a's last renew no earlier than it was written, and then waited a full lease duration.
    expect(takeover).toBeGreaterThanOrEqual(lastRenew + T.leaseDurationMs);
    // ...but not much longer: at most one jittered retry after expiry.
    expect(takeover).toBeLessThanOrEqual(lastRenew + T.leaseDurationMs + T.retryPeriodMs * 2.2 + 1);
    expect(e.lease.peek()!.record).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    await e.stopAll();
  });

  test("a leader that stops with release hands over within a retry period", async () => {
    const e = new Election([{ name: "a" }, { name: "b", startAt: 1_000 }]);
    await e.run(30_000);
    expect(e.leader()).toBe("a");
    const stopAt = e.world.time;
    const stopped = e.candidate("a").loop.stop({ release: true });
    await e.run(40_000);
    await stopped;
    e.candidate("a").crashed = true;
    expect(e.violations).toEqual([]);
    expect(e.stoppedLeading("a")).toBe(stopAt);
    expect(e.startedLeading("b")!).toBeLessThanOrEqual(stopAt + T.retryPeriodMs * 2.2 + 1);
    await e.stopAll();
  });

  for (const partition of ["error", "blackhole", "lost-response"] as const) {
    test(`network partition of the leader (${partition}): it steps down before the standby takes over`, async () => {
      const e = new Election([{ name: "a" }, { name: "b", startAt: 1_000 }]);
      await e.run(30_000);
      expect(e.leader()).toBe("a");
      const partitionedAt = e.world.time;
      e.candidate("a").client.faults = { partition };
      await e.run(90_000, 50);
      expect(e.violations).toEqual([]);
      const stepDown = e.stoppedLeading("a", partitionedAt)!;
      const takeover = e.startedLeading("b")!;
      expect(stepDown).toBeDefined();
      expect(takeover).toBeDefined();
      // The old leader gave up before its renew deadline ran out, the standby waited a lease duration.
      expect(stepDown).toBeLessThanOrEqual(e.lastWriteBy("a", partitionedAt + 1) + T.renewDeadlineMs);
      expect(takeover).toBeGreaterThan(stepDown);
      expect(takeover - stepDown).toBeGreaterThanOrEqual(T.leaseDurationMs - T.renewDeadlineMs);
      expect(e.leader()).toBe("b");

      // The partition heals: the old leader sees b's lease and stays a follower.
      e.candidate("a").client.faults = {};
      await e.run(150_000);
      expect(e.violations).toEqual([]);
      expect(e.leader()).toBe("b");
      await e.stopAll();
    });
  }

  test("a partition during which the leader's renew lands but its answer is late never yields two leaders", async () => {
    const e = new Election([{ name: "a" }, { name: "b", startAt: 1_000 }]);
    await e.run(20_000);
    // The write reaches the server at once; the answer takes longer than the renew deadline.
    e.candidate("a").client.faults = { responseLatency: 11_000 };
    await e.run(120_000, 50);
    expect(e.violations).toEqual([]);
    await e.stopAll();
  });

  test("slow renew: store latency near the renew deadline makes the leader step down, never two leaders", async () => {
    const random = seededRandom(7);
    // Each leg takes 2-2.75 s, so a renew (read + write, 4 legs) takes 8-11 s against a 10 s deadline.
    const slow = () => 2_000 + random() * 750;
    const e = new Election([
      { name: "a", faults: { requestLatency: slow, responseLatency: slow } },
      { name: "b", faults: { requestLatency: slow, responseLatency: slow }, startAt: 500 },
    ]);
    await e.run(600_000, 100);
    expect(e.violations).toEqual([]);
    // The deadline bit: somebody stepped down at least once, and leadership still existed.
    const stops = e.candidates.flatMap((c) => c.changes.filter((ch) => !ch.leading));
    expect(stops.length).toBeGreaterThan(0);
    expect(e.candidates.some((c) => c.changes.some((ch) => ch.leading))).toBe(true);
    await e.stopAll();
  });

  test("latency well within the deadline keeps one steady leader", async () => {
    const e = new Election([
      { name: "a", faults: { requestLatency: 800, responseLatency: 800 } },
      { name: "b", faults: { requestLatency: 800, responseLatency: 800 }, startAt: 100 },
    ]);
    await e.run(300_000);
    expect(e.violations).toEqual([]);
    const changes = e.candidates.flatMap((c) => c.changes);
    expect(changes).toHaveLength(1);
    await e.stopAll();
  });

  test("clock skew: hours of offset and 10% drift change nothing, and the holder's timestamps are ignored", async () => {
    // a's clock is 3 h behind and 5% slow; b's is 1 h ahead and 10% fast. By b's clock, a's renewTime
    // is always hours old: b must still wait for the lease to stop changing.
    const e = new Election([
      { name: "a", offset: -3 * 3600_000, rate: 0.95 },
      { name: "b", offset: 3600_000, rate: 1.1, startAt: 1_000 },
    ]);
    await e.run(60_000);
    expect(e.leader()).toBe("a");
    expect(e.candidate("b").changes).toEqual([]);
    const renewTime = e.lease.peek()!.record.renewTime;
    expect(e.candidate("b").clock.now() - renewTime).toBeGreaterThan(4 * 3600_000);

    e.candidate("a").client.faults = { partition: "error" };
    await e.run(120_000, 50);
    expect(e.violations).toEqual([]);
    expect(e.leader()).toBe("b");
    const stepDown = e.stoppedLeading("a")!;
    expect(e.startedLeading("b")!).toBeGreaterThan(stepDown);
    await e.stopAll();
  });

  test("the invariant check has teeth: a clock running twice as fast as the leader's breaks the assumption", async () => {
    // Safety assumes clock rates differ by less than leaseDuration / renewDeadline (1.5 by default).
    // b's clock at double speed counts the lease out in 7.5 s of true time while a trusts its renew for 10 s.
    const e = new Election([{ name: "a" }, { name: "b", rate: 2, startAt: 1_000 }]);
    await e.run(30_000);
    e.candidate("a").client.faults = { partition: "error" };
    await e.run(60_000, 50);
    expect(e.violations.length).toBeGreaterThan(0);
    await e.stopAll();
  });

  test("randomized faults: crashes, partitions, heals and jittery latency on three candidates", async () => {
    for (const seed of [11, 23, 37]) {
      const random = seededRandom(seed);
      const latency = () => random() * 1_500;
      const e = new Election(
        ["a", "b", "c"].map((name, i) => ({
          name,
          offset: (random() - 0.5) * 7200_000,
          rate: 0.97 + random() * 0.06,
          startAt: i * 300,
          faults: { requestLatency: latency, responseLatency: latency },
        })),
        T,
        seed,
      );
      const modes = [undefined, "error", "blackhole", "lost-response"] as const;
      for (let t = 20_000; t <= 300_000; t += 20_000) {
        await e.run(t, 100);
        const live = e.candidates.filter((c) => !c.crashed);
        const victim = live[Math.floor(random() * live.length)];
        const action = random();
        if (action < 0.1 && live.length > 2) e.crash(victim.name);
        else
          victim.client.faults = {
            ...victim.client.faults,
            partition: modes[Math.floor(random() * modes.length)],
          };
      }
      for (const c of e.candidates) c.client.faults = {};
      await e.run(360_000, 100);
      expect({ seed, violations: e.violations }).toEqual({ seed, violations: [] });
      expect(e.leader()).toBeDefined();
      await e.stopAll();
    }
  });
});
