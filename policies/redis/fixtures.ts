// Compliant Redis resources for the Redis policies' tests, shaped like Holdfast's own and like the common
// ways other programs run Redis; each test mutates one field to show one violation.
import type { Fixture } from "../evaluate/harness";
import { secret } from "../evaluate/harness";

export const USERS_ACL = [
  "user default off resetpass -@all",
  "user app on #0a0b ~* &* +@all -@dangerous -@scripting +eval_ro +evalsha_ro +fcall_ro +script|load +script|exists +function|list +info +role +keys +sort +sort_ro -flushall -flushdb -swapdb",
  "user replication on #0a0c -@all +psync +replconf +ping",
  "user backup on #0a0f -@all +psync|? +replconf|capa +replconf|rdb-only +ping +info +role",
  "user admin on #0a0d ~* &* +@all",
  "",
].join("\n");

export const SENTINEL_AUTH = [
  "sentinel auth-user holdfast sentinel",
  "sentinel auth-pass holdfast s3cret",
  "user default off resetpass -@all",
  "user sentinel on #0a0e allchannels +@all",
  "",
].join("\n");

export const REDIS_CONF = [
  "port 6379",
  "dir /data",
  "aclfile /etc/holdfast/auth/users.acl",
  "save 60 1000",
  "save 300 10",
  "save 900 1",
  "appendonly yes",
  "appendfsync everysec",
  "include /etc/holdfast/auth/replication.conf",
  "",
].join("\n");

export const SENTINEL_CONF = "port 26379\nsentinel monitor holdfast redis-0.redis-headless 6379 2\n";

/** Holdfast's Secret: the ACL files as a Pulumi secret, as the engine sends it. */
export function authSecret(stringData: Record<string, string> = {}): Fixture {
  return {
    type: "kubernetes:core/v1:Secret",
    name: "redis-auth",
    props: {
      metadata: { name: "redis-auth", namespace: "holdfast" },
      type: "Opaque",
      stringData: secret({
        "users.acl": USERS_ACL,
        "replication.conf": "masteruser replication\nmasterauth s3cret\n",
        "sentinel-auth.conf": SENTINEL_AUTH,
        "app-password": "s3cret",
        ...stringData,
      }),
    },
  };
}

/** Holdfast's ConfigMap. */
export function configMap(data: Record<string, string> = {}): Fixture {
  return {
    type: "kubernetes:core/v1:ConfigMap",
    name: "redis-config",
    props: {
      metadata: { name: "redis-config", namespace: "holdfast" },
      data: { "redis.conf": REDIS_CONF, "sentinel.conf": SENTINEL_CONF, ...data },
    },
  };
}

/** A StatefulSet running `redis` with `command` and `args`. */
export function redisStatefulSet(container: Record<string, unknown>): Fixture {
  return {
    type: "kubernetes:apps/v1:StatefulSet",
    name: "cache",
    props: {
      metadata: { name: "cache", namespace: "apps" },
      spec: {
        replicas: 1,
        serviceName: "cache",
        selector: { matchLabels: { app: "cache" } },
        template: {
          metadata: { labels: { app: "cache" } },
          spec: {
            containers: [
              {
                name: "redis",
                image: "redis:7.2",
                volumeMounts: [{ name: "data", mountPath: "/data" }],
                ...container,
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          },
        ],
      },
    },
  };
}

/** The command line of a compliant plain Redis container. */
export const SAFE_ARGS = [
  "--appendonly",
  "yes",
  "--appendfsync",
  "everysec",
  "--save",
  "900",
  "1",
  "--requirepass",
  "s3cret",
  "--rename-command",
  "FLUSHALL",
  "",
  "--rename-command",
  "FLUSHDB",
  "",
];

/** A Bitnami Redis chart through Pulumi's Helm v4 Chart, with `values`. */
export function helmChart(values: Record<string, unknown>): Fixture {
  return {
    type: "kubernetes:helm.sh/v4:Chart",
    name: "redis",
    props: { chart: "oci://registry-1.docker.io/bitnamicharts/redis", version: "20.6.0", values },
  };
}

/** Values of a compliant Bitnami Redis release. */
export function safeChartValues(): Record<string, unknown> {
  return {
    architecture: "replication",
    auth: { enabled: true },
    commonConfiguration: "appendonly yes\nappendfsync everysec\nsave 900 1\nsave 60 1000\n",
    master: { disableCommands: ["FLUSHDB", "FLUSHALL"], persistence: { enabled: true, size: "8Gi" } },
    replica: { disableCommands: ["FLUSHDB", "FLUSHALL"], persistence: { enabled: true, size: "8Gi" } },
  };
}

/** An ElastiCache replication group with auth, TLS, RBAC and snapshots. */
export function replicationGroup(props: Record<string, unknown> = {}): Fixture {
  return {
    type: "aws:elasticache/replicationGroup:ReplicationGroup",
    name: "cache",
    props: {
      description: "cache",
      engine: "redis",
      nodeType: "cache.t4g.small",
      numCacheClusters: 2,
      transitEncryptionEnabled: true,
      userGroupIds: ["app-users"],
      snapshotRetentionLimit: 7,
      ...props,
    },
  };
}

/** An ElastiCache user. */
export function elastiCacheUser(props: Record<string, unknown> = {}): Fixture {
  return {
    type: "aws:elasticache/user:User",
    name: "app-user",
    props: {
      userId: "app",
      userName: "app",
      engine: "redis",
      accessString: "on ~* +@all -@dangerous",
      authenticationMode: { type: "password", passwords: [secret("a-long-password-1234")] },
      ...props,
    },
  };
}
