// The sandbox's stand-in for the application's sidecar: it embeds LanceDB on its data directory and appends
// proposal-log rows with vectors until SIGTERM, logging every commit (table version and the rows it
// holds) so the sandbox can tell what the table held at any version. Run by the LanceDB pod's runtime.
//   node -r tsx/cjs sandbox/proposal-log-app.ts DATA_DIR LOG_FILE
import * as fs from "fs";
import * as lancedb from "@lancedb/lancedb";
import { proposalRow } from "./sample-data";

/** One commit of the application, as logged. */
export interface AppCommit {
  version: number;
  /** Rows 0..rows-1 are in the table at this version (the application only appends). */
  rows: number;
}

/** Reads the application's commit log. */
export function readCommits(file: string): AppCommit[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AppCommit);
}

/** The table the application writes. */
export const TABLE = "proposal_log";

const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => proposalRow(from + i));

async function main(): Promise<void> {
  const [dataDir, logFile, initialRows = "2000"] = process.argv.slice(2);
  let stopping = false;
  process.on("SIGTERM", () => (stopping = true));
  const db = await lancedb.connect(dataDir);
  const table = (await db.tableNames()).includes(TABLE)
    ? await db.openTable(TABLE)
    : await db.createTable(TABLE, rows(0, Number(initialRows)));
  let next = await table.countRows();
  const commit = async () =>
    fs.appendFileSync(logFile, JSON.stringify({ version: await table.version(), rows: next }) + "\n");
  await commit();
  while (!stopping) {
    await table.add(rows(next, next + 20));
    next += 20;
    await commit();
    await new Promise((r) => setTimeout(r, 200));
  }
  table.close();
  db.close();
}

if (require.main === module)
  main().catch((err) => {
    process.stderr.write(`proposal-log app stopped: ${(err as Error).message}\n`);
    process.exit(1);
  });
