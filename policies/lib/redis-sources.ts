// Where a Redis configuration shows in a Pulumi program, and how to read it: config files in ConfigMaps
// and Secrets (redis.conf, sentinel.conf, ACL files), redis-server command lines of containers, Helm
// charts of Redis, and ElastiCache. The three Redis policies judge what these readers return.
import { Buffer } from "buffer";
import { CONFIG_MAP, SECRET, containers, imageOf, isWorkloadType, podSpec } from "./k8s";
import { Props, asArray, asRecord, asString, at, strings, tryKnown } from "./props";
import {
  ConfigKind,
  ConfigView,
  RedisInvocation,
  classifyConfig,
  isRedisImage,
  parseConfig,
  redisInvocation,
  viewOf,
} from "./redis-conf";

/** A piece of Redis config text found in a resource. */
export interface ConfigDocument {
  /** Where it is, for messages: `data["redis.conf"]`. */
  where: string;
  kind: ConfigKind;
  view: ConfigView;
}

/** The Redis config documents of a ConfigMap's data or a Secret's stringData and (base64) data. */
export function configDocuments(type: string, props: Props): ConfigDocument[] {
  const entries: { where: string; text: string }[] = [];
  if (type === CONFIG_MAP || type === SECRET) {
    const stringData = asRecord(at(props, "stringData")) ?? {};
    for (const key of Object.keys(stringData)) {
      const text = asString(at(stringData, key));
      if (text !== undefined) entries.push({ where: `stringData["${key}"]`, text });
    }
    const data = asRecord(at(props, "data")) ?? {};
    for (const key of Object.keys(data)) {
      // stringData wins over data for the same key, as the API server merges them.
      if (type === SECRET && key in stringData) continue;
      const value = asString(at(data, key));
      if (value === undefined) continue;
      const text = type === SECRET ? Buffer.from(value, "base64").toString("utf8") : value;
      entries.push({ where: `data["${key}"]`, text });
    }
  }
  return entries.flatMap(({ where, text }) => {
    const directives = parseConfig(text);
    const kind = classifyConfig(directives);
    return kind ? [{ where, kind, view: viewOf(directives) }] : [];
  });
}

/** A container that runs Redis, and how. */
export interface RedisContainer {
  /** `container "redis"` or `init container "init"`, for messages. */
  where: string;
  invocation: RedisInvocation;
}

/** The containers of a workload that run a Redis server or sentinel. */
export function redisContainers(type: string, props: Props): RedisContainer[] {
  if (!isWorkloadType(type)) return [];
  return containers(podSpec(type, props)).flatMap((c) => {
    const invocation = redisInvocation(c.command, c.args, () => isRedisImage(imageOf(c)));
    return invocation
      ? [{ where: `${c.init ? "init container" : "container"} "${c.name}"`, invocation }]
      : [];
  });
}

/** Pulumi's Helm resources: a v3 Release (a custom resource) and a v4 Chart (a component). */
export const HELM_TYPES = ["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"];

/** A Helm release of a Redis chart. */
export interface HelmRedis {
  chart: string;
  values: Record<string, unknown>;
}

/** Chart names of Redis: Bitnami's `redis` (and its Valkey twin) and `redis-ha`, from any repository. */
export function isRedisChart(chart: string): boolean {
  const name =
    chart
      .replace(/^oci:\/\//, "")
      .replace(/[:@].*$/, "")
      .split("/")
      .pop() ?? "";
  return /^(redis|valkey)(-ha)?$/.test(name);
}

/** The chart and values of a Helm resource of a Redis chart; undefined otherwise. */
export function helmRedis(type: string, props: Props): HelmRedis | undefined {
  if (!HELM_TYPES.includes(type)) return undefined;
  const chart = asString(at(props, "chart"));
  if (!chart || !isRedisChart(chart)) return undefined;
  return { chart, values: asRecord(at(props, "values")) ?? {} };
}

/** The roles of a Bitnami-style chart whose servers hold data: the primary, and replicas unless standalone. */
export function chartRoles(values: Record<string, unknown>): ("master" | "replica")[] {
  return asString(at(values, "architecture")) === "standalone" ? ["master"] : ["master", "replica"];
}

/**
 * Redis config lines of a chart's values, as the chart writes them into redis.conf: Bitnami's
 * `commonConfiguration` and per-role `configuration`, a top-level `configuration`, redis-ha's
 * `redis.customConfig` and its `redis.config` map.
 */
export function chartConfigText(values: Record<string, unknown>, role: "master" | "replica"): string {
  const parts = [
    asString(at(values, "commonConfiguration")),
    asString(at(values, "configuration")),
    asString(at(values, role, "configuration")),
    asString(at(values, "redis", "customConfig")),
  ];
  const map = asRecord(at(values, "redis", "config"));
  if (map) {
    for (const key of Object.keys(map)) {
      const v = at(map, key);
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean")
        parts.push(`${key} ${typeof v === "string" && v === "" ? '""' : String(v)}`);
    }
  }
  return parts.filter((p): p is string => p !== undefined).join("\n");
}

/** The commands a Bitnami-style chart disables for a role (renamed to ""), upper case; undefined when unset. */
export function chartDisabledCommands(
  values: Record<string, unknown>,
  role: "master" | "replica",
): string[] | undefined {
  const list = at(values, role, "disableCommands") ?? at(values, "disableCommands");
  if (list === undefined || list === null) return undefined;
  return strings(list).map((c) => c.toUpperCase());
}

/** ElastiCache type tokens. */
export const ELASTICACHE = {
  user: "aws:elasticache/user:User",
  replicationGroup: "aws:elasticache/replicationGroup:ReplicationGroup",
  cluster: "aws:elasticache/cluster:Cluster",
  serverless: "aws:elasticache/serverlessCache:ServerlessCache",
};

/**
 * True for an ElastiCache replication group, cluster or serverless cache running Redis or Valkey (not
 * Memcached); a cluster that is a member of a replication group is judged at the group.
 */
export function isElastiCacheRedis(type: string, props: Props): boolean {
  if (![ELASTICACHE.replicationGroup, ELASTICACHE.cluster, ELASTICACHE.serverless].includes(type))
    return false;
  const engine = (asString(at(props, "engine")) ?? "redis").toLowerCase();
  if (engine === "memcached") return false;
  if (type === ELASTICACHE.cluster && asString(at(props, "replicationGroupId"))) return false;
  return true;
}

/**
 * True when an ElastiCache Redis authenticates clients against user groups (RBAC); without one every
 * client is the default user. A group created by the same program has an id unknown during preview: it
 * still counts, since it is there.
 */
export function hasElastiCacheUserGroups(type: string, props: Props): boolean {
  const ids = type === ELASTICACHE.serverless ? [tryKnown(() => at(props, "userGroupId"))] : [];
  if (type !== ELASTICACHE.serverless) {
    const list = tryKnown(() => asArray(at(props, "userGroupIds")));
    if (!list.known) return true;
    for (let i = 0; i < list.value.length; i++) ids.push(tryKnown(() => list.value[i]));
  }
  return ids.some((id) => !id.known || (typeof id.value === "string" && id.value !== ""));
}
