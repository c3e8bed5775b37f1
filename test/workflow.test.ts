// The workflows as GitHub reads them. The pull-request workflow runs on pull requests and on pushes to
// main, reaches AWS only through OIDC (no stored keys) and puts the rendered alerts through promtool. The
// release workflow runs on version tags only and, in this order, tests the image, scans it, pushes it to
// the registry the stack's default jobsImage names, signs it keyless, attests its SBOM and releases it with
// the notes CHANGELOG.md has for the version. Both pin every action by full commit with its release in a
// comment and run only npm scripts that exist.
import { spawnSync } from "child_process";
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

describe.each([["policy.yml"], ["release.yml"]])("%s", (name) => {
  const source = fs.readFileSync(path.join(root, ".github", "workflows", name), "utf8");
  const all = Object.values((parse(source) as { jobs: Record<string, Job> }).jobs).flatMap((j) => j.steps);

  it("pins every action by full commit SHA, with the release in a comment", () => {
    const uses = [...source.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)];
    expect(uses.length).toBe(all.filter((s) => s.uses).length);
    expect(uses.length).toBeGreaterThan(1);
    for (const [, ref, rest] of uses) {
      expect(ref).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      expect(rest).toMatch(/^\s+# v\d+\.\d+\.\d+$/);
    }
  });

  it("runs only npm scripts that exist", () => {
    const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts);
    const named = [...source.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !scripts.includes(n))).toEqual([]);
  });
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

describe("the release workflow", () => {
  const releaseText = fs.readFileSync(path.join(root, ".github", "workflows", "release.yml"), "utf8");
  const release = parse(releaseText) as {
    on: { push: { tags: string[] } };
    permissions: Record<string, string>;
    jobs: Record<string, Job & { env?: Record<string, string> }>;
  };
  const job = release.jobs.release;
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    version: string;
    license: string;
  };
  const at = (test: (s: Step) => boolean) => {
    const i = job.steps.findIndex(test);
    expect(i).toBeGreaterThanOrEqual(0);
    return i;
  };

  it("runs on version tags only, with write access only in its one job", () => {
    expect(Object.keys(release.on)).toEqual(["push"]);
    expect(release.on.push.tags).toEqual(["v[0-9]+.[0-9]+.[0-9]+"]);
    expect(release.permissions).toEqual({ contents: "read" });
    expect(Object.keys(release.jobs)).toEqual(["release"]);
    expect(job.permissions).toEqual({ contents: "write", packages: "write", "id-token": "write" });
  });

  it("tests, scans, pushes, signs, attests the SBOM and releases, in that order", () => {
    const order = [
      at((s) => /npm run image:test/.test(s.run ?? "")),
      at((s) => s.uses?.startsWith("aquasecurity/trivy-action@") === true),
      at((s) => /docker push/.test(s.run ?? "")),
      at((s) => /cosign sign --yes "\$REPOSITORY@\$DIGEST"/.test(s.run ?? "")),
      at((s) => s.uses?.startsWith("anchore/sbom-action@") === true),
      at((s) => /cosign attest --yes --type spdxjson/.test(s.run ?? "")),
      at((s) => /gh release create/.test(s.run ?? "")),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const scan = job.steps[order[1]].with!;
    expect(scan).toMatchObject({ "exit-code": "1", severity: "HIGH,CRITICAL" });
    // The cosign installer comes before its first use; the test builds from registry bases only.
    expect(at((s) => s.uses?.startsWith("sigstore/cosign-installer@") === true)).toBeLessThan(order[3]);
    expect((job.steps[order[0]] as Step & { env: Record<string, string> }).env.HOLDFAST_IMAGE_BASES).toBe(
      "registry",
    );
  });

  it("pushes to the registry of the stack's default jobsImage", () => {
    const configured = /jobsImage:\s*\n\s*type: string\s*\n\s*default: (\S+)/.exec(
      fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"),
    )![1];
    expect(configured).toBe(`${job.env!.REPOSITORY}:${pkg.version}`);
  });

  it("takes the release notes of the tag's version from CHANGELOG.md", () => {
    const step = job.steps[at((s) => /CHANGELOG\.md/.test(s.run ?? ""))];
    const awk = /^\s*(awk .*) CHANGELOG\.md > release-notes\.md$/m.exec(step.run!)![1];
    const notes = (version: string) =>
      spawnSync("sh", ["-c", `${awk.replace('"$version"', version)} CHANGELOG.md`], {
        cwd: root,
        encoding: "utf8",
      }).stdout;
    expect(notes(pkg.version)).toMatch(/\S/);
    expect(notes(pkg.version)).not.toMatch(/^## \[/m);
    expect(notes("99.0.0")).toBe("");
  });

  it("ships under the license package.json names", () => {
    expect(pkg.license).toBe("Apache-2.0");
    const license = fs.readFileSync(path.join(root, "LICENSE"), "utf8");
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toMatch(/END OF TERMS AND CONDITIONS/);
  });
});
