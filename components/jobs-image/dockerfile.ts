// A small Dockerfile reader: stages, instructions, flags, build-argument substitution in FROM, and the
// files an instruction copies or the packages it installs. Enough to check jobs/Dockerfile's properties
// in tests and to know which files of the build context decide the image, without a Docker engine.

/** One instruction, continuation lines joined. */
export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** `--name=value` flags before the arguments (`--from=build`, `--platform=...`). */
  flags: Record<string, string>;
  /** The arguments after the flags, as written. */
  args: string;
  /** 1-based line the instruction starts on. */
  line: number;
}

/** One build stage. */
export interface Stage {
  /** The stage's name (`AS name`), lower case, if it has one. */
  name?: string;
  /** The base image or stage, build arguments substituted with their defaults. */
  base: string;
  /** The FROM instruction and every instruction after it, up to the next FROM. */
  instructions: Instruction[];
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  /** Build arguments declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Joins continuation lines and drops comments and blank lines. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let current: { text: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    // Comment lines are removed even inside a continued instruction, as Docker does.
    if (trimmed.startsWith("#") || (!current && trimmed === "")) return;
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, "") : raw;
    if (current) current.text += ` ${piece.trim()}`;
    else current = { text: piece.trim(), line: i + 1 };
    if (!continued) {
      out.push(current);
      current = undefined;
    }
  });
  if (current) out.push(current);
  return out;
}

function parseInstruction(text: string, line: number): Instruction {
  const [, keyword, rest = ""] = /^(\S+)\s*([\s\S]*)$/.exec(text) ?? [];
  const flags: Record<string, string> = {};
  let args = rest.trim();
  for (let m = /^--([\w-]+)(?:=(\S*))?\s*/.exec(args); m; m = /^--([\w-]+)(?:=(\S*))?\s*/.exec(args)) {
    flags[m[1]] = m[2] ?? "true";
    args = args.slice(m[0].length);
  }
  return { keyword: keyword.toUpperCase(), flags, args, line };
}

/** Replaces `$NAME` and `${NAME}` by the build arguments' values; unknown names become empty. */
export function substituteArgs(value: string, args: Record<string, string>): string {
  return value.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_m, braced: string, bare: string) => args[braced ?? bare] ?? "",
  );
}

/** Reads an `ARG NAME=value` declaration. */
function argDeclaration(args: string): [string, string] {
  const [name, ...value] = args.split("=");
  return [
    name.trim(),
    value
      .join("=")
      .trim()
      .replace(/^"(.*)"$/, "$1"),
  ];
}

/**
 * Parses a Dockerfile.
 * @param text the file's content.
 * @param buildArgs values given with `--build-arg`, overriding the declared defaults.
 */
export function parseDockerfile(text: string, buildArgs: Record<string, string> = {}): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { text: t, line } of logicalLines(text)) {
    const ins = parseInstruction(t, line);
    if (ins.keyword === "FROM") {
      const [image, as, name] = ins.args.split(/\s+/);
      const values = { ...globalArgs, ...buildArgs };
      stages.push({
        name: as?.toUpperCase() === "AS" ? name.toLowerCase() : undefined,
        base: substituteArgs(image, values),
        instructions: [ins],
      });
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new Error(`line ${line}: only ARG may come before the first FROM`);
      const [name, value] = argDeclaration(ins.args);
      globalArgs[name] = value;
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  if (stages.length === 0) throw new Error("no FROM instruction");
  return { globalArgs, stages };
}

/** The stage named `name`; throws when there is none. */
export function stageNamed(file: Dockerfile, name: string): Stage {
  const stage = file.stages.find((s) => s.name === name.toLowerCase());
  if (!stage) throw new Error(`no stage ${name}`);
  return stage;
}

/** The instructions of a stage with `keyword`. */
export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword.toUpperCase());
}

/** The words of an exec-form (`["a", "b"]`) or shell-form instruction. */
export function words(ins: Instruction): string[] {
  const args = ins.args.trim();
  if (args.startsWith("[")) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter(Boolean);
}

/** A COPY or ADD: where it copies from (a stage or image, or the build context) and what. */
export interface CopySpec {
  /** `--from` stage or image; undefined for the build context. */
  from?: string;
  sources: string[];
  destination: string;
}

/** Reads a COPY or ADD instruction. */
export function copySpec(ins: Instruction): CopySpec {
  const all = words(ins);
  return { from: ins.flags.from, sources: all.slice(0, -1), destination: all[all.length - 1] };
}

/** The shell commands of a RUN instruction, split at `&&`, `||` and `;`. */
export function shellCommands(ins: Instruction): string[] {
  return ins.args
    .split(/&&|\|\||;/)
    .map((c) => c.trim())
    .filter(Boolean);
}

/** Packages a stage installs with apt-get or apt. */
export function aptPackages(stage: Stage): string[] {
  return instructionsOf(stage, "RUN")
    .flatMap(shellCommands)
    .filter((c) => /^apt(-get)?\s+(.*\s)?install\b/.test(c))
    .flatMap((c) =>
      c
        .replace(/^apt(-get)?\s+(.*\s)?install\b/, "")
        .split(/\s+/)
        .filter((w) => w && !w.startsWith("-")),
    );
}

/** Paths in the build context that COPY and ADD instructions of any stage read. */
export function contextSources(file: Dockerfile): string[] {
  const sources = file.stages
    .flatMap((s) => s.instructions)
    .filter((i) => (i.keyword === "COPY" || i.keyword === "ADD") && !i.flags.from)
    .flatMap((i) => copySpec(i).sources);
  return [...new Set(sources)];
}

/** The last USER of a stage, or undefined when the stage runs as the base image's user. */
export function stageUser(stage: Stage): string | undefined {
  return instructionsOf(stage, "USER").pop()?.args.trim();
}
