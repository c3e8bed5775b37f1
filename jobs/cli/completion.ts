// `holdfast completion bash|zsh`: shell completion generated from the command specs. The script walks
// the words typed so far (up to the first flag) to a command or a group, and offers its next words or
// its flags. zsh runs the same function through bashcompinit. Hidden aliases and flags are left out.
import type { Command } from "./command";
import { visibleFlags } from "./help";

/** What may follow each path of words: the next words of a group, the flags of a command. */
export function completionTable(list: Command[]): Map<string, string[]> {
  const table = new Map<string, string[]>([["", ["--help", "--version", "completion"]]]);
  const add = (key: string, word: string) => {
    const next = table.get(key) ?? [];
    if (!next.includes(word)) next.push(word);
    table.set(key, next);
  };
  for (const c of list) {
    for (let i = 0; i < c.words.length; i++) add(c.words.slice(0, i).join(" "), c.words[i]);
    for (const [name] of visibleFlags(c.flags)) add(c.words.join(" "), `--${name}`);
    add(c.words.join(" "), "--help");
  }
  table.set("completion", ["bash", "zsh"]);
  return table;
}

function bashFunction(list: Command[]): string {
  const cases = [...completionTable(list)].map(
    ([key, words]) => `    ${JSON.stringify(key)}) words=${JSON.stringify(words.join(" "))} ;;`,
  );
  return [
    "_holdfast() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" path="" words="" i w',
    "  for ((i = 1; i < COMP_CWORD; i++)); do",
    '    w="${COMP_WORDS[i]}"',
    '    [[ "$w" == -* ]] && break',
    '    path="${path:+$path }$w"',
    "  done",
    '  case "$path" in',
    ...cases,
    "  esac",
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    "}",
    "complete -F _holdfast holdfast",
  ].join("\n");
}

/**
 * The completion script for `shell`.
 * @param shell bash or zsh.
 * @param list the command specs.
 */
export function completionScript(shell: "bash" | "zsh", list: Command[]): string {
  const head =
    shell === "bash"
      ? "# holdfast completion for bash: source <(holdfast completion bash)"
      : "# holdfast completion for zsh: source <(holdfast completion zsh)\nautoload -U +X bashcompinit && bashcompinit";
  return `${head}\n${bashFunction(list)}\n`;
}
