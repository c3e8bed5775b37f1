// The README and docs/ are the front door: the README stays short, every relative link in them reaches a
// file and a heading that exist, the generated pages are what their tools write today, and the commands
// they tell a newcomer to run exist.
import * as fs from "fs";
import * as path from "path";
import { configurationPage, CONFIGURATION_PAGE } from "../tools/config-reference";

const root = path.join(__dirname, "..");
const README = "README.md";

/** Every Markdown page of the documentation, relative to the project root. */
function pages(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".md")) found.push(rel);
    }
  };
  walk("docs");
  return [README, ...found.sort()];
}

const read = (rel: string) => fs.readFileSync(path.join(root, rel), "utf8");

/** The text outside fenced code blocks and inline code spans, where Markdown links are links. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, -N for repeats. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const [, text] of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const plain = text.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1");
    const base = plain
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The relative links of a page: [text](target) outside code, without web, mail and absolute targets. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("/"));
}

it("keeps the README under 15 KB, the rest in docs/", () => {
  expect(Buffer.byteLength(read(README))).toBeLessThanOrEqual(15 * 1024);
  expect(pages().length).toBeGreaterThan(10);
});

it("has no relative link to a missing file or heading, in the README and every docs/ page", () => {
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages()) {
    for (const link of relativeLinks(read(page))) {
      checked++;
      const [file, anchor] = link.split("#", 2);
      const target = file ? path.normalize(path.join(path.dirname(page), decodeURI(file))) : page;
      const full = path.join(root, target);
      if (!fs.existsSync(full)) {
        broken.push(`${page}: ${link} (no ${target})`);
        continue;
      }
      if (anchor !== undefined && !(fs.statSync(full).isFile() && headingAnchors(read(target)).has(anchor)))
        broken.push(`${page}: ${link} (no heading #${anchor} in ${target})`);
    }
  }
  expect(checked).toBeGreaterThan(50);
  expect(broken).toEqual([]);
});

it("names only repository paths that exist, in code spans (`harness/s3.ts`, `components/monitoring/promtool/`)", () => {
  const tops = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !["node_modules", ".git", "out", "dist"].includes(e.name))
    .map((e) => e.name);
  const missing: string[] = [];
  let named = 0;
  for (const page of pages())
    for (const [, span] of read(page).matchAll(/`([^`\s]+)`/g)) {
      const top = span.split("/")[0];
      if (!span.includes("/") || !tops.includes(top) || /[<>*$]|\.\.\./.test(span)) continue;
      named++;
      if (!fs.existsSync(path.join(root, span))) missing.push(`${page}: ${span}`);
    }
  expect(named).toBeGreaterThan(20);
  expect(missing).toEqual([]);
});

it("links every docs/ page from the README or the runbooks' index", () => {
  const linked = new Set<string>();
  for (const page of [README, path.join("docs", "runbooks", "README.md")])
    for (const link of relativeLinks(read(page)))
      linked.add(path.normalize(path.join(path.dirname(page), link.split("#")[0])));
  const unlinked = pages().filter((p) => p !== README && !linked.has(p));
  expect(unlinked).toEqual([]);
});

it("carries the configuration page generated from Pulumi.yaml (run `npm run docs` after changing it)", () => {
  expect(read(CONFIGURATION_PAGE)).toEqual(configurationPage());
});

it("names only npm scripts that exist", () => {
  const scripts = Object.keys(JSON.parse(read("package.json")).scripts);
  const named = pages().flatMap((page) => [...read(page).matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]));
  expect(named.length).toBeGreaterThan(5);
  expect([...new Set(named)].filter((n) => !scripts.includes(n))).toEqual([]);
});

describe("the anchors of headings, as GitHub makes them", () => {
  it("drops punctuation and code marks, keeps hyphens, numbers repeats", () => {
    const md = "# Policy pack: no FLUSHALL\n## `npm test`\n## A, b\n## A, b\n```\n# not a heading\n```\n";
    expect([...headingAnchors(md)]).toEqual(["policy-pack-no-flushall", "npm-test", "a-b", "a-b-1"]);
  });
});
