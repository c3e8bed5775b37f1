// The LanceDB dataset of the benchmarks: a table `proposals` of rows of an id, a short text and a
// 768-dimension vector of uniform random floats (which compress poorly), written in 64 MiB appends.
import { randomFillSync } from "crypto";
import * as lancedb from "@lancedb/lancedb";
import {
  FixedSizeList,
  Float32,
  Int64,
  makeVector,
  makeData,
  Field,
  Table,
  Utf8,
  vectorFromArray,
  Schema,
  RecordBatch,
  Struct,
} from "apache-arrow";

const DIM = 768;

/** A batch of rows: an id, a short text and a 768-dimension vector of uniform random floats. */
export function batch(from: number, rows: number): Table {
  const raw = new Uint32Array(rows * DIM);
  randomFillSync(raw);
  const floats = new Float32Array(rows * DIM);
  for (let i = 0; i < floats.length; i++) floats[i] = raw[i] / 4294967296;
  const vectorType = new FixedSizeList(DIM, new Field("item", new Float32(), true));
  const values = makeData({ type: new Float32(), length: floats.length, data: floats });
  const vectors = makeVector(makeData({ type: vectorType, length: rows, nullCount: 0, child: values }));
  const ids = makeVector(BigInt64Array.from({ length: rows }, (_, i) => BigInt(from + i)));
  const texts = vectorFromArray(
    Array.from({ length: rows }, (_, i) => `proposal ${from + i}`),
    new Utf8(),
  );
  const schema = new Schema([
    new Field("id", new Int64(), false),
    new Field("text", new Utf8(), true),
    new Field("vector", vectorType, false),
  ]);
  const data = makeData({
    type: new Struct(schema.fields),
    length: rows,
    nullCount: 0,
    children: [ids.data[0], texts.data[0], vectors.data[0]],
  });
  return new Table(schema, new RecordBatch(schema, data));
}

/** Writes the dataset: `proposals` of about `mib` MiB in appends of 64 MiB, and a small `events` table. */
export async function generate(dataDir: string, mib: number): Promise<number> {
  const db = await lancedb.connect(dataDir);
  const rowsPerBatch = Math.floor((64 * 1048576) / (DIM * 4));
  const batches = Math.ceil((mib * 1048576) / (rowsPerBatch * DIM * 4));
  let rows = 0;
  const t = await db.createTable("proposals", batch(0, rowsPerBatch));
  rows += rowsPerBatch;
  for (let b = 1; b < batches; b++) {
    await t.add(batch(rows, rowsPerBatch));
    rows += rowsPerBatch;
  }
  await t.delete("id % 1000 = 0");
  const e = await db.createTable("events", batch(0, 2000));
  e.close();
  t.close();
  db.close();
  return rows;
}
