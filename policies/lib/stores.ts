// The data stores of a stack and the scheduled jobs that back them up and drill their restore.
//
// A Redis store: a StatefulSet or Deployment running a Redis server (a redis-server command or a Redis
// image), or labelled app.kubernetes.io/name=redis without being a sentinel; a Helm release of a Redis
// chart; an ElastiCache replication group, standalone cluster or serverless cache.
// A LanceDB store: a StatefulSet or Deployment labelled app.kubernetes.io/name=lancedb, mounting a
// dataset path (/app/lancedb_data), or told where its dataset is by LANCEDB_URI. Its dataset is on S3
// when LANCEDB_URI is an s3:// URI and nothing is mounted at a dataset path.
// A backup job: a CronJob labelled holdfast.dev/job (and holdfast.dev/store), or running
// `holdfast backup redis|lancedb` / `holdfast drill`; or an ECS task definition of family
// `holdfast-<stack>-<job>` (or running those commands) that an EventBridge schedule or rule runs.
import type { PolicyResource } from "@pulumi/policy";
import { refersTo } from "./buckets";
import {
  CRON_JOB,
  DEPLOYMENT,
  STATEFUL_SET,
  containers,
  envOf,
  imageOf,
  metadataOf,
  podLabels,
  podSpec,
} from "./k8s";
import { asArray, asBoolean, asNumber, asString, at, tryKnown } from "./props";
import { isRedisImage, redisInvocation } from "./redis-conf";
import { ELASTICACHE, helmRedis, isElastiCacheRedis } from "./redis-sources";

/** The labels Holdfast's BackupSchedule puts on its CronJobs (components/backup-schedule/cronjob.ts). */
export const JOB_LABEL = "holdfast.dev/job";
export const STORE_LABEL = "holdfast.dev/store";
/** The scheduled jobs Holdfast declares (components/backup-schedule/jobs.ts). */
export const JOB_NAMES = ["redis-backup", "lancedb-backup", "prune", "restore-drill"] as const;
/** The default dataset path of the application's LanceDB sidecar. */
export const LANCEDB_DATA_PATHS = ["/app/lancedb_data"];

export type StoreKind = "redis" | "lancedb";

/** A data store of the stack. */
export interface Store {
  resource: PolicyResource;
  kind: StoreKind;
  /** How it runs, for messages: `StatefulSet holdfast/redis`, `ElastiCache replication group`. */
  what: string;
  /** Its Kubernetes namespace (undefined for ElastiCache). */
  namespace?: string;
  /** ElastiCache: its automatic snapshots are its backups. */
  managedSnapshots?: boolean;
  /**
   * LanceDB: the dataset's s3:// URI when it lives on S3 (nothing mounted at the dataset path); null when
   * nothing is mounted and LANCEDB_URI is unknown during preview (it names a bucket of the program).
   */
  s3Uri?: string | null;
}

const WORKLOADS = [STATEFUL_SET, DEPLOYMENT];

function workloadStore(r: PolicyResource, dataPaths: string[]): Store | undefined {
  if (!WORKLOADS.includes(r.type)) return undefined;
  const meta = metadataOf(r.props);
  const labels = { ...meta.labels, ...podLabels(r.type, r.props) };
  const list = containers(podSpec(r.type, r.props));
  const what = `${r.type.split(":").pop()} ${[meta.namespace, meta.name ?? r.name].filter(Boolean).join("/")}`;

  const invocations = list.map((c) => redisInvocation(c.command, c.args, () => isRedisImage(imageOf(c))));
  const server = invocations.some((i) => i?.mode === "server");
  const sentinel =
    invocations.some((i) => i?.mode === "sentinel") || labels["app.kubernetes.io/component"] === "sentinel";
  if (server || (labels["app.kubernetes.io/name"] === "redis" && !sentinel))
    return { resource: r, kind: "redis", what, namespace: meta.namespace };

  const mounts = list.flatMap((c) => c.mounts).filter((m) => dataPaths.includes(m.mountPath));
  const uri = list.map((c) => envOf(c).LANCEDB_URI).find((u) => u !== undefined);
  if (labels["app.kubernetes.io/name"] === "lancedb" || mounts.length > 0 || uri !== undefined) {
    const s3Uri =
      mounts.length > 0 ? undefined : uri === null ? null : uri?.startsWith("s3://") ? uri : undefined;
    return { resource: r, kind: "lancedb", what, namespace: meta.namespace, s3Uri };
  }
  return undefined;
}

/** The stores of the stack, and the resources that could not be told apart during preview. */
export function storesOf(
  resources: PolicyResource[],
  dataPaths = LANCEDB_DATA_PATHS,
): { stores: Store[]; unknown: PolicyResource[] } {
  const stores: Store[] = [];
  const unknown: PolicyResource[] = [];
  for (const r of resources) {
    const found = tryKnown((): Store | undefined => {
      const workload = workloadStore(r, dataPaths);
      if (workload) return workload;
      const helm = helmRedis(r.type, r.props);
      if (helm)
        return {
          resource: r,
          kind: "redis",
          what: `Helm release of ${helm.chart}`,
          namespace: asString(at(r.props, "namespace")),
        };
      if (isElastiCacheRedis(r.type, r.props)) {
        const what =
          r.type === ELASTICACHE.serverless
            ? "ElastiCache serverless cache"
            : `ElastiCache ${r.type === ELASTICACHE.cluster ? "cluster" : "replication group"}`;
        return {
          resource: r,
          kind: "redis",
          what,
          managedSnapshots: (asNumber(at(r.props, "snapshotRetentionLimit")) ?? 0) > 0,
        };
      }
      return undefined;
    });
    if (!found.known) unknown.push(r);
    else if (found.value) stores.push(found.value);
  }
  return { stores, unknown };
}

/** A scheduled job of the stack. */
export interface BackupJob {
  resource: PolicyResource;
  /** `redis-backup`, `lancedb-backup`, `restore-drill`, `prune`. */
  job: string;
  /** The store it serves: `redis`, `lancedb`, or `all`. */
  store: string;
  /** Its namespace (undefined for ECS: it reaches stores by address, not by namespace). */
  namespace?: string;
}

/** The job a command line runs, from the words `holdfast backup redis`, `holdfast drill`, ... */
function jobFromCommand(words: string[]): { job: string; store: string } | undefined {
  const line = ` ${words.join(" ")} `;
  if (/ (holdfast )?backup redis /.test(line)) return { job: "redis-backup", store: "redis" };
  if (/ (holdfast )?backup lancedb /.test(line)) return { job: "lancedb-backup", store: "lancedb" };
  if (/ (holdfast )?drill /.test(line)) return { job: "restore-drill", store: "all" };
  return undefined;
}

function storeOfJob(job: string): string {
  return job === "redis-backup" ? "redis" : job === "lancedb-backup" ? "lancedb" : "all";
}

function cronJob(r: PolicyResource): BackupJob | undefined {
  if (r.type !== CRON_JOB) return undefined;
  if (asBoolean(at(r.props, "spec", "suspend")) === true) return undefined; // a suspended schedule runs nothing
  const meta = metadataOf(r.props);
  const labels = { ...podLabels(r.type, r.props), ...meta.labels };
  if (labels[JOB_LABEL]) {
    const job = labels[JOB_LABEL];
    return { resource: r, job, store: labels[STORE_LABEL] ?? storeOfJob(job), namespace: meta.namespace };
  }
  for (const c of containers(podSpec(r.type, r.props))) {
    const found = jobFromCommand([...c.command, ...c.args]);
    if (found) return { resource: r, ...found, namespace: meta.namespace };
  }
  return undefined;
}

const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
const SCHEDULERS: Record<string, string[]> = {
  "aws:scheduler/schedule:Schedule": ["target", "ecsParameters", "taskDefinitionArn"],
  "aws:cloudwatch/eventTarget:EventTarget": ["ecsTarget", "taskDefinitionArn"],
};

function taskJob(r: PolicyResource): { job: string; store: string } | undefined {
  if (r.type !== TASK_DEFINITION) return undefined;
  const family = asString(at(r.props, "family")) ?? "";
  const named = JOB_NAMES.find((j) => family.startsWith("holdfast-") && family.endsWith(`-${j}`));
  if (named) return { job: named, store: storeOfJob(named) };
  const defs = tryKnown(() => JSON.parse(asString(at(r.props, "containerDefinitions")) ?? "[]") as unknown);
  if (!defs.known) return undefined;
  for (const d of asArray(defs.value)) {
    const words = [...asArray(at(d, "entryPoint")), ...asArray(at(d, "command"))].filter(
      (w): w is string => typeof w === "string",
    );
    const found = jobFromCommand(words);
    if (found) return found;
  }
  return undefined;
}

/**
 * The backup, prune and drill jobs the stack schedules; `pending` holds ECS task definitions whose link
 * to a schedule cannot be told during preview (neither counted nor dismissed).
 */
export function backupJobsOf(resources: PolicyResource[]): { jobs: BackupJob[]; pending: BackupJob[] } {
  const jobs: BackupJob[] = [];
  const pending: BackupJob[] = [];
  const schedules = resources.filter((r) => SCHEDULERS[r.type]);
  for (const r of resources) {
    const cron = tryKnown(() => cronJob(r));
    if (cron.known && cron.value) jobs.push(cron.value);
    const task = tryKnown(() => taskJob(r));
    if (!task.known || !task.value) continue;
    const links = schedules.map((s) => {
      const path = SCHEDULERS[s.type];
      return refersTo(s, path[0], () => at(s.props, ...path), r);
    });
    if (links.includes("attached")) jobs.push({ resource: r, ...task.value });
    else if (links.includes("unknown")) pending.push({ resource: r, ...task.value });
  }
  return { jobs, pending };
}

/** The jobs of `kind` (`redis-backup`, ...) that serve `store`: same store (or all) and reachable namespace. */
export function jobsFor(jobs: BackupJob[], store: Store, kinds: string[]): BackupJob[] {
  return jobs.filter(
    (j) =>
      kinds.includes(j.job) &&
      (j.store === store.kind || j.store === "all") &&
      (j.namespace === undefined || store.namespace === undefined || j.namespace === store.namespace),
  );
}
