import { UNKNOWN, checkStack, clone } from "../evaluate/harness";
import type { Fixture } from "../evaluate/harness";
import { redisContinuousProtection as policy } from "./redis-continuous-protection";
import { NAMESPACE, redisStore, schedule, sentinels } from "./fixtures";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Holdfast's ContinuousBackup Deployment: `holdfast stream redis` with its flags as args. */
function stream(namespace = NAMESPACE): Fixture {
  return {
    type: "kubernetes:apps/v1:Deployment",
    name: "redis-stream-deployment",
    props: {
      metadata: { name: "redis-stream", namespace, labels: { "app.kubernetes.io/name": "holdfast-stream" } },
      spec: {
        replicas: 1,
        strategy: { type: "Recreate" },
        template: {
          metadata: { labels: { "app.kubernetes.io/name": "holdfast-stream" } },
          spec: {
            containers: [
              {
                name: "holdfast",
                image: "ghcr.io/holdfast-dev/holdfast-jobs:0.1.0",
                command: ["holdfast", "stream", "redis"],
                args: ["--metrics-port", "9410"],
              },
            ],
          },
        },
      },
    },
  };
}

describe("redis-continuous-protection", () => {
  it("#1 passes Holdfast's Redis set with ContinuousBackup's stream beside it (the stream is no store)", async () => {
    expect((await checkStack(policy, [redisStore(), sentinels(), ...schedule(), stream()])).messages).toEqual(
      [],
    );
  });

  it("#2 advises on a Redis set with scheduled backups only", async () => {
    const { violations } = await checkStack(policy, [redisStore(), sentinels(), ...schedule()]);
    expect(violations.map((v) => [v.message, v.enforcementLevel])).toEqual([
      [
        "Redis store StatefulSet holdfast/redis has no continuous protection (no `holdfast stream redis` in namespace holdfast): it can be restored only to its last backup",
        "advisory",
      ],
    ]);
    expect(violations[0].urn).toMatch(/::redis-data$/);
  });

  it("#3 a stream in another namespace, or another holdfast command, does not count", async () => {
    expect((await checkStack(policy, [redisStore(), stream("elsewhere")])).messages).toHaveLength(1);
    const timeline = stream();
    (timeline.props as Props).spec.template.spec.containers[0].command = ["holdfast", "timeline"];
    expect((await checkStack(policy, [redisStore(), timeline])).messages).toHaveLength(1);
    // The words may come as command and args alike.
    const split = stream();
    Object.assign((split.props as Props).spec.template.spec.containers[0], {
      command: ["holdfast"],
      args: ["stream", "redis"],
    });
    expect((await checkStack(policy, [redisStore(), split])).messages).toEqual([]);
  });

  it("#4 a workload unknown during preview is the preview advisory, not a violation", async () => {
    const pending = clone(stream());
    (pending.props as Props).spec.template.spec.containers = UNKNOWN;
    const { violations } = await checkStack(policy, [redisStore(), pending]);
    expect(violations).toEqual([expect.objectContaining({ unknown: true })]);
  });

  it("#5 ElastiCache has no stream to ask for", async () => {
    const group: Fixture = {
      type: "aws:elasticache/replicationGroup:ReplicationGroup",
      name: "cache",
      props: { engine: "redis", snapshotRetentionLimit: 7 },
    };
    expect((await checkStack(policy, [group])).messages).toEqual([]);
  });
});
