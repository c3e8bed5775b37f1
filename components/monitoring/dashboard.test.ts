// The Grafana dashboard as the stacks render it: a ConfigMap the Grafana sidecar loads (its label, valid
// against the Kubernetes schema), holding a dashboard of schemaVersion 39 whose every panel uses the data
// source variable, sits on the grid without overlapping another, and queries PromQL that parses and names
// only metrics the stack exports, scoped to the stack's own series.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Dashboard, Panel, RowPanel } from "@grafana/schema";
import { stringify } from "yaml";
import { schemaProblems } from "../../test/support/k8s-schema";
import { describeWithPromtool, promtool } from "../../test/support/promtool";
import { metricNames } from "../../test/support/promql";
import { findObject, type OfflineRun, stackRun } from "../../test/support/stack";
import {
  EXPORTED_METRICS,
  EXPORTER_METRICS as X,
  JOB_METRICS as J,
  STREAM_METRICS as M,
} from "../../core/metrics";

interface DashboardConfigMap {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  data: Record<string, string>;
}

function dashboardOf(run: OfflineRun, stack: string): { cm: DashboardConfigMap; dashboard: Dashboard } {
  const cm = findObject(run, "ConfigMap", `holdfast-${stack}-dashboard`) as unknown as DashboardConfigMap;
  expect(Object.keys(cm.data)).toEqual([`holdfast-${stack}.json`]);
  return { cm, dashboard: JSON.parse(cm.data[`holdfast-${stack}.json`]) as Dashboard };
}

/** Grafana's own variables, as Grafana replaces them before the query reaches Prometheus. */
function interpolate(expr: string, range = "5m"): string {
  return expr.replace(/\$__(range|rate_interval|interval)\b/g, range);
}

/**
 * What is wrong with a dashboard: panels off the data source variable or off the grid, overlapping,
 * duplicate ids, queries that do not parse, name a metric the stack does not export, or read series of
 * another stack (`scope` must appear in every selector's expression).
 */
function dashboardProblems(d: Dashboard, scope: RegExp): string[] {
  const problems: string[] = [];
  const panels = (d.panels ?? []) as (Panel | RowPanel)[];
  const ids = panels.map((p) => p.id);
  if (new Set(ids).size !== ids.length) problems.push(`duplicate panel ids: ${ids.join(",")}`);
  const taken = new Map<string, string>();
  for (const p of panels) {
    const { x, y, w, h } = p.gridPos!;
    if (x < 0 || w < 1 || x + w > 24) problems.push(`${p.title}: off the 24-column grid`);
    for (let i = x; i < x + w; i++)
      for (let j = y; j < y + h; j++) {
        const other = taken.get(`${i},${j}`);
        if (other) problems.push(`${p.title} overlaps ${other}`);
        taken.set(`${i},${j}`, p.title!);
      }
    if (p.type === "row") continue;
    if (p.datasource?.uid !== "${datasource}") problems.push(`${p.title}: not on the datasource variable`);
    const targets = (p as Panel).targets ?? [];
    if (targets.length === 0) problems.push(`${p.title}: no query`);
    for (const t of targets) {
      const expr = String(t.expr);
      if ((t.datasource as { uid?: string })?.uid !== "${datasource}")
        problems.push(`${p.title} ${t.refId}: not on the datasource variable`);
      let names: string[];
      try {
        names = metricNames(interpolate(expr));
      } catch (err) {
        problems.push(`${p.title}: ${(err as Error).message}`);
        continue;
      }
      if (names.length === 0) problems.push(`${p.title}: selects no metric`);
      for (const n of names.filter((m) => !EXPORTED_METRICS.includes(m)))
        problems.push(`${p.title}: ${n} is not exported by the stack`);
      if (!scope.test(expr)) problems.push(`${p.title}: reads series of any stack: ${expr}`);
    }
  }
  return problems;
}

/** Every metric the dashboard's queries name. */
const metricsOf = (d: Dashboard) =>
  new Set(
    (d.panels as Panel[])
      .flatMap((p) => p.targets ?? [])
      .flatMap((t) => metricNames(interpolate(String(t.expr)))),
  );

describe("the prod stack's dashboard", () => {
  let run: OfflineRun;
  let cm: DashboardConfigMap;
  let dashboard: Dashboard;
  beforeAll(async () => {
    run = await stackRun("prod");
    ({ cm, dashboard } = dashboardOf(run, "prod"));
  });

  it("ships as a ConfigMap the Grafana sidecar loads, valid against the Kubernetes schema", () => {
    expect(cm.metadata.namespace).toBe("holdfast");
    expect(cm.metadata.labels.grafana_dashboard).toBe("1");
    expect(schemaProblems(cm as never)).toEqual([]);
  });

  it("is a schemaVersion 39 dashboard whose data source is a variable, defaulting to the configured one", () => {
    expect(dashboard).toMatchObject({ uid: "holdfast-prod", schemaVersion: 39, title: "Holdfast: prod" });
    expect(dashboard.templating?.list).toEqual([
      expect.objectContaining({
        type: "datasource",
        name: "datasource",
        query: "prometheus",
        current: { selected: true, text: "prometheus", value: "prometheus" },
      }),
    ]);
  });

  it("queries only metrics the stack exports, in PromQL that parses, from its own series, on the grid", () => {
    expect(dashboardProblems(dashboard, /stack="prod"|namespace="holdfast"/)).toEqual([]);
  });

  it("shows backups, drills, Redis memory, keys and replication, failovers, the stream's lag, link and gaps, LanceDB versions and bytes", () => {
    const rows = (dashboard.panels as RowPanel[]).filter((p) => p.type === "row").map((p) => p.title);
    // prod streams (continuousBackup): its row comes with it.
    expect(rows).toEqual([
      "Backups",
      "Restore drills",
      "Redis",
      "Failovers",
      "Continuous protection",
      "LanceDB",
    ]);
    const used = metricsOf(dashboard);
    for (const m of [
      J.backupLastSuccess,
      J.backupSize,
      J.backupUploaded,
      J.drillLastSuccess,
      J.drillLastFailure,
      J.lancedbTableVersion,
      X.memoryUsed,
      X.memoryMax,
      X.dbKeys,
      X.connectedReplicas,
      X.replicaLag,
      X.instanceInfo,
      X.sentinelMasterStatus,
      X.sentinelOkSentinels,
      M.lag,
      M.linkUp,
      M.gaps,
    ])
      expect([m, used.has(m)]).toEqual([m, true]);
  });

  it("the checks have teeth: an unknown metric, a syntax error, an overlap and a fixed data source are caught", () => {
    const broken = structuredClone(dashboard);
    const panels = broken.panels as Panel[];
    const stat = panels.find((p) => p.type === "stat")!;
    stat.targets = [
      { refId: "A", datasource: stat.datasource, expr: 'redis_uptime_in_seconds{stack="prod"}' },
    ];
    const series = panels.find((p) => p.type === "timeseries")!;
    series.targets![0].expr = 'max by (pod) (redis_memory_used_bytes{stack="prod"}';
    panels[panels.length - 1].gridPos = { ...panels[1].gridPos! };
    panels[2].datasource = { type: "prometheus", uid: "prometheus" };
    const problems = dashboardProblems(broken, /stack="prod"/).join("\n");
    expect(problems).toMatch(/redis_uptime_in_seconds is not exported/);
    expect(problems).toMatch(/PromQL syntax error/);
    expect(problems).toMatch(/overlaps/);
    expect(problems).toMatch(/not on the datasource variable/);
    expect(dashboardProblems(dashboard, /stack="dev"/).join("\n")).toMatch(/reads series of any stack/);
  });
});

describe("dashboard settings", () => {
  it("dev ships none unless grafanaDashboard is on; then in its own namespace, LanceDB included, no stream row (dev does not stream)", async () => {
    const dev = await stackRun("dev");
    expect(dev.resources.some((r) => r.type === "holdfast:monitoring:BackupDashboard")).toBe(false);
    const on = await stackRun("dev", { "holdfast:grafanaDashboard": true });
    const { cm, dashboard } = dashboardOf(on, "dev");
    expect(cm.metadata.namespace).toBe("holdfast-dev");
    expect(dashboardProblems(dashboard, /stack="dev"|namespace="holdfast-dev"/)).toEqual([]);
    const rows = (dashboard.panels as RowPanel[]).filter((p) => p.type === "row").map((p) => p.title);
    expect(rows).not.toContain("Continuous protection");
    expect(metricsOf(dashboard).has(M.linkUp)).toBe(false);
  });

  it("takes the data source and the ConfigMap's namespace from the stack config", async () => {
    const run = await stackRun("prod", {
      "holdfast:grafanaDatasource": "thanos",
      "holdfast:grafanaDashboardNamespace": "monitoring",
    });
    const { cm, dashboard } = dashboardOf(run, "prod");
    expect(cm.metadata.namespace).toBe("monitoring");
    expect(dashboard.templating?.list?.[0].current).toEqual({
      selected: true,
      text: "thanos",
      value: "thanos",
    });
  });
});

describeWithPromtool("the dashboard's queries, run by Prometheus's own engine (promtool)", () => {
  let dashboard: Dashboard;
  let dir: string;
  beforeAll(async () => {
    ({ dashboard } = dashboardOf(await stackRun("prod"), "prod"));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-dashboard-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The first query of the panel titled `title`, as Grafana sends it for a one-hour range. */
  const query = (title: string) => {
    const panel = (dashboard.panels as Panel[]).find((p) => p.title === title);
    if (!panel) throw new Error(`no panel ${title}`);
    return interpolate(String(panel.targets![0].expr), "1h");
  };

  it("every query parses for Prometheus (promtool check rules, each as a recording rule)", () => {
    const exprs = (dashboard.panels as Panel[]).flatMap((p) => p.targets ?? []).map((t) => String(t.expr));
    const file = path.join(dir, "queries.rules.yaml");
    const rules = exprs.map((e, i) => ({
      record: `holdfast:dashboard_query_${i}`,
      expr: interpolate(e, "1h"),
    }));
    fs.writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
    const r = promtool(["check", "rules", file]);
    expect(r.output).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
    expect(r.code).toBe(0);
  });

  /** A promtool expression test: the panel's query at 60 minutes gives these samples (labels -> value). */
  const at60m = (title: string, samples: Record<string, number>) => ({
    expr: query(title),
    eval_time: "60m",
    exp_samples: Object.entries(samples).map(([labels, value]) => ({ labels, value })),
  });

  it("counts failovers, and tells passed from failed drills and backups", () => {
    const jobs = (store: string, database: string) =>
      `{job="holdfast", stack="prod", store="${store}", database="${database}"}`;
    const data = (pod: string, role: string) => `{namespace="holdfast", pod="${pod}", role="${role}"}`;
    const tests = {
      rule_files: [],
      tests: [
        {
          interval: "1m",
          input_series: [
            // redis-0 is primary for 30 minutes, then redis-1 is promoted and redis-0 rejoins as a replica.
            { series: `redis_instance_info${data("redis-0", "master")}`, values: "1x30" },
            { series: `redis_instance_info${data("redis-0", "slave")}`, values: "_x31 1x30" },
            { series: `redis_instance_info${data("redis-1", "slave")}`, values: "1x30" },
            { series: `redis_instance_info${data("redis-1", "master")}`, values: "_x31 1x30" },
            { series: `redis_instance_info${data("redis-2", "slave")}`, values: "1x61" },
            // Drills: redis failed after it last passed; lancedb passed; another database only ever failed.
            { series: `${J.drillLastSuccess}${jobs("redis", "holdfast")}`, values: "100x61" },
            { series: `${J.drillLastFailure}${jobs("redis", "holdfast")}`, values: "200x61" },
            { series: `${J.drillLastSuccess}${jobs("lancedb", "/app/lancedb_data")}`, values: "300x61" },
            { series: `${J.drillLastFailure}${jobs("redis", "other")}`, values: "50x61" },
            // Backups: redis failed after its last success; lancedb never failed.
            { series: `${J.backupLastSuccess}${jobs("redis", "holdfast")}`, values: "100x61" },
            { series: `${J.backupLastFailure}${jobs("redis", "holdfast")}`, values: "200x61" },
            { series: `${J.backupLastSuccess}${jobs("lancedb", "/app/lancedb_data")}`, values: "300x61" },
          ],
          promql_expr_test: [
            at60m("Failovers in the time range", { "{}": 1 }),
            at60m("Role of each pod", { '{pod="redis-0"}': 0, '{pod="redis-1"}': 1, '{pod="redis-2"}': 0 }),
            at60m("Last restore drill", {
              '{store="redis", database="holdfast"}': 0,
              '{store="lancedb", database="/app/lancedb_data"}': 1,
              '{store="redis", database="other"}': 0,
            }),
            at60m("Newest backup attempt", {
              '{store="redis", database="holdfast"}': 1,
              '{store="lancedb", database="/app/lancedb_data"}': 0,
            }),
          ],
        },
      ],
    };
    const file = path.join(dir, "queries.test.yaml");
    fs.writeFileSync(file, stringify(tests));
    const r = promtool(["test", "rules", file]);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
  });
});
