// The Prometheus project's own checker on the alerts both stacks render: `promtool check rules` with every
// lint fatal, and `promtool test rules` with the unit tests in ./promtool/, run against the rule file
// written from the rendered PrometheusRule (never a hand copy). See test/support/promtool.ts for what a
// machine without promtool does.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { renderedObjects } from "../../harness/rendered";
import { describeWithPromtool, promtool } from "../../test/support/promtool";
import { ruleFiles } from "../../tools/render";

/**
 * The stacks, the config they are rendered with (dev turns prometheusRules off, so it is turned on) and
 * the rules each rule file holds: the stack's, and prod's continuous protection's stream alerts.
 */
const STACKS: [string, Record<string, unknown>, number[]][] = [
  ["dev", { "holdfast:prometheusRules": true }, [11]],
  ["prod", {}, [11, 3]],
];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-promtool-"));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Writes the rule files `stack` renders, with its unit tests beside them, into a folder of their own.
 * @returns the rule files' paths and the unit test file's path.
 */
async function renderRules(stack: string, overrides: Record<string, unknown>, label = stack) {
  const files = ruleFiles(await renderedObjects(stack, overrides));
  const out = path.join(dir, label);
  fs.mkdirSync(out, { recursive: true });
  for (const f of files) fs.writeFileSync(path.join(out, f.name), f.content);
  const tests = path.join(out, `${stack}.test.yaml`);
  fs.copyFileSync(path.join(__dirname, "promtool", `${stack}.test.yaml`), tests);
  return { rules: files.map((f) => path.join(out, f.name)), tests };
}

describeWithPromtool("promtool on the alerts both stacks render", () => {
  for (const [stack, overrides, counts] of STACKS) {
    it(`${stack}: passes promtool check rules --lint=all --lint-fatal`, async () => {
      const { rules } = await renderRules(stack, overrides);
      expect(rules).toHaveLength(counts.length);
      const r = promtool(["check", "rules", "--lint=all", "--lint-fatal", ...rules]);
      expect([...r.output.matchAll(/SUCCESS: (\d+) rules found/g)].map((m) => Number(m[1]))).toEqual(counts);
      expect(r.code).toBe(0);
    });

    it(`${stack}: passes its promtool unit tests (promtool/${stack}.test.yaml)`, async () => {
      const { tests } = await renderRules(stack, overrides);
      const r = promtool(["test", "rules", tests]);
      expect(r.output).toMatch(/SUCCESS/);
      expect(r.code).toBe(0);
    });
  }

  it("the lint has teeth: it refuses two rules with one name and the same labels", async () => {
    const { rules } = await renderRules("prod", {}, "duplicate");
    const file = parse(fs.readFileSync(rules[0], "utf8")) as { groups: { rules: { alert: string }[] }[] };
    const group = file.groups[0];
    group.rules.push({ ...group.rules.find((r) => r.alert === "HoldfastBackupNeverSucceeded")! });
    fs.writeFileSync(rules[0], stringify(file));
    const r = promtool(["check", "rules", "--lint=all", "--lint-fatal", rules[0]]);
    expect(r.output).toMatch(/duplicate rule/);
    expect(r.code).not.toBe(0);
  });

  it("the unit tests read the rendered rules: prod with backupMaxAgeHours 48 fails the 8-hour test", async () => {
    const { tests } = await renderRules("prod", { "holdfast:backupMaxAgeHours": 48 }, "prod-48h");
    const r = promtool(["test", "rules", tests]);
    expect(r.output).toMatch(/name: a backup older than 8 hours,\s+alertname: HoldfastBackupTooOld/);
    expect(r.code).toBe(1);
  });

  it("the stream's unit tests read its rendered rules: a stream off in prod fails them", async () => {
    const { tests } = await renderRules("prod", { "holdfast:continuousBackup": false }, "prod-no-stream");
    const r = promtool(["test", "rules", tests]);
    expect(r.output).toMatch(/holdfast-redis-stream\.rules\.yaml/);
    expect(r.code).toBe(1);
  });
});
