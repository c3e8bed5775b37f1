// SentinelRedis as the dev and prod stacks render it under Pulumi mocks: the objects a protected Redis needs,
// with each stack's sizes, zones and scheduling; persistence and ACLs as the Redis safety model says;
// data kept on delete.
import { findObject, findResource, stackRun, OfflineRun, RenderedObject } from "../../test/support/stack";
import { admits, type NetworkPolicyObject, type PodAt } from "../../test/support/network-policy";
import { busyReplyThresholdFor, PERSISTENCE_LINES } from "./conf";
import { REDIS_CLIENT_LABEL } from "../../core/redis-set";
import { redisSetSettings } from "./sentinel-redis";

type Obj = RenderedObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const stacks: [
  string,
  { namespace: string; zones: number; strict: boolean; storage: string; memory: string; backlog: number },
][] = [
  [
    "dev",
    {
      namespace: "holdfast-dev",
      zones: 1,
      strict: false,
      storage: "2Gi",
      memory: "256Mi",
      backlog: 32 * 2 ** 20,
    },
  ],
  [
    "prod",
    { namespace: "holdfast", zones: 3, strict: true, storage: "50Gi", memory: "8Gi", backlog: 256 * 2 ** 20 },
  ],
];

describe.each(stacks)("the %s stack's Redis set", (stack, expected) => {
  let run: OfflineRun;
  let data: Obj;
  let sentinels: Obj;
  beforeAll(async () => {
    run = await stackRun(stack);
    data = findObject(run, "StatefulSet", "redis") as Obj;
    sentinels = findObject(run, "StatefulSet", "redis-sentinel") as Obj;
  });

  it("has three data pods and three sentinels with quorum 2 in the stack's namespace", () => {
    expect(data.metadata.namespace).toBe(expected.namespace);
    expect(data.spec.replicas).toBe(3);
    expect(sentinels.spec.replicas).toBe(3);
    const conf = (findObject(run, "ConfigMap", "redis-config") as Obj).data["sentinel.conf"];
    expect(conf).toMatch(
      new RegExp(
        `^sentinel monitor holdfast redis-0\\.redis-headless\\.${expected.namespace}\\.svc\\.cluster\\.local 6379 2$`,
        "m",
      ),
    );
    expect(conf).toMatch(/^sentinel down-after-milliseconds holdfast 5000$/m);
    expect(conf).toMatch(/^sentinel (resolve|announce)-hostnames yes$/m);
  });

  it("answers BUSY to a script at half the sentinels' down-after time, so the sidecar kills it before they count the primary down", () => {
    const redisConf = (findObject(run, "ConfigMap", "redis-config") as Obj).data["redis.conf"];
    expect(redisConf).toMatch(/^busy-reply-threshold 2500$/m);
    expect(busyReplyThresholdFor(5000)).toBe(2500);
    expect(busyReplyThresholdFor(60_000)).toBe(5000);
    expect(busyReplyThresholdFor(100)).toBe(100);
  });

  it("gives every pod a stable DNS name through headless services that publish pods before they are ready", () => {
    for (const [name, port] of [
      ["redis-headless", 6379],
      ["redis-sentinel-headless", 26379],
    ] as const) {
      const svc = findObject(run, "Service", name) as Obj;
      expect(svc.spec.clusterIP).toBe("None");
      expect(svc.spec.publishNotReadyAddresses).toBe(true);
      expect(svc.spec.ports[0].port).toBe(port);
    }
    expect(data.spec.serviceName).toBe("redis-headless");
    expect(sentinels.spec.serviceName).toBe("redis-sentinel-headless");
    const client = findObject(run, "Service", "redis-sentinel") as Obj;
    expect(client.spec.selector["app.kubernetes.io/component"]).toBe("sentinel");
  });

  it("keeps volumes on delete and scale-down, on a Retain storage class, at the stack's size", () => {
    expect(data.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
    expect(sentinels.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
    const claim = data.spec.volumeClaimTemplates[0];
    expect(claim.spec.resources.requests.storage).toBe(expected.storage);
    const sc = findObject(run, "StorageClass", claim.spec.storageClassName) as Obj;
    expect(sc.reclaimPolicy).toBe("Retain");
    expect(sc.parameters.encrypted).toBe("true");
    expect(sc.allowVolumeExpansion).toBe(true);
  });

  it("spreads pods over the stack's zones, strictly in prod", () => {
    for (const sts of [data, sentinels]) {
      const spec = sts.spec.template.spec;
      const zoneTerm =
        spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0];
      expect(zoneTerm.matchExpressions[0].values).toHaveLength(expected.zones);
      const spread = spec.topologySpreadConstraints.map((c: Obj) => [c.topologyKey, c.whenUnsatisfiable]);
      const mode = expected.strict ? "DoNotSchedule" : "ScheduleAnyway";
      expect(spread).toEqual([
        ["topology.kubernetes.io/zone", mode],
        ["kubernetes.io/hostname", mode],
      ]);
      const anti = spec.affinity.podAntiAffinity;
      expect(Boolean(anti.requiredDuringSchedulingIgnoredDuringExecution)).toBe(expected.strict);
    }
  });

  it("runs every container restricted: non-root, no escalation, no capabilities, RuntimeDefault seccomp, read-only root", () => {
    for (const sts of [data, sentinels]) {
      const pod = sts.spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of [...pod.initContainers, ...pod.containers]) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(c.resources.limits.memory).toBeDefined();
        expect(c.resources.requests.cpu).toBeDefined();
      }
    }
    const redis = data.spec.template.spec.containers.find((c: Obj) => c.name === "redis");
    expect(redis.resources.limits.memory).toBe(expected.memory);
    expect(redis.readinessProbe.exec.command.join(" ")).toMatch(/master_link_status:up/);
    expect(redis.livenessProbe.exec.command.join(" ")).toMatch(/LOADING/);
  });

  it("runs the start-up logic and the hand-over from the jobs image", () => {
    const pod = data.spec.template.spec;
    expect(pod.initContainers[0].command).toEqual(["holdfast", "pod", "init", "redis"]);
    const agent = pod.containers.find((c: Obj) => c.name === "holdfast");
    expect(agent.lifecycle.preStop.exec.command).toEqual(["holdfast", "pod", "handover", "redis"]);
    const redis = pod.containers.find((c: Obj) => c.name === "redis");
    expect(redis.lifecycle.preStop.exec.command.join(" ")).toMatch(/handover\.done/);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(60);
    expect(data.spec.podManagementPolicy).toBe("Parallel");
    expect(sentinels.spec.template.spec.initContainers[0].command).toEqual([
      "holdfast",
      "pod",
      "init",
      "sentinel",
    ]);
  });

  it("loads Holdfast's persistence settings, and stops writes on an isolated primary", () => {
    const conf = (findObject(run, "ConfigMap", "redis-config") as Obj).data["redis.conf"] as string;
    for (const line of [
      "save 60 1000",
      "save 300 10",
      "save 900 1",
      "appendonly yes",
      "appendfsync everysec",
      "aof-use-rdb-preamble yes",
      "aof-load-truncated yes",
    ]) {
      expect(conf.split("\n")).toContain(line);
    }
    expect(PERSISTENCE_LINES.every((l) => conf.includes(l))).toBe(true);
    expect(conf).toMatch(/^min-replicas-to-write 1$/m);
    expect(conf).toMatch(/^min-replicas-max-lag 10$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
  });

  it("keeps a replication backlog that a replica or the stream away through a pod move can continue from, never freed", () => {
    const conf = (findObject(run, "ConfigMap", "redis-config") as Obj).data["redis.conf"] as string;
    expect(conf).toMatch(new RegExp(`^repl-backlog-size ${expected.backlog}$`, "m"));
    expect(conf).toMatch(/^repl-backlog-ttl 0$/m);
    const maxmemory = Number(/^maxmemory (\d+)$/m.exec(conf)![1]);
    expect(expected.backlog).toBeLessThanOrEqual(maxmemory / 4);
  });

  it("has no usable default user and keeps the flushes and scripts that write from the application user, with every password generated", () => {
    const secret = findObject(run, "Secret", "redis-auth") as Obj;
    const acl = secret.stringData["users.acl"] as string;
    expect(acl).toMatch(/^user default off /m);
    expect(acl).toMatch(
      /^user app on #[0-9a-f]{64} .*-@scripting \+eval_ro \+evalsha_ro \+fcall_ro .*-flushall -flushdb/m,
    );
    expect(acl).toMatch(
      /^user backup on #[0-9a-f]{64} -@all \+psync\|\? \+replconf\|capa \+replconf\|rdb-only \+ping \+info \+role$/m,
    );
    expect(acl).not.toMatch(/>/); // no password in clear in the ACL file
    for (const role of ["app", "replication", "sentinel", "backup", "admin", "probe", "discovery"]) {
      const password = findResource(
        run,
        "random:index/randomPassword:RandomPassword",
        `redis-${role}-password`,
      );
      expect(password.inputs).toMatchObject({ length: 32, special: false });
    }
  });

  it("admits to 6379 and 26379 only its own pods and pods labelled as Redis clients, Holdfast's backup job among them", () => {
    const np = findObject(run, "NetworkPolicy", "redis") as unknown as NetworkPolicyObject;
    const ns = expected.namespace;
    const pod = (o: Obj): PodAt => ({ namespace: ns, labels: o.spec.template.metadata.labels });
    const dataPod = pod(data);
    const sentinelPod = pod(sentinels);
    const backupJob = findObject(run, "CronJob", "redis-backup") as Obj;
    const backupPod = { namespace: ns, labels: backupJob.spec.jobTemplate.spec.template.metadata.labels };
    const client = { namespace: ns, labels: { app: "recommender", [REDIS_CLIENT_LABEL]: "true" } };
    const others: PodAt[] = [
      { namespace: ns, labels: { app: "recommender" } },
      { namespace: "elsewhere", labels: { [REDIS_CLIENT_LABEL]: "true" } },
      { namespace: "monitoring", labels: { app: "prometheus" } },
    ];
    for (const target of [dataPod, sentinelPod])
      for (const port of [6379, 26379]) {
        for (const source of [dataPod, sentinelPod, backupPod, client])
          expect(admits([np], source, target, port)).toBe(true);
        for (const source of others) expect(admits([np], source, target, port)).toBe(false);
      }
    expect(admits([np], others[2], dataPod, 9121)).toBe(true);
    expect(admits([np], others[1], dataPod, 9121)).toBe(false);
    expect(REDIS_CLIENT_LABEL).toBe("holdfast.dev/redis-client");
  });

  it("never lets a voluntary disruption take more than one data pod or the sentinels' majority", () => {
    expect((findObject(run, "PodDisruptionBudget", "redis") as Obj).spec.maxUnavailable).toBe(1);
    expect((findObject(run, "PodDisruptionBudget", "redis-sentinel") as Obj).spec.maxUnavailable).toBe(1);
  });

  it("protects and retains the StatefulSets, their storage class and the namespace holding the claims", () => {
    for (const [type, name] of [
      ["kubernetes:apps/v1:StatefulSet", "redis-data"],
      ["kubernetes:apps/v1:StatefulSet", "redis-sentinel"],
      ["kubernetes:storage.k8s.io/v1:StorageClass", "redis-storage"],
      ["kubernetes:core/v1:Namespace", "namespace"],
    ]) {
      expect(findResource(run, type, name)).toMatchObject({ protect: true, retainOnDelete: true });
    }
  });
});

describe("stack config reaches the Redis set", () => {
  it("follows allowedNamespaces, replicas and an existing storage class", async () => {
    const run = await stackRun("dev", {
      "holdfast:allowedNamespaces": ["apps", "recommender"],
      "holdfast:redisReplicas": 5,
      "holdfast:storageClassName": "gp3-retain",
    });
    const np = findObject(run, "NetworkPolicy", "redis") as unknown as NetworkPolicyObject;
    const target = {
      namespace: "holdfast-dev",
      labels: (findObject(run, "StatefulSet", "redis") as Obj).spec.template.metadata.labels,
    };
    for (const namespace of ["holdfast-dev", "apps", "recommender"])
      expect(admits([np], { namespace, labels: { [REDIS_CLIENT_LABEL]: "true" } }, target, 6379)).toBe(true);
    expect(admits([np], { namespace: "other", labels: { [REDIS_CLIENT_LABEL]: "true" } }, target, 6379)).toBe(
      false,
    );
    const data = findObject(run, "StatefulSet", "redis") as Obj;
    expect(data.spec.replicas).toBe(5);
    expect(data.spec.volumeClaimTemplates[0].spec.storageClassName).toBe("gp3-retain");
    expect(
      run.resources.some(
        (r) => r.type === "kubernetes:storage.k8s.io/v1:StorageClass" && r.name === "redis-storage",
      ),
    ).toBe(false);
    expect(findObject(run, "ConfigMap", "redis-config").data).toBeDefined();
  });
});

describe("the SentinelRedis component's replication backlog", () => {
  const args = { namespace: "n", jobsImage: "holdfast-jobs:1" };
  it("defaults to 64Mi, a sixth of the default 512Mi pods' maxmemory", () => {
    expect(redisSetSettings("redis", args).replBacklogSize).toBe("64Mi");
  });
  it("refuses one that would take more than a quarter of maxmemory, which Redis counts it toward", () => {
    expect(() =>
      redisSetSettings("redis", { ...args, memoryLimit: "256Mi", replBacklogSize: "64Mi" }),
    ).toThrow(/^SentinelRedis redis: replBacklogSize 64Mi is more than a quarter of maxmemory \(192Mi/);
    expect(
      redisSetSettings("redis", { ...args, memoryLimit: "8Gi", replBacklogSize: "1Gi" }).replBacklogSize,
    ).toBe("1Gi");
  });
});
