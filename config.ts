// The stack's typed configuration. The schema, defaults and descriptions live in Pulumi.yaml; this module
// reads that schema at run time so the program gets the same values under the Pulumi CLI and offline
// under mocks (where the CLI does not apply schema defaults).
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { JOB_SERVICE_ACCOUNTS } from "./components/backup-bucket/policies";
import { imageProblem } from "./components/shared/image-ref";
import { checkEngineImage } from "./core/engines";
import { replBacklogProblem } from "./components/redis/conf";

/** One key of the `config:` block of Pulumi.yaml. */
export interface ConfigKeySchema {
  type: "string" | "integer" | "boolean" | "array";
  items?: { type: "string" | "integer" | "boolean" };
  default?: unknown;
  description: string;
}

/** The project's configuration schema, keyed by the key's name without the `holdfast:` namespace. */
export type ConfigSchema = Record<string, ConfigKeySchema>;

/** Everything a Holdfast stack is configured with; see Pulumi.yaml for each key's meaning. */
export interface HoldfastConfig {
  stack: string;
  namespace: string;
  kubeContext: string;
  zones: string[];
  strictScheduling: boolean;
  allowedNamespaces: string[];
  storageClassName: string;
  redisEngine: string;
  redisImage: string;
  jobsImage: string;
  redisMasterName: string;
  redisReplicas: number;
  sentinelReplicas: number;
  sentinelQuorum: number;
  downAfterMilliseconds: number;
  failoverTimeoutMilliseconds: number;
  minReplicasToWrite: number;
  minReplicasMaxLag: number;
  replBacklogSize: string;
  redisStorageSize: string;
  redisCpuRequest: string;
  redisCpuLimit: string;
  redisMemoryLimit: string;
  sentinelMemoryLimit: string;
  backupPrefix: string;
  backupNoncurrentVersionDays: number;
  backupTransitionDays: number;
  backupTransitionStorageClass: string;
  backupObjectLockMode: string;
  backupObjectLockDays: number;
  backupReplicaRegion: string;
  backupKmsKeyArn: string;
  oidcProviderArn: string;
  oidcIssuer: string;
  buildJobsImage: boolean;
  jobsImageKeep: number;
  lancedbMode: string;
  lancedbAppImage: string;
  lancedbAppPort: number;
  lancedbAppUid: number;
  lancedbDataPath: string;
  lancedbEnv: string[];
  lancedbCpuRequest: string;
  lancedbCpuLimit: string;
  lancedbMemoryLimit: string;
  lancedbStorageSize: string;
  lancedbEfsFileSystemId: string;
  lancedbEfsAccessPointId: string;
  lancedbSubnetIds: string[];
  lancedbSecurityGroupId: string;
  lancedbS3Bucket: string;
  lancedbRoleArn: string;
  redisExporterImage: string;
  monitoringNamespaces: string[];
  continuousBackup: boolean;
  prometheusRules: boolean;
  prometheusRuleLabels: string[];
  grafanaDashboard: boolean;
  grafanaDatasource: string;
  grafanaDashboardNamespace: string;
  runbookBaseUrl: string;
  pushgatewayUrl: string;
  redisBackupSchedule: string;
  lancedbBackupSchedule: string;
  pruneSchedule: string;
  drillSchedule: string;
  scheduleTimeZone: string;
  backupPatterns: string[];
  retentionKeepLast: number;
  retentionKeepDaily: number;
  retentionKeepWeekly: number;
  retentionKeepMonthly: number;
  backupMaxAgeHours: number;
  fargateBackups: boolean;
  fargateSubnetIds: string[];
  fargateSecurityGroupIds: string[];
  ecsClusterArn: string;
}

/** The directory holding Pulumi.yaml and the stack files. */
export const projectDir = __dirname;

/** Reads the `config:` schema of Pulumi.yaml. */
export function readConfigSchema(dir: string = projectDir): ConfigSchema {
  const project = parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as { config: ConfigSchema };
  return project.config;
}

/** Reads the `config:` values of Pulumi.<stack>.yaml, keyed as the CLI keys them (`holdfast:zones`). */
export function readStackFile(stack: string, dir: string = projectDir): Record<string, unknown> {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`no stack file ${path.basename(file)} in ${dir}`);
  const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  return doc?.config ?? {};
}

function checkType(key: string, schema: ConfigKeySchema, value: unknown): unknown {
  const ok =
    (schema.type === "string" && typeof value === "string") ||
    (schema.type === "integer" && Number.isInteger(value)) ||
    (schema.type === "boolean" && typeof value === "boolean") ||
    (schema.type === "array" && Array.isArray(value));
  if (!ok) throw new Error(`config holdfast:${key} must be ${schema.type}, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Resolves one key: the stack's value when set, else the schema default. `raw` returns the value as
 * the Pulumi CLI stores it (always a string; arrays and booleans as JSON), or undefined when unset.
 */
export function resolveConfigValue(key: string, schema: ConfigKeySchema, raw: string | undefined): unknown {
  if (raw === undefined) {
    if (schema.default === undefined) throw new Error(`config holdfast:${key} is required`);
    return schema.default;
  }
  if (schema.type === "string") return raw;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`config holdfast:${key} must be ${schema.type}, got ${raw}`);
  }
  return checkType(key, schema, value);
}

/** Checks the relations between keys that the schema's types cannot express. */
export function validateConfig(c: HoldfastConfig): void {
  const fail = (msg: string) => {
    throw new Error(`invalid stack config: ${msg}`);
  };
  // An image pinned by neither tag nor digest is named as such before its engine is looked for.
  for (const key of ["redisImage", "jobsImage", "redisExporterImage", "lancedbAppImage"] as const) {
    const problem = imageProblem(c[key]);
    if (problem) fail(`${key} "${c[key]}" ${problem}`);
  }
  try {
    checkEngineImage(c.redisEngine, c.redisImage);
  } catch (err) {
    fail((err as Error).message);
  }
  if (c.redisReplicas < 2) fail("redisReplicas must be at least 2 (a primary and a replica)");
  if (c.sentinelReplicas < 3 || c.sentinelReplicas % 2 === 0) fail("sentinelReplicas must be odd and >= 3");
  if (c.sentinelQuorum < Math.floor(c.sentinelReplicas / 2) + 1 || c.sentinelQuorum > c.sentinelReplicas)
    fail(`sentinelQuorum must be a majority of ${c.sentinelReplicas} sentinels`);
  if (c.minReplicasToWrite > c.redisReplicas - 1)
    fail("minReplicasToWrite cannot exceed the number of replicas (redisReplicas - 1)");
  const backlogProblem = replBacklogProblem(c.replBacklogSize, c.redisMemoryLimit);
  if (backlogProblem) fail(`replBacklogSize ${backlogProblem}`);
  if (c.zones.length === 0) fail("zones must name at least one zone");
  if (c.backupObjectLockMode && !["GOVERNANCE", "COMPLIANCE"].includes(c.backupObjectLockMode))
    fail("backupObjectLockMode must be GOVERNANCE, COMPLIANCE or empty");
  if (c.backupObjectLockMode && c.backupObjectLockDays < 1)
    fail("backupObjectLockDays must be at least 1 when Object Lock is on");
  if (!["ebs", "efs", "s3"].includes(c.lancedbMode)) fail("lancedbMode must be ebs, efs or s3");
  if (
    c.lancedbMode === "efs" &&
    !c.lancedbEfsFileSystemId &&
    (c.lancedbSubnetIds.length === 0 || !c.lancedbSecurityGroupId)
  )
    fail(
      "lancedbMode efs needs lancedbEfsFileSystemId, or lancedbSubnetIds and lancedbSecurityGroupId to create one",
    );
  if (c.lancedbEfsAccessPointId && !c.lancedbEfsFileSystemId)
    fail("lancedbEfsAccessPointId needs the lancedbEfsFileSystemId it belongs to");
  if (!(c.lancedbAppUid > 0)) fail("lancedbAppUid must be a non-root uid (> 0)");
  const badEnv = c.lancedbEnv.filter((e) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(e));
  if (badEnv.length > 0) fail(`lancedbEnv entries must be NAME=value, got ${badEnv.join(", ")}`);
  for (const key of [
    "redisBackupSchedule",
    "lancedbBackupSchedule",
    "pruneSchedule",
    "drillSchedule",
  ] as const) {
    if (c[key].trim().split(/\s+/).length !== 5)
      fail(`${key} must be a five-field cron schedule, got "${c[key]}"`);
  }
  const badLabels = c.prometheusRuleLabels.filter((e) => !/^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*$/.test(e));
  if (badLabels.length > 0)
    fail(`prometheusRuleLabels entries must be NAME=value, got ${badLabels.join(", ")}`);
  if (c.retentionKeepLast < 1) fail("retentionKeepLast must be at least 1");
  if (c.backupMaxAgeHours < 1) fail("backupMaxAgeHours must be at least 1");
  if (c.fargateBackups && (c.fargateSubnetIds.length === 0 || c.fargateSecurityGroupIds.length === 0))
    fail("fargateBackups needs fargateSubnetIds and fargateSecurityGroupIds");
  if (!/^https?:\/\/[^/\s]+/.test(c.runbookBaseUrl))
    fail(`runbookBaseUrl must be an absolute http(s) URL, got "${c.runbookBaseUrl}"`);
  if (c.pushgatewayUrl && !/^https?:\/\/[^/\s]+/.test(c.pushgatewayUrl))
    fail(`pushgatewayUrl must be an http(s) URL, got "${c.pushgatewayUrl}"`);
  // The CronJobs' service accounts always carry IRSA role annotations: without the cluster's OIDC
  // provider the roles trust only ECS tasks, and the jobs would fail at their first S3 request.
  const accounts = Object.values(JOB_SERVICE_ACCOUNTS);
  if (!c.oidcProviderArn)
    fail(
      `oidcProviderArn is empty, so the roles of the service accounts ${accounts.slice(0, -1).join(", ")} and ` +
        `${accounts[accounts.length - 1]} would trust only ECS tasks and every scheduled job would fail with ` +
        "AccessDenied; set holdfast:oidcProviderArn to the cluster's IAM OIDC provider " +
        "(arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID)",
    );
  if (!/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/\S+$/.test(c.oidcProviderArn))
    fail(
      `oidcProviderArn must be an IAM OIDC provider ARN (arn:aws:iam::ACCOUNT:oidc-provider/ISSUER), got "${c.oidcProviderArn}"`,
    );
}

/**
 * Loads the stack's configuration from the Pulumi runtime, applying Pulumi.yaml's defaults.
 * @param schema the schema to apply; defaults to Pulumi.yaml beside this module.
 */
export function loadConfig(schema: ConfigSchema = readConfigSchema()): HoldfastConfig {
  const cfg = new pulumi.Config("holdfast");
  const values: Record<string, unknown> = { stack: pulumi.getStack() };
  for (const [key, keySchema] of Object.entries(schema)) {
    values[key] = resolveConfigValue(key, keySchema, cfg.get(key));
  }
  const config = values as unknown as HoldfastConfig;
  if (!config.backupPrefix) config.backupPrefix = config.stack;
  validateConfig(config);
  return config;
}
