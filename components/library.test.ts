// The component library as other programs and languages see it: components/index.ts exports every
// component under components/, and the package schema `pulumi package add` would generate from it
// (made here by the analyzer of the installed @pulumi/pulumi, the code the Pulumi CLI runs for a
// source-based Node.js plugin) is complete: every component, every arg and output described, no arg
// that cannot cross a language boundary (functions, classes, providers, untyped values).
import * as fs from "fs";
import * as path from "path";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental/provider";
import * as library from ".";

jest.setTimeout(240_000);

const ROOT = path.join(__dirname, "..");
const SCHEMA_FILE = path.join(__dirname, "schema.json");

/** Names of the classes under components/ (tests aside) that extend pulumi.ComponentResource. */
function declaredComponents(dir = __dirname): string[] {
  const names: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) names.push(...declaredComponents(p));
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts"))
      for (const m of fs.readFileSync(p, "utf8").matchAll(/class (\w+) extends pulumi\.ComponentResource\b/g))
        names.push(m[1]);
  }
  return names.sort();
}

interface Property {
  type?: string;
  $ref?: string;
  description?: string;
  items?: Property;
  additionalProperties?: Property;
}
interface Schema {
  name: string;
  resources: Record<
    string,
    { isComponent: boolean; inputProperties: Record<string, Property>; properties: Record<string, Property> }
  >;
  types: Record<string, { type: string; properties?: Record<string, Property>; enum?: unknown[] }>;
}

let schema: Schema;
beforeAll(async () => {
  const provider = new ComponentProvider({
    components: getPulumiComponents(library),
    dirname: ROOT,
    name: "holdfast",
  });
  schema = JSON.parse(await provider.getSchema()) as Schema;
});

test("components/index.ts exports every component declared under components/, and nothing else is one", () => {
  const exported = getPulumiComponents(library)
    .map((c) => c.name)
    .sort();
  expect(exported.length).toBeGreaterThanOrEqual(7);
  expect(exported).toEqual(declaredComponents());
});

test("package.json names the library as the package's entry point, and Pulumi.yaml the stack program", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  expect(pkg.main).toBe("components/index.ts");
  expect(pkg.types).toBe("components/index.ts");
  expect(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).toMatch(/^main: index\.ts$/m);
  expect(fs.readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8")).toMatch(/^runtime: nodejs$/m);
});

test("the generated schema has one component resource per exported component", () => {
  const expected = getPulumiComponents(library).map((c) => `holdfast:index:${c.name}`);
  expect(Object.keys(schema.resources).sort()).toEqual(expected.sort());
  for (const r of Object.values(schema.resources)) expect(r.isComponent).toBe(true);
});

/** Every property of the schema with where it is, nested types' properties included. */
function allProperties(s: Schema): [string, Property][] {
  const out: [string, Property][] = [];
  for (const [token, r] of Object.entries(s.resources)) {
    for (const [k, p] of Object.entries(r.inputProperties ?? {})) out.push([`${token} input ${k}`, p]);
    for (const [k, p] of Object.entries(r.properties ?? {})) out.push([`${token} output ${k}`, p]);
  }
  for (const [token, t] of Object.entries(s.types))
    for (const [k, p] of Object.entries(t.properties ?? {})) out.push([`${token}.${k}`, p]);
  return out;
}

test("every input and output is described, and every type it refers to is in the schema", () => {
  const undescribed = allProperties(schema)
    .filter(([, p]) => !p.description)
    .map(([where]) => where);
  expect(undescribed).toEqual([]);
  const refs = allProperties(schema).flatMap(([where, p]) =>
    [p.$ref, p.items?.$ref, p.additionalProperties?.$ref]
      .filter((r): r is string => !!r && r.startsWith("#/types/"))
      .map((r) => [where, r.slice("#/types/".length)]),
  );
  expect(refs.length).toBeGreaterThan(5);
  expect(refs.filter(([, token]) => !schema.types[token])).toEqual([]);
});

test("every arg crosses a language boundary: no untyped value, no resource or provider reference", () => {
  const opaque = allProperties(schema)
    .filter(([where]) => !where.includes(" output "))
    .filter(([, p]) =>
      [p.$ref, p.items?.$ref, p.additionalProperties?.$ref].some(
        (r) => r === "pulumi.json#/Any" || (r !== undefined && !r.startsWith("#/types/")),
      ),
    )
    .map(([where]) => where);
  expect(opaque).toEqual([]);
});

test("the closed sets of values are enums in the schema", () => {
  const enums = Object.entries(schema.types)
    .filter(([, t]) => t.enum)
    .map(([token]) => token)
    .sort();
  expect(enums).toEqual(
    expect.arrayContaining([
      "holdfast:index:BackupStore",
      "holdfast:index:LanceDbStorage",
      "holdfast:index:ObjectLockMode",
      "holdfast:index:RedisEngine",
    ]),
  );
});

test("each component keeps its own type token, which its resources' URNs are made from", () => {
  const tokens = getPulumiComponents(library).map(
    (c) => (c as unknown as { name: string; prototype: object }).name,
  );
  const source = declaredComponents().map((n) => [n, tokenOf(n)]);
  expect(source.map(([n]) => n).sort()).toEqual(tokens.sort());
  for (const [n, token] of source) expect(token).toMatch(new RegExp(`^holdfast:[a-z]+:${n}$`));
  expect(Object.fromEntries(source)).toMatchObject({
    SentinelRedis: "holdfast:redis:SentinelRedis",
    LanceDbStore: "holdfast:lancedb:LanceDbStore",
    BackupBucket: "holdfast:aws:BackupBucket",
    BackupSchedule: "holdfast:backup:BackupSchedule",
    JobsImage: "holdfast:image:JobsImage",
    BackupAlerts: "holdfast:monitoring:BackupAlerts",
    BackupDashboard: "holdfast:monitoring:BackupDashboard",
  });
});

/** The token a component's constructor passes to super(), read from its source. */
function tokenOf(component: string, dir = __dirname): string | undefined {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const t = tokenOf(component, p);
      if (t) return t;
    } else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) {
      const text = fs.readFileSync(p, "utf8");
      if (new RegExp(`class ${component} extends pulumi\\.ComponentResource`).test(text))
        return text.match(/super\(\s*"([^"]+)"/)?.[1];
    }
  }
  return undefined;
}

test("components/schema.json is the schema the library generates (HOLDFAST_UPDATE_SCHEMA=1 rewrites it)", () => {
  if (process.env.HOLDFAST_UPDATE_SCHEMA === "1")
    fs.writeFileSync(SCHEMA_FILE, JSON.stringify(schema, null, 2) + "\n");
  expect(JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8"))).toEqual(schema);
});
