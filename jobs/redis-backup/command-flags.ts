// What `backup redis` and `restore redis` read alike from their flags: the dataset's file names
// (redis.conf appendfilename, appenddirname, dbfilename) and a directory that must exist.
import * as fs from "fs";
import * as path from "path";
import { type Flags, str } from "../cli/args";
import { UsageError } from "../cli/errors";
import type { DatasetNames } from "./aof-layout";

/** The dataset's file names from --appendfilename, --appenddirname, --dbfilename (bare names only). */
export function datasetNames(flags: Flags): DatasetNames {
  const names = {
    appendFilename: str(flags, "appendfilename"),
    appendDirname: str(flags, "appenddirname"),
    dbFilename: str(flags, "dbfilename"),
  };
  for (const [flag, v] of Object.entries(names))
    if (!v || v.includes("/") || v === "." || v === "..")
      throw new UsageError(`--${flag.toLowerCase()} must be a file name, got "${v}"`);
  return names;
}

/** `dir` resolved, when it is a directory; else bad input naming `--flag`. */
export function directory(dir: string, flag: string): string {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new UsageError(`--${flag} ${dir} is not a directory`);
  return path.resolve(dir);
}
