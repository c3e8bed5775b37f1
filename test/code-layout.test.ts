// The rooms of the repository and what each may import: core/ is shared by the stack and the CLI and
// imports neither Pulumi nor either of them; the CLI (jobs/) ships without the stack's components; the
// sandbox and the benchmarks build on harness/, never on test/.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

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

/** The longest a function of non-test code may be, in lines (its first to its last, nested ones included). */
const MAX_FUNCTION_LINES = 120;

/** Every function of `file` with its length in lines, as `file name` → lines. */
function functionLengths(file: string): [string, number][] {
  const src = ts.createSourceFile(
    file,
    fs.readFileSync(path.join(ROOT, file), "utf8"),
    ts.ScriptTarget.Latest,
    true,
  );
  const out: [string, number][] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && (n as ts.FunctionLikeDeclaration).body) {
      const first = src.getLineAndCharacterOfPosition(n.getStart(src)).line;
      const last = src.getLineAndCharacterOfPosition(n.getEnd()).line;
      const named = (n as ts.FunctionLikeDeclaration).name?.getText(src);
      const holder =
        ts.isVariableDeclaration(n.parent) || ts.isPropertyAssignment(n.parent)
          ? n.parent.name.getText(src)
          : undefined;
      const name =
        named ??
        holder ??
        (ts.isConstructorDeclaration(n) ? "constructor" : `(anonymous at line ${first + 1})`);
      out.push([`${file} ${name}`, last - first + 1]);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

test(`no function of non-test code is ${MAX_FUNCTION_LINES} lines or longer (measured with the TypeScript compiler)`, () => {
  const rooms = ["jobs", "core", "harness", "policies", "sandbox", "bench", "tools", "components"];
  const files = [...rooms.flatMap((r) => sources(r, false)), "stack.ts", "config.ts", "index.ts"].filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".d.ts"),
  );
  const all = files.flatMap(functionLengths);
  expect(all.length).toBeGreaterThan(500);
  const long = all
    .filter(([, lines]) => lines >= MAX_FUNCTION_LINES)
    .map(([name, lines]) => `${name}: ${lines} lines`);
  expect(long).toEqual([]);
});
