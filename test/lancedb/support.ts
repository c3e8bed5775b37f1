// Real LanceDB datasets for the backup tests: rows that are a pure function of their id (so any set of
// ids says exactly what a table holds), tables built with vectors, scalars, an index, deletes and a
// compaction, the rows of a table at a version in comparable form, and the holdfast CLI as a process.
import * as lancedb from "@lancedb/lancedb";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createHash } from "crypto";
import { backupStoreLayout } from "../../core/store-layout";
import type { StoreLocation } from "../../jobs/store/catalog";
import { capture } from "../../harness/processes";
import { prng } from "../../harness/prng";
import type { S3Server } from "../../harness/s3";

import { HOLDFAST_BIN } from "../../harness/holdfast-cli";

export { HOLDFAST_BIN };
export const BUCKET = "holdfast-backups";
export const PREFIX = "dev";
export const DIM = 16;

/** The row with id `id`: a vector, a string, a float and a category, all derived from the id. */
export function rowFor(id: number, dim = DIM): Record<string, unknown> {
  const rand = prng(id * 7919 + 17);
  return {
    id,
    text: `proposal ${id} ${"x".repeat(id % 13)}`,
    score: Math.round(rand() * 1e6) / 1e3,
    category: ["alpha", "beta", "gamma"][id % 3],
    vector: Array.from({ length: dim }, () => rand()),
  };
}

export function rowsFor(ids: Iterable<number>, dim = DIM): Record<string, unknown>[] {
  return [...ids].map((id) => rowFor(id, dim));
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** A fresh temporary directory for one test file. */
export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `holdfast-${name}-`));
}

function plain(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v !== null && typeof v === "object") {
    if (ArrayBuffer.isView(v) || typeof (v as { toArray?: unknown }).toArray === "function")
      return Array.from(v as Iterable<unknown>, plain);
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** Every row of a table (at `version`, or its latest; those matching `where`), as plain objects sorted by id. */
export async function tableRows(
  dataDir: string,
  table: string,
  version?: number,
  where?: string,
): Promise<Record<string, unknown>[]> {
  const db = await lancedb.connect(dataDir);
  try {
    const t = await db.openTable(table);
    try {
      if (version !== undefined) await t.checkout(version);
      const query = where ? t.query().where(where) : t.query();
      const rows = (await query.toArray()).map((r) => plain({ ...r }) as Record<string, unknown>);
      return rows.sort((a, b) => (a.id as number) - (b.id as number));
    } finally {
      t.close();
    }
  } finally {
    db.close();
  }
}

/** What `rowFor` gives for `ids`, in the form `tableRows` returns (floats through Float32 for vectors). */
export function expectedRows(ids: Iterable<number>, dim = DIM): Record<string, unknown>[] {
  return [...ids]
    .sort((a, b) => a - b)
    .map((id) => {
      const r = rowFor(id, dim);
      return { ...r, vector: Array.from(new Float32Array(r.vector as number[])) };
    });
}

/**
 * A database with several tables: `docs` (vectors, scalars, an IVF-PQ vector index and a scalar index,
 * deletes, then a compaction), `events` (several appends and an update), `legacy` (V1 manifest names)
 * and `empty_one` (created with rows, all deleted). Returns the ids each table holds.
 */
export async function buildDatabase(dataDir: string, size = 3000): Promise<Record<string, number[]>> {
  const db = await lancedb.connect(dataDir);
  try {
    const docs = await db.createTable("docs", rowsFor(range(0, size)));
    await docs.add(rowsFor(range(size, 2 * size)));
    await docs.delete("id % 7 = 0");
    await docs.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: 4, numSubVectors: 4 }) });
    await docs.createIndex("id", { config: lancedb.Index.btree() });
    await docs.add(rowsFor(range(2 * size, 2 * size + 500)));
    await docs.delete("id >= 100 AND id < 200");
    await docs.optimize();
    const docIds = range(0, 2 * size + 500).filter(
      (id) => !(id < 2 * size && id % 7 === 0) && !(id >= 100 && id < 200),
    );

    const events = await db.createTable("events", rowsFor(range(0, 400)));
    for (let i = 1; i <= 3; i++) await events.add(rowsFor(range(i * 400, (i + 1) * 400)));
    await events.delete("category = 'beta'");
    const eventIds = range(0, 1600).filter((id) => id % 3 !== 1);

    const legacy = await db.createTable("legacy", rowsFor(range(0, 300)), {
      storageOptions: { new_table_enable_v2_manifest_paths: "false" },
    });
    await legacy.add(rowsFor(range(300, 600)));
    await legacy.delete("id < 50");
    const legacyIds = range(50, 600);

    const emptied = await db.createTable("empty_one", rowsFor(range(0, 10)));
    await emptied.delete("id >= 0");
    [docs, events, legacy, emptied].forEach((t) => t.close());
    return { docs: docIds, events: eventIds, legacy: legacyIds, empty_one: [] };
  } finally {
    db.close();
  }
}

/** Where a test's backups are, for calling library functions directly. */
export function location(s3: Pick<S3Server, "client">): StoreLocation {
  const layout = backupStoreLayout(PREFIX);
  return { client: s3.client(), bucket: BUCKET, prefix: PREFIX, layout };
}

/** The outcome of a CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `holdfast <args>` as a process against `s3`, with --bucket and --prefix from the environment. */
export function holdfast(
  s3: Pick<S3Server, "env">,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return capture(process.execPath, [HOLDFAST_BIN, ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...s3.env,
      HOLDFAST_BUCKET: BUCKET,
      HOLDFAST_PREFIX: PREFIX,
      ...env,
    },
  });
}

/** Every file under `dir` with its size and content hash, for "nothing changed" checks. */
export function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else {
        const data = fs.readFileSync(path.join(dir, r));
        out[r] = `${data.length}:${createHash("sha256").update(data).digest("hex")}`;
      }
    }
  };
  walk("");
  return out;
}
