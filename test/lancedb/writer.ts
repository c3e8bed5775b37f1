// A LanceDB application stand-in for backup tests: writes to its tables in a loop until SIGTERM —
// appends, range deletes and, every few rounds, a compaction — and logs every committed operation with
// the version it produced, so a test can rebuild what a table held at any version. With --cleanup the
// compaction also removes every old version (the files a running backup may be copying).
//   node -r tsx/cjs test/lancedb/writer.ts DATA_DIR LOG_FILE [--cleanup TABLE]...
import * as lancedb from "@lancedb/lancedb";
import * as fs from "fs";
import { range, rowsFor } from "./support";

/** One committed operation, as logged. */
export interface WriterOp {
  table: string;
  version: number;
  op: "add" | "delete" | "optimize";
  from?: number;
  to?: number;
}

/** The ids a table held at `version`, from the writer's log. */
export function idsAtVersion(ops: WriterOp[], table: string, version: number): number[] {
  const ids = new Set<number>();
  for (const o of ops) {
    if (o.table !== table || o.version > version) continue;
    if (o.op === "add") for (let i = o.from!; i < o.to!; i++) ids.add(i);
    if (o.op === "delete") for (let i = o.from!; i < o.to!; i++) ids.delete(i);
  }
  return [...ids].sort((a, b) => a - b);
}

export function readLog(file: string): WriterOp[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as WriterOp);
}

async function main(): Promise<void> {
  const [dataDir, logFile, ...rest] = process.argv.slice(2);
  const cleanup = new Set(rest.filter((_, i) => rest[i - 1] === "--cleanup"));
  let stopping = false;
  process.on("SIGTERM", () => (stopping = true));
  const log = (op: WriterOp) => fs.appendFileSync(logFile, JSON.stringify(op) + "\n");
  const db = await lancedb.connect(dataDir);
  const tables = ["stream", "ledger"];
  const handles = new Map<string, lancedb.Table>();
  const next = new Map<string, number>();
  for (const name of tables) {
    const t = await db.createTable(name, rowsFor(range(0, 500)));
    handles.set(name, t);
    next.set(name, 500);
    log({ table: name, version: await t.version(), op: "add", from: 0, to: 500 });
  }
  fs.writeFileSync(`${logFile}.ready`, "");
  for (let round = 0; !stopping; round++) {
    for (const name of tables) {
      const t = handles.get(name)!;
      const from = next.get(name)!;
      await t.add(rowsFor(range(from, from + 100)));
      next.set(name, from + 100);
      log({ table: name, version: await t.version(), op: "add", from, to: from + 100 });
      if (round % 2 === 1) {
        const start = Math.max(0, from - 150);
        await t.delete(`id >= ${start} AND id < ${start + 30}`);
        log({ table: name, version: await t.version(), op: "delete", from: start, to: start + 30 });
      }
      if (round % 4 === 3) {
        await t.optimize(cleanup.has(name) ? { cleanupOlderThan: new Date() } : undefined);
        log({ table: name, version: await t.version(), op: "optimize" });
      }
    }
  }
  for (const t of handles.values()) t.close();
  db.close();
}

if (require.main === module)
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
