// Pushing job outcomes, checked against a small HTTP receiver that records what a Pushgateway would get:
// the method, the grouping key in the path, the metric names, labels and values.
import * as http from "http";
import type { AddressInfo } from "net";
import { describeWithPromtool, promtool } from "../../test/support/promtool";
import { exposition, type JobOutcome, pushOutcome } from "./pushgateway";

interface Received {
  method: string;
  url: string;
  contentType: string;
  body: string;
}

let server: http.Server;
let received: Received[];
let status = 200;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      received.push({
        method: req.method!,
        url: req.url!,
        contentType: req.headers["content-type"] ?? "",
        body,
      });
      res.writeHead(status);
      res.end(status === 200 ? "" : "bad metric");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => {
  received = [];
  status = 200;
});

/** The samples of a text-format body: series (name and labels, as written) -> value. */
const samples = (body: string) =>
  Object.fromEntries(
    body
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => [l.slice(0, l.lastIndexOf(" ")), Number(l.slice(l.lastIndexOf(" ") + 1))]),
  );

it("pushes a successful backup's time, duration, size and keys, grouped by stack, store and database", async () => {
  const at = new Date("2026-11-22T02:00:07Z");
  const error = await pushOutcome(url, {
    kind: "backup",
    stack: "prod",
    store: "redis",
    database: "holdfast",
    ok: true,
    at,
    durationSeconds: 12.5,
    sizeBytes: 1048576,
    items: 42000,
  });
  expect(error).toBeUndefined();
  expect(received).toHaveLength(1);
  const [r] = received;
  expect(r.method).toBe("POST");
  expect(r.url).toBe("/metrics/job/holdfast/stack/prod/store/redis/database/holdfast");
  expect(r.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(samples(r.body)).toEqual({
    holdfast_backup_last_success_timestamp_seconds: at.getTime() / 1000,
    holdfast_backup_duration_seconds: 12.5,
    holdfast_backup_size_bytes: 1048576,
    holdfast_backup_keys: 42000,
  });
  expect(r.body).toMatch(/^# TYPE holdfast_backup_last_success_timestamp_seconds gauge$/m);
});

it("pushes what a LanceDB backup sent and the version of each table, labelled by table", async () => {
  const at = new Date("2026-11-22T02:30:00Z");
  await pushOutcome(url, {
    kind: "backup",
    stack: "prod",
    store: "lancedb",
    database: "/app/lancedb_data",
    ok: true,
    at,
    durationSeconds: 3,
    sizeBytes: 5000,
    uploadedBytes: 1200,
    items: 200,
    tableVersions: { proposals: 12, 'odd"name\\': 3 },
  });
  expect(samples(received[0].body)).toEqual({
    holdfast_backup_last_success_timestamp_seconds: at.getTime() / 1000,
    holdfast_backup_duration_seconds: 3,
    holdfast_backup_size_bytes: 5000,
    holdfast_backup_uploaded_bytes: 1200,
    holdfast_backup_keys: 200,
    'holdfast_lancedb_table_version{table="proposals"}': 12,
    'holdfast_lancedb_table_version{table="odd\\"name\\\\"}': 3,
  });
  // One TYPE line per metric, before its first sample.
  expect(received[0].body.match(/^# TYPE holdfast_lancedb_table_version gauge$/gm)).toHaveLength(1);
});

it("pushes only the failure time of a failed backup, so the last success stays for the alert", async () => {
  await pushOutcome(url, {
    kind: "backup",
    stack: "dev",
    store: "lancedb",
    database: "lancedb_data",
    ok: false,
    at: new Date(1000_000),
  });
  expect(samples(received[0].body)).toEqual({ holdfast_backup_last_failure_timestamp_seconds: 1000 });
});

it("pushes drills as success or failure times", async () => {
  await pushOutcome(url, {
    kind: "drill",
    stack: "dev",
    store: "redis",
    database: "holdfast",
    ok: true,
    at: new Date(5000),
  });
  await pushOutcome(url, {
    kind: "drill",
    stack: "dev",
    store: "redis",
    database: "holdfast",
    ok: false,
    at: new Date(9000),
  });
  expect(received.map((r) => samples(r.body))).toEqual([
    { holdfast_drill_last_success_timestamp_seconds: 5 },
    { holdfast_drill_last_failure_timestamp_seconds: 9 },
  ]);
});

it("encodes a label value with a slash as the Pushgateway's base64 form", async () => {
  await pushOutcome(url, {
    kind: "drill",
    stack: "dev",
    store: "lancedb",
    database: "/app/lancedb_data",
    ok: true,
    at: new Date(0),
  });
  expect(received[0].url).toBe(
    `/metrics/job/holdfast/stack/dev/store/lancedb/database@base64/${Buffer.from("/app/lancedb_data").toString("base64url")}`,
  );
});

it("reports, never throws, when the Pushgateway refuses or is away", async () => {
  status = 400;
  const refused = await pushOutcome(url, {
    kind: "drill",
    stack: "dev",
    store: "redis",
    database: "x",
    ok: true,
    at: new Date(),
  });
  expect(refused).toBe("the Pushgateway answered 400 bad metric");
  const away = await pushOutcome("http://127.0.0.1:1", {
    kind: "drill",
    stack: "dev",
    store: "redis",
    database: "x",
    ok: true,
    at: new Date(),
  });
  expect(away).toMatch(/^cannot push to http:\/\/127\.0\.0\.1:1/);
});

describeWithPromtool("the pushed text, read by promtool", () => {
  it("passes promtool check metrics: valid, every metric typed and described, labels escaped", () => {
    const base = { stack: "prod", store: "lancedb" as const, database: "/app/lancedb_data", at: new Date(0) };
    const outcomes: JobOutcome[] = [
      {
        ...base,
        kind: "backup",
        ok: true,
        durationSeconds: 3,
        sizeBytes: 5000,
        uploadedBytes: 1200,
        items: 200,
        tableVersions: { proposals: 12, 'odd"name\\': 3 },
      },
      { ...base, kind: "backup", ok: false },
      { ...base, kind: "drill", ok: true },
      { ...base, kind: "drill", ok: false },
    ];
    for (const o of outcomes) {
      const r = promtool(["check", "metrics"], exposition(o));
      expect(r.output).toBe("");
      expect(r.code).toBe(0);
    }
  });
});
