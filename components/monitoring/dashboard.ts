// The stack's Grafana dashboard, as JSON of Grafana's dashboard schema (schemaVersion 39, typed by
// @grafana/schema): backup age, size and bytes sent per store, restore drills, Redis memory, keys and
// replication, failovers, LanceDB table versions. Every panel queries only metrics the stack exports,
// through a data source variable whose default the stack config names. Pure; BackupDashboard ships it.
import {
  type Dashboard,
  type DataSourceRef,
  type FieldConfigSource,
  MappingType,
  type Panel,
  type RowPanel,
  ThresholdsMode,
  type VariableModel,
} from "@grafana/schema";
import { EXPORTER_METRICS as X, JOB_METRICS as J, STREAM_METRICS as M } from "../../core/metrics";
import { selectors, streamSeries, type WatchedStack } from "./selectors";

/** What the dashboard shows. */
export interface DashboardSettings extends WatchedStack {
  /** UID (or name) of the Prometheus data source the dashboard selects first. */
  datasource: string;
}

/** The schema version the dashboard is written in (Grafana 10.4 and later read it). */
export const SCHEMA_VERSION = 39;

/** The data source every panel and query uses: the dashboard's variable. */
const DATASOURCE: DataSourceRef = { type: "prometheus", uid: "${datasource}" };

/** One PromQL query of a panel, and how its series are named in the legend. */
interface Query {
  expr: string;
  legend: string;
}

/** A panel before it is placed on the grid. */
interface PanelSpec {
  type: "stat" | "timeseries" | "state-timeline";
  title: string;
  description: string;
  queries: Query[];
  /** Grid columns of 24. */
  width: number;
  unit?: string;
  /** Value -> colour steps; the first has no value. */
  thresholds?: { value: number | null; color: string }[];
  /** Value -> text for stat and state panels. */
  mappings?: Record<string, { text: string; color: string }>;
}

const HEIGHT = 8;

function fieldConfig(p: PanelSpec): FieldConfigSource {
  return {
    defaults: {
      ...(p.unit ? { unit: p.unit } : {}),
      ...(p.type === "timeseries" && p.thresholds ? { custom: { thresholdsStyle: { mode: "line" } } } : {}),
      ...(p.thresholds ? { thresholds: { mode: ThresholdsMode.Absolute, steps: p.thresholds } } : {}),
      ...(p.mappings
        ? {
            mappings: [
              {
                type: MappingType.ValueToText,
                options: Object.fromEntries(
                  Object.entries(p.mappings).map(([value, m], index) => [value, { ...m, index }]),
                ),
              },
            ],
          }
        : {}),
    },
    overrides: [],
  };
}

/** Lays out rows of panels left to right, top to bottom, with ids from 1. */
function layout(rows: { title: string; panels: PanelSpec[] }[]): (Panel | RowPanel)[] {
  const out: (Panel | RowPanel)[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    out.push({
      type: "row",
      id: id++,
      title: row.title,
      collapsed: false,
      panels: [],
      gridPos: { h: 1, w: 24, x: 0, y },
    });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      if (x + p.width > 24) {
        x = 0;
        y += HEIGHT;
      }
      out.push({
        type: p.type,
        id: id++,
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { h: HEIGHT, w: p.width, x, y },
        fieldConfig: fieldConfig(p),
        options: p.type === "timeseries" ? { legend: { displayMode: "list", placement: "bottom" } } : {},
        targets: p.queries.map((q, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: DATASOURCE,
          expr: q.expr,
          legendFormat: q.legend,
        })),
      });
      x += p.width;
    }
    y += HEIGHT;
  }
  return out;
}

/** The labels the store panels group the jobs' series by. */
const byStore = "store, database";

/**
 * PromQL: 1 per store where the newest `a` of the jobs matched by `jobs` is later than the newest `b`, or
 * only `a` exists; else 0.
 */
function later(jobs: string, a: string, b: string): string {
  const [newestA, newestB] = [a, b].map((m) => `max by (${byStore}) (${m}{${jobs}})`);
  return `(${newestA} > bool ${newestB}) or (${newestA} * 0 + 1) or (${newestB} * 0)`;
}

/** PromQL: 1 for the data pod that is primary, 0 for a replica: a failover flips two pods. */
function role(data: string): string {
  return (
    `(max by (pod) (${X.instanceInfo}{${data}, role="master"})` +
    ` or max by (pod) (${X.instanceInfo}{${data}, role="slave"}) * 0)`
  );
}

/** Thresholds: green, red from `value` on. */
function red(value: number): { value: number | null; color: string }[] {
  return [
    { value: null, color: "green" },
    { value, color: "red" },
  ];
}

/** The Backups row: age of the newest good backup, its size, bytes sent, duration, keys, last attempt. */
function backupPanels(s: DashboardSettings): PanelSpec[] {
  const { jobs } = selectors(s);
  return [
    {
      type: "stat",
      title: "Newest good backup: age",
      description: `Time since the newest successful backup of each store; red beyond ${s.backupMaxAgeHours} h (backupMaxAgeHours), when HoldfastBackupTooOld fires.`,
      queries: [
        { expr: `time() - max by (${byStore}) (${J.backupLastSuccess}{${jobs}})`, legend: "{{store}}" },
      ],
      width: 6,
      unit: "s",
      thresholds: red(s.backupMaxAgeHours * 3600),
    },
    {
      type: "timeseries",
      title: "Backup size",
      description: "Bytes each store's newest successful backup holds.",
      queries: [{ expr: `max by (${byStore}) (${J.backupSize}{${jobs}})`, legend: "{{store}}" }],
      width: 6,
      unit: "bytes",
    },
    {
      type: "timeseries",
      title: "Bytes sent per backup",
      description:
        "What each backup sent to the bucket: the whole RDB for Redis, only the new immutable files for LanceDB.",
      queries: [{ expr: `max by (${byStore}) (${J.backupUploaded}{${jobs}})`, legend: "{{store}}" }],
      width: 6,
      unit: "bytes",
    },
    {
      type: "timeseries",
      title: "Backup duration",
      description: "How long each successful backup took.",
      queries: [{ expr: `max by (${byStore}) (${J.backupDuration}{${jobs}})`, legend: "{{store}}" }],
      width: 6,
      unit: "s",
    },
    {
      type: "timeseries",
      title: "Keys and rows in the newest backup",
      description: "Redis keys and LanceDB rows each store's newest successful backup holds.",
      queries: [{ expr: `max by (${byStore}) (${J.backupKeys}{${jobs}})`, legend: "{{store}}" }],
      width: 12,
      unit: "short",
    },
    {
      type: "stat",
      title: "Newest backup attempt",
      description: "FAILED when a store's newest backup attempt failed after its last success.",
      queries: [{ expr: later(jobs, J.backupLastFailure, J.backupLastSuccess), legend: "{{store}}" }],
      width: 12,
      mappings: { "0": { text: "OK", color: "green" }, "1": { text: "FAILED", color: "red" } },
    },
  ];
}

/** The Restore drills row: the last drill's outcome, and the age of the last passing one. */
function drillPanels(s: DashboardSettings): PanelSpec[] {
  const { jobs } = selectors(s);
  return [
    {
      type: "stat",
      title: "Last restore drill",
      description:
        "PASSED when the newest drill of a store restored and verified its newest backup; FAILED raises HoldfastDrillFailed.",
      queries: [{ expr: later(jobs, J.drillLastSuccess, J.drillLastFailure), legend: "{{store}}" }],
      width: 12,
      mappings: { "1": { text: "PASSED", color: "green" }, "0": { text: "FAILED", color: "red" } },
    },
    {
      type: "stat",
      title: "Last passing drill: age",
      description: `Time since a drill last passed; red beyond ${s.drillMaxAgeDays} days, when HoldfastDrillOverdue fires.`,
      queries: [
        { expr: `time() - max by (${byStore}) (${J.drillLastSuccess}{${jobs}})`, legend: "{{store}}" },
      ],
      width: 12,
      unit: "s",
      thresholds: red(s.drillMaxAgeDays * 86400),
    },
  ];
}

/** The Redis row: memory (share of maxmemory and bytes), keys, replicas, replication lag, pod roles. */
function redisPanels(s: DashboardSettings): PanelSpec[] {
  const { data } = selectors(s);
  return [
    {
      type: "timeseries",
      title: "Memory used of maxmemory",
      description:
        "Each data pod's used memory as a share of maxmemory; HoldfastRedisMemoryHigh fires above 90%.",
      queries: [
        {
          expr: `max by (pod) (${X.memoryUsed}{${data}} / (${X.memoryMax}{${data}} > 0))`,
          legend: "{{pod}}",
        },
      ],
      width: 8,
      unit: "percentunit",
      thresholds: red(0.9),
    },
    {
      type: "timeseries",
      title: "Memory used",
      description: "Bytes each data pod uses.",
      queries: [{ expr: `max by (pod) (${X.memoryUsed}{${data}})`, legend: "{{pod}}" }],
      width: 8,
      unit: "bytes",
    },
    {
      type: "timeseries",
      title: "Keys",
      description:
        "Keys each data pod holds; HoldfastRedisKeysDropped fires when the set loses 10% within an hour.",
      queries: [{ expr: `sum by (pod) (${X.dbKeys}{${data}})`, legend: "{{pod}}" }],
      width: 8,
      unit: "short",
    },
    {
      type: "timeseries",
      title: "Replicas connected to the primary",
      description: "With none, a failure of the primary loses data and min-replicas-to-write refuses writes.",
      queries: [
        {
          expr: `max(${X.connectedReplicas}{${data}} and on (pod) ${X.instanceInfo}{${data}, role="master"})`,
          legend: "replicas",
        },
      ],
      width: 8,
      unit: "short",
      thresholds: [
        { value: null, color: "red" },
        { value: 1, color: "green" },
      ],
    },
    {
      type: "timeseries",
      title: "Replication lag",
      description: "Seconds since each replica last acknowledged the primary's stream.",
      queries: [{ expr: `max by (slave_ip) (${X.replicaLag}{${data}})`, legend: "{{slave_ip}}" }],
      width: 8,
      unit: "s",
    },
    {
      type: "state-timeline",
      title: "Role of each pod",
      description: "Which pod is primary over time: a change is a failover or a hand-over.",
      queries: [{ expr: role(data), legend: "{{pod}}" }],
      width: 8,
      mappings: { "1": { text: "primary", color: "blue" }, "0": { text: "replica", color: "green" } },
    },
  ];
}

/** The Failovers row: promotions in the time range, the primary the sentinels name, sentinels agreeing. */
function failoverPanels(s: DashboardSettings): PanelSpec[] {
  const { data, sentinels } = selectors(s);
  return [
    {
      type: "stat",
      title: "Failovers in the time range",
      description:
        "Times a replica became primary (a failover or a hand-over) within the dashboard's time range.",
      queries: [
        {
          expr: `sum(changes(${role(data)}[$__range:1m]) - resets(${role(data)}[$__range:1m]))`,
          legend: "promotions",
        },
      ],
      width: 8,
      unit: "short",
    },
    {
      type: "state-timeline",
      title: "The primary the sentinels name",
      description: `The address of the primary of ${s.redis.masterName} as the sentinels see it (1: ok).`,
      queries: [
        {
          expr: `max by (master_address) (${X.sentinelMasterStatus}{${sentinels}, master_name="${s.redis.masterName}"})`,
          legend: "{{master_address}}",
        },
      ],
      width: 8,
    },
    {
      type: "timeseries",
      title: "Sentinels up and agreeing",
      description: `HoldfastSentinelQuorumLost fires below the quorum of ${s.redis.quorum}: the set could not fail over.`,
      queries: [
        {
          expr: `max(${X.sentinelOkSentinels}{${sentinels}, master_name="${s.redis.masterName}"})`,
          legend: "agreeing",
        },
        { expr: `count(${X.up}{${sentinels}} == 1)`, legend: "up" },
      ],
      width: 8,
      unit: "short",
      thresholds: [
        { value: null, color: "red" },
        { value: s.redis.quorum, color: "green" },
      ],
    },
  ];
}

/** The LanceDB row: table versions, bytes and rows of the newest snapshot. */
function lancedbPanels(s: DashboardSettings): PanelSpec[] {
  const lance = `${selectors(s).jobs}, store="lancedb"`;
  return [
    {
      type: "timeseries",
      title: "LanceDB table versions in the newest snapshot",
      description: "The version of each table the newest snapshot holds: the version a restore brings back.",
      queries: [{ expr: `max by (table) (${J.lancedbTableVersion}{${lance}})`, legend: "{{table}}" }],
      width: 8,
      unit: "short",
    },
    {
      type: "timeseries",
      title: "LanceDB backup bytes",
      description:
        "What each snapshot holds and what it sent: files already in the bucket are not sent again.",
      queries: [
        { expr: `max(${J.backupSize}{${lance}})`, legend: "snapshot size" },
        { expr: `max(${J.backupUploaded}{${lance}})`, legend: "sent" },
      ],
      width: 8,
      unit: "bytes",
    },
    {
      type: "timeseries",
      title: "LanceDB rows in the newest snapshot",
      description: "Rows of every table in the newest snapshot.",
      queries: [{ expr: `max(${J.backupKeys}{${lance}})`, legend: "rows" }],
      width: 8,
      unit: "short",
    },
  ];
}

/** The continuous-protection row: the stream's lag, its link to the primary, and the gaps in its chains. */
function streamPanels(s: DashboardSettings, deployment: string): PanelSpec[] {
  const stream = streamSeries({ namespace: s.namespace, deployment });
  return [
    {
      type: "timeseries",
      title: "Stream lag",
      description:
        "How long the oldest write the stream received has waited to be durable in the bucket; a " +
        "point-in-time restore reaches only what is durable. HoldfastStreamLagging warns above 30 s.",
      queries: [{ expr: `max(${M.lag}{${stream}})`, legend: "lag" }],
      width: 8,
      unit: "s",
      thresholds: [
        { value: null, color: "green" },
        { value: 30, color: "orange" },
        { value: 300, color: "red" },
      ],
    },
    {
      type: "state-timeline",
      title: "Stream link to the primary",
      description:
        "Whether the stream is connected to the primary as a replica; down, writes are not shipped.",
      queries: [{ expr: `max(${M.linkUp}{${stream}})`, legend: "link" }],
      width: 8,
      mappings: { "0": { text: "down", color: "red" }, "1": { text: "up", color: "green" } },
    },
    {
      type: "timeseries",
      title: "Stream gaps",
      description:
        "New chains begun by a full resynchronisation (the stream was away longer than the primary's " +
        "backlog covers): the moments between chains cannot be restored to.",
      queries: [{ expr: `sum(increase(${M.gaps}{${stream}}[1h]))`, legend: "gaps per hour" }],
      width: 8,
      unit: "short",
      thresholds: red(1),
    },
  ];
}

/** The dashboard's data source variable, preselecting the data source the stack config names. */
function datasourceVariable(s: DashboardSettings): VariableModel {
  return {
    type: "datasource",
    name: "datasource",
    label: "Prometheus",
    query: "prometheus",
    current: { selected: true, text: s.datasource, value: s.datasource },
    options: [],
    hide: 0,
    includeAll: false,
    multi: false,
    refresh: 1,
    regex: "",
    skipUrlSync: false,
  };
}

/**
 * The dashboard of a stack: one row each for backups, restore drills, Redis, failovers, continuous
 * protection (when the stack streams) and LanceDB.
 */
export function grafanaDashboard(s: DashboardSettings): Dashboard {
  return {
    uid: `holdfast-${s.stack}`.slice(0, 40),
    title: `Holdfast: ${s.stack}`,
    description: `Backups, restore drills, Redis and LanceDB of the Holdfast stack ${s.stack} (namespace ${s.namespace}).`,
    tags: ["holdfast", s.stack],
    editable: false,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    time: { from: "now-7d", to: "now" },
    timepicker: {},
    timezone: "utc",
    refresh: "1m",
    templating: { list: [datasourceVariable(s)] },
    annotations: { list: [] },
    links: [],
    panels: layout([
      { title: "Backups", panels: backupPanels(s) },
      { title: "Restore drills", panels: drillPanels(s) },
      { title: "Redis", panels: redisPanels(s) },
      { title: "Failovers", panels: failoverPanels(s) },
      ...(s.stream ? [{ title: "Continuous protection", panels: streamPanels(s, s.stream.deployment) }] : []),
      ...(s.stores.includes("lancedb") ? [{ title: "LanceDB", panels: lancedbPanels(s) }] : []),
    ]),
  };
}
