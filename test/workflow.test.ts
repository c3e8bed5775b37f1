// The pull-request workflow as GitHub reads it: it runs on pull requests and on pushes to main, pins every
// action by full commit with its release in a comment, reaches AWS only through OIDC (no stored keys),
// puts the rendered alerts through promtool, and runs only npm scripts that exist.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const root = path.join(__dirname, "..");
const file = path.join(root, ".github", "workflows", "policy.yml");
const text = fs.readFileSync(file, "utf8");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  permissions?: Record<string, string>;
  steps: Step[];
}
const workflow = parse(text) as {
  on: Record<string, { branches?: string[] } | null>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
};
const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);

it("runs on pull requests and on pushes to main", () => {
  expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push"]);
  expect(workflow.on.push?.branches).toEqual(["main"]);
});

it("pins every action by full commit SHA, with the release in a comment", () => {
  const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)];
  expect(uses.length).toBe(steps.filter((s) => s.uses).length);
  for (const [, ref, rest] of uses) {
    expect(ref).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    expect(rest).toMatch(/^\s+# v\d+\.\d+\.\d+$/);
  }
});

it("reaches AWS through OIDC only: a role to assume, an id-token, no stored keys", () => {
  expect(text).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN/);
  expect(workflow.permissions).toEqual({ contents: "read" });
  const aws = Object.entries(workflow.jobs).filter(([, j]) =>
    j.steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@")),
  );
  expect(aws.map(([name]) => name)).toEqual(["preview"]);
  for (const [, job] of aws) {
    expect(job.permissions?.["id-token"]).toBe("write");
    const step = job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
    expect(step.with?.["role-to-assume"]).toBe("${{ vars.AWS_ROLE_ARN }}");
    // Credentials come before the step that needs them.
    expect(job.steps.indexOf(step)).toBeLessThan(
      job.steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@")),
    );
  }
});

it("installs promtool without starting a Prometheus server, and checks and unit-tests the rendered alerts", () => {
  const run = steps.map((s) => s.run ?? "").join("\n");
  expect(run).toMatch(/apt-get install -y -qq --no-install-recommends prometheus/);
  expect(run.indexOf("exit 101")).toBeLessThan(run.indexOf("--no-install-recommends prometheus"));
  expect(run).toMatch(/promtool check rules --lint=all --lint-fatal out\/prod\/rules\/\*\.rules\.yaml/);
  expect(run).toMatch(/promtool test rules out\/prod\/rules\/prod\.test\.yaml/);
  const tests = steps.find((s) => s.run === "npm test") as Step & { env?: Record<string, string> };
  expect(tests.env).toEqual({ HOLDFAST_REQUIRE_PROMTOOL: "1" });
});

it("runs only npm scripts that exist", () => {
  const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts);
  const named = [...text.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
  expect(named.length).toBeGreaterThan(3);
  expect(named.filter((n) => !scripts.includes(n))).toEqual([]);
});
