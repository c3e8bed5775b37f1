// The README's config reference, generated from Pulumi.yaml's schema and the two stack files so it can
// never drift from what the program reads. `npm run docs` rewrites the README section between its
// markers; a test fails when the README is out of date.
import * as fs from "fs";
import * as path from "path";
import { projectDir, readConfigSchema, readStackFile } from "../config";

/** The markers around the generated section in README.md. */
export const MARKERS = { start: "<!-- config-reference:start -->", end: "<!-- config-reference:end -->" };

function cell(value: unknown): string {
  if (value === undefined) return "";
  const text = typeof value === "string" ? (value === "" ? '""' : value) : JSON.stringify(value);
  return `\`${text}\``.replace(/\|/g, "\\|");
}

/** The config reference as a Markdown table: key, type, default, dev, prod, description. */
export function configReference(dir: string = projectDir): string {
  const schema = readConfigSchema(dir);
  const stacks = ["dev", "prod"].map((s) => readStackFile(s, dir));
  const rows = Object.entries(schema).map(([key, k]) => {
    const type = k.type === "array" ? `array of ${k.items?.type ?? "string"}` : k.type;
    const [dev, prod] = stacks.map((values) => cell(values[`holdfast:${key}`]));
    return `| \`${key}\` | ${type} | ${cell(k.default)} | ${dev} | ${prod} | ${k.description.replace(/\s+/g, " ").replace(/\|/g, "\\|")} |`;
  });
  return [
    "| key (`holdfast:`) | type | default | dev | prod | what it does |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** README text with the section between the markers replaced by `reference`. */
export function withReference(readme: string, reference: string): string {
  const start = readme.indexOf(MARKERS.start);
  const end = readme.indexOf(MARKERS.end);
  if (start < 0 || end < start)
    throw new Error(`README.md lacks the ${MARKERS.start} ... ${MARKERS.end} markers`);
  return `${readme.slice(0, start + MARKERS.start.length)}\n${reference}\n${readme.slice(end)}`;
}

if (require.main === module) {
  const file = path.join(projectDir, "README.md");
  fs.writeFileSync(file, withReference(fs.readFileSync(file, "utf8"), configReference()));
  process.stdout.write(`updated the config reference in ${file}\n`);
}
