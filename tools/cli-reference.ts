// docs/cli.md, generated from the command specs (jobs/*/specs.ts) so it can never drift from what the
// CLI parses. `npm run docs:cli` rewrites it; a test fails when it is out of date.
import * as fs from "fs";
import * as path from "path";
import type { Command } from "../jobs/cli/command";
import { HIDDEN_GROUPS } from "../jobs/cli/command";
import { flagNotes, valueWord, visibleFlags } from "../jobs/cli/help";
import { commands } from "../jobs/commands";

/** Where the reference lives. */
export const CLI_REFERENCE = path.join(__dirname, "..", "docs", "cli.md");

/** Text as Markdown leaves it: characters Markdown would read as markup escaped. */
function plain(text: string): string {
  return text.replace(/([\\`*_<>[\]|])/g, "\\$1");
}

function section(c: Command): string[] {
  const flags = visibleFlags(c.flags).map(([name, f]) => {
    const word = valueWord(name, f);
    const notes = flagNotes(name, f).map((n) => (n.startsWith("env ") ? `env \`${n.slice(4)}\`` : plain(n)));
    return `- \`--${name}${word ? ` ${word}` : ""}\`: ${plain(f.help)} (${notes.join(", ")})`;
  });
  const old = (c.aliases ?? []).map((a) => `\`holdfast ${a.join(" ")}\``);
  return [
    `### holdfast ${c.words.join(" ")}`,
    "",
    plain(c.summary) + ".",
    "",
    ...(old.length > 0 ? [`Old spelling, kept working: ${old.join(", ")}.`, ""] : []),
    ...(flags.length > 0 ? flags : ["No flags."]),
    "",
  ];
}

/** What a group's commands share, said once above them. */
const GROUP_NOTES: Record<string, string[]> = {
  "Commands on a deployed stack": [
    "What an operator runs against a deployed stack, from a machine with the stack's kubeconfig context",
    "and AWS credentials that can read its bucket. `stack restore --json` prints `{dryRun, plan}`,",
    "`{ok: true, plan, outcome}` (each action's outcome and time, the verification, what was kept) or",
    "`{ok: false, plan, outcome, error, state}`.",
    "",
    "A restore needs, in the stack's namespace: get/list of StatefulSets, pods and their logs, claims,",
    "Secrets, service accounts, CronJobs and Jobs; patch of StatefulSets; create of claims and Jobs;",
    "delete of Jobs. Its Jobs run as the stack's `restore` service account and image (`jobsImage`, by",
    "digest when the stack builds it; the plan warns when it is not).",
    "",
    "`stack doctor` checks that a restore would have those rights, and the rest a stack needs; its",
    "lines, exit codes and `--json` shape (`{ok, stack, context, checks}`): [doctor.md](doctor.md).",
    "",
  ],
};

/** The whole reference. */
export function cliReference(list: Command[] = commands): string {
  const hidden = (c: Command) => c.words[0] in HIDDEN_GROUPS;
  const groups: [string, Command[]][] = [
    ["Commands on a backup bucket", list.filter((c) => !hidden(c) && c.words[0] !== "stack")],
    ["Commands on a deployed stack", list.filter((c) => c.words[0] === "stack")],
    ...Object.entries(HIDDEN_GROUPS).map(([g, what]): [string, Command[]] => [
      `The \`${g}\` group: ${plain(what)}`,
      list.filter((c) => c.words[0] === g),
    ]),
  ];
  return [
    "# Holdfast CLI reference",
    "",
    "<!-- Generated from the command specs (jobs/*/specs.ts) by `npm run docs:cli`; do not edit by hand. -->",
    "",
    "`holdfast [stack] VERB NOUN [flags]`: verb then noun (`holdfast restore redis`), `stack` in front for",
    "a deployed stack (`holdfast stack restore redis`). Every group answers `--help` with its commands",
    "(`holdfast stack --help`), every command with its flags. `holdfast --version` prints the version;",
    "`source <(holdfast completion bash)` (or `zsh`) completes commands and flags.",
    "",
    "Every flag has an environment twin (`--data-dir` is `HOLDFAST_DATA_DIR`) and is typed: durations",
    "as `30s`, `15m`, `24h`, `7d`; sizes as `16MiB`; a repeatable flag may be given again or as a",
    "comma-separated list. Exit codes: 0 done, 1 failed (the message says what state is left and how to",
    "go on), 2 bad input (one line). With `--json`, errors are JSON on stderr too:",
    '`{"error":{"kind":"usage","message":"...","exitCode":2}}`.',
    "",
    ...groups.flatMap(([title, cs]) => [
      `## ${title}`,
      "",
      ...(GROUP_NOTES[title] ?? []),
      ...cs.flatMap(section),
    ]),
  ]
    .join("\n")
    .replace(/\n+$/, "\n");
}

if (require.main === module) {
  fs.mkdirSync(path.dirname(CLI_REFERENCE), { recursive: true });
  fs.writeFileSync(CLI_REFERENCE, cliReference());
  process.stdout.write(`wrote ${CLI_REFERENCE}\n`);
}
