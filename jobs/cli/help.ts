// What `holdfast --help`, `holdfast <group> --help` and `holdfast <command> --help` print, all from the
// command specs: the commands of a group with their summaries, a command's flags with their types,
// defaults and environment twins. The `pod` group (in-pod hooks) is listed apart.
import { envName, type FlagSpec, type FlagSpecs } from "./args";
import { type Command, HIDDEN_GROUPS } from "./command";

/** The word standing for a flag's value in help: `--wait DURATION`, `--source replica|primary`. */
export function valueWord(name: string, spec: FlagSpec): string {
  if (spec.value) return spec.value;
  switch (spec.type) {
    case "boolean":
      return "";
    case "integer":
      return "N";
    case "duration":
      return "DURATION";
    case "bytes":
      return "SIZE";
    case "enum":
      return (spec.choices ?? []).join("|");
    default:
      return name.toUpperCase().replace(/-/g, "_");
  }
}

/** The notes after a flag's help: required, repeatable, default, environment twin. */
export function flagNotes(name: string, spec: FlagSpec): string[] {
  const notes: string[] = [];
  if (spec.required) notes.push("required");
  if (spec.repeatable) notes.push("repeatable");
  if (spec.default !== undefined && spec.default !== false && spec.default !== "")
    notes.push(`default ${spec.default}`);
  notes.push(`env ${envName(name, spec)}`);
  return notes;
}

/** The flags --help shows (hidden ones left out), by name. */
export function visibleFlags(specs: FlagSpecs): [string, FlagSpec][] {
  return Object.entries(specs).filter(([, s]) => !s.hidden);
}

/** Renders the flag list of a command for --help. */
export function describeFlags(specs: FlagSpecs): string {
  return visibleFlags(specs)
    .map(([name, s]) => {
      const word = valueWord(name, s);
      const flag = `--${name}${word ? ` ${word}` : ""}`;
      return `  ${flag.padEnd(34)} ${s.help} (${flagNotes(name, s).join(", ")})`;
    })
    .join("\n");
}

/** The help of one command. */
export function commandHelp(c: Command): string {
  return `usage: holdfast ${c.words.join(" ")} [flags]\n\n${c.summary}\n\nflags:\n${describeFlags(c.flags)}`;
}

function lines(list: Command[]): string[] {
  const width = Math.max(24, ...list.map((c) => c.words.join(" ").length + 1));
  return list.map((c) => `  holdfast ${c.words.join(" ").padEnd(width)} ${c.summary}`);
}

/** The commands whose words begin with `prefix`. */
export function commandsUnder(prefix: string[], list: Command[]): Command[] {
  return list.filter((c) => prefix.every((w, i) => c.words[i] === w) && c.words.length > prefix.length);
}

/** Top-level help: operator commands, stack commands, and the in-pod hooks apart. */
export function mainHelp(list: Command[]): string {
  const hidden = (c: Command) => c.words[0] in HIDDEN_GROUPS;
  const stack = list.filter((c) => c.words[0] === "stack");
  const operator = list.filter((c) => !hidden(c) && c.words[0] !== "stack");
  const groups = Object.entries(HIDDEN_GROUPS).map(([g, what]) => `  holdfast ${g} --help  ${what}`);
  return [
    "usage: holdfast [stack] <verb> <noun> [flags]   (holdfast <command> --help for its flags)",
    "",
    "Commands on a backup bucket:",
    ...lines(operator),
    "",
    "Commands on a deployed stack:",
    ...lines(stack),
    "",
    "Also: holdfast --version; holdfast completion bash|zsh (shell completion)",
    "",
    "In-pod hooks (listed apart):",
    ...groups,
  ].join("\n");
}

/** Help of a group (`holdfast stack --help`, `holdfast backup --help`): its commands. */
export function groupHelp(prefix: string[], list: Command[]): string {
  const what = HIDDEN_GROUPS[prefix[0]];
  return [
    `usage: holdfast ${prefix.join(" ")} <${prefix.length === 1 && !what ? "noun" : "command"}> [flags]   (holdfast ${prefix.join(" ")} <...> --help for its flags)`,
    ...(what && prefix.length === 1 ? ["", `${prefix[0]}: ${what}`] : []),
    "",
    ...lines(commandsUnder(prefix, list)),
  ].join("\n");
}
