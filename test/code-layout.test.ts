// The rooms of the repository and what each may import: core/ is shared by the stack and the CLI and
// imports neither Pulumi nor either of them; the CLI (jobs/) ships without the stack's components; the
// sandbox and the benchmarks build on harness/, never on test/.
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..");

/** Every .ts file under `dir` (repository-relative), tests included unless `withTests` is false. */
function sources(dir: string, withTests = true): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const p = path.posix.join(rel, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts") && (withTests || !p.endsWith(".test.ts"))) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** The modules a file imports (static and dynamic), relative ones resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*|^import\s+)["']([^"']+)["']/gm)].map(
    ([, spec]) =>
      spec.startsWith(".") ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : spec,
  );
}

/** `file imports module` for each import of the files matching `bad`. */
function offending(files: string[], bad: (module: string) => boolean): string[] {
  return files.flatMap((f) =>
    importsOf(f)
      .filter(bad)
      .map((m) => `${f} imports ${m}`),
  );
}

test("core/ imports nothing but Node and itself: no Pulumi, no components/, no jobs/", () => {
  const files = sources("core");
  expect(files.length).toBeGreaterThan(5);
  expect(
    offending(
      sources("core", false),
      (m) => m.startsWith("@pulumi/") || (!m.startsWith("core/") && m.includes("/")),
    ),
  ).toEqual([]);
});

test("the CLI's modules (jobs/, tests aside) import nothing from components/ or the stack program", () => {
  expect(
    offending(
      sources("jobs", false),
      (m) => /^(components|policies|tools|test|harness)\//.test(m) || /^(stack|index|config)$/.test(m),
    ),
  ).toEqual([]);
});

test("sandbox/ and bench/ import nothing from test/", () => {
  expect(offending([...sources("sandbox"), ...sources("bench")], (m) => m.startsWith("test/"))).toEqual([]);
});
