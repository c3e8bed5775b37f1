// The alerts as prod renders them: every expression parses as PromQL and names only metrics something in
// the stack exports (the jobs' pushes, the redis_exporter sidecars), and the four operational alerts plus
// Holdfast's own are all there with their severities.
import * as fs from "fs";
import * as path from "path";
import { metricNames } from "../../test/support/promql";
import { findObject, stackRun } from "../../test/support/stack";
import type { AlertRule } from "./alerts";
import { EXPORTED_METRICS } from "../../core/metrics";

let rules: AlertRule[];
beforeAll(async () => {
  const run = await stackRun("prod");
  // The stack's PrometheusRule and the continuous-protection stream's.
  rules = ["holdfast", "redis-stream"].flatMap((name) =>
    (
      findObject(run, "PrometheusRule", name) as unknown as { spec: { groups: { rules: AlertRule[] }[] } }
    ).spec.groups.flatMap((g) => g.rules),
  );
});

it("parses every expression, each naming only metrics the stack exports", () => {
  expect(rules.length).toBeGreaterThan(8);
  for (const r of rules) {
    const names = metricNames(r.expr);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !EXPORTED_METRICS.includes(n))).toEqual([]);
  }
});

it("the parser check has teeth: a broken expression and an unknown metric are caught", () => {
  expect(() => metricNames("sum(rate(redis_up[5m]) > ")).toThrow(/syntax error/);
  expect(metricNames("redis_uptime_in_seconds > 1").filter((n) => !EXPORTED_METRICS.includes(n))).toEqual([
    "redis_uptime_in_seconds",
  ]);
});

it("carries the four operational alerts and Holdfast's own, with their severities", () => {
  const severity = (name: string) => rules.filter((r) => r.alert === name).map((r) => r.labels.severity);
  // The operational alerts: no backup in 24 hours (prod: 8), key count drop > 10%, AOF rewrite failures,
  // memory > 90%.
  expect(severity("HoldfastBackupTooOld")).toEqual(["critical"]);
  expect(rules.find((r) => r.alert === "HoldfastBackupTooOld")!.expr).toMatch(/> 28800$/);
  expect(severity("HoldfastRedisKeysDropped")).toEqual(["warning"]);
  expect(rules.find((r) => r.alert === "HoldfastRedisKeysDropped")!.expr).toMatch(/< 0\.9 \* .* offset 1h/);
  expect(severity("HoldfastRedisAofRewriteFailed")).toEqual(["warning"]);
  expect(severity("HoldfastRedisMemoryHigh")).toEqual(["critical"]);
  expect(rules.find((r) => r.alert === "HoldfastRedisMemoryHigh")!.expr).toMatch(/> 0\.9$/);
  // Holdfast's: a failed drill, no replica online, sentinel quorum lost.
  expect(severity("HoldfastDrillFailed")).toEqual(["critical"]);
  expect(severity("HoldfastRedisNoReplica")).toEqual(["critical"]);
  expect(severity("HoldfastSentinelQuorumLost")).toEqual(["critical"]);
  expect(rules.find((r) => r.alert === "HoldfastSentinelQuorumLost")!.expr).toMatch(
    /master_name="holdfast"\}\) < 2/,
  );
  // One rule for every store (promtool's lint refuses two rules with one name and the same labels).
  expect(severity("HoldfastBackupNeverSucceeded")).toEqual(["critical"]);
  // Continuous protection: lag over 30 s warns, over 5 minutes or a stream down is critical.
  expect(severity("HoldfastStreamLagging")).toEqual(["warning"]);
  expect(rules.find((r) => r.alert === "HoldfastStreamLagging")!.expr).toMatch(/> 30$/);
  expect(severity("HoldfastStreamLagCritical")).toEqual(["critical"]);
  expect(rules.find((r) => r.alert === "HoldfastStreamLagCritical")!.expr).toMatch(/> 300$/);
  expect(severity("HoldfastStreamDown")).toEqual(["critical"]);
});

it("gives every alert a summary, a description and its own runbook page in docs/runbooks", () => {
  const base = "https://github.com/holdfast-dev/holdfast/blob/main/docs/runbooks/";
  const runbooks = path.join(__dirname, "..", "..", "docs", "runbooks");
  const urls = rules.map((r) => r.annotations.runbook_url);
  expect(new Set(urls).size).toBe(rules.length);
  for (const r of rules) {
    expect(r.annotations.summary.length).toBeGreaterThan(10);
    expect(r.annotations.description.length).toBeGreaterThan(10);
    expect(r.annotations.runbook_url.startsWith(base)).toBe(true);
    const page = r.annotations.runbook_url.slice(base.length);
    expect(page).toMatch(/^[a-z0-9-]+\.md$/);
    expect(fs.existsSync(path.join(runbooks, page))).toBe(true);
  }
  // And no page that no alert links, but the disasters' pages the folder's index (README.md) lists apart.
  const index = fs.readFileSync(path.join(runbooks, "README.md"), "utf8");
  const disasters = [...index.slice(index.indexOf("## Disasters")).matchAll(/\]\(([a-z0-9-]+\.md)\)/g)].map(
    (m) => m[1],
  );
  const alertPages = urls.map((u) => u.slice(base.length));
  expect(disasters.filter((p) => alertPages.includes(p))).toEqual([]);
  const pages = fs.readdirSync(runbooks).filter((f) => f !== "README.md");
  expect(pages.sort()).toEqual([...alertPages, ...disasters].sort());
});

it("builds the runbook links from runbookBaseUrl", async () => {
  const run = await stackRun("prod", { "holdfast:runbookBaseUrl": "https://wiki.example.com/ops/holdfast/" });
  const rule = findObject(run, "PrometheusRule", "holdfast") as unknown as {
    spec: { groups: { rules: AlertRule[] }[] };
  };
  const urls = rule.spec.groups.flatMap((g) => g.rules).map((r) => r.annotations.runbook_url);
  expect(urls).toContain("https://wiki.example.com/ops/holdfast/backup-too-old.md");
  expect(urls.every((u) => u.startsWith("https://wiki.example.com/ops/holdfast/"))).toBe(true);
  await expect(stackRun("prod", { "holdfast:runbookBaseUrl": "docs/runbooks" })).rejects.toThrow(
    'invalid stack config: runbookBaseUrl must be an absolute http(s) URL, got "docs/runbooks"',
  );
});

it("watches the stack's own pods and jobs only", () => {
  for (const r of rules) expect(r.expr).toMatch(/stack="prod"|namespace="holdfast"/);
});

it("scrapes the Redis and sentinel exporters through a PodMonitor", async () => {
  const run = await stackRun("prod");
  const monitor = findObject(run, "PodMonitor", "holdfast-redis") as unknown as {
    spec: Record<string, unknown>;
  };
  expect(monitor.spec).toEqual({
    selector: { matchLabels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis" } },
    podMetricsEndpoints: [{ port: "metrics", interval: "30s" }],
  });
  const dev = await stackRun("dev");
  expect(dev.resources.some((r) => r.type.includes("PrometheusRule"))).toBe(false);
});
