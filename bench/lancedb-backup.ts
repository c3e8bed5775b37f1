// Benchmark of `holdfast backup lancedb` against the usual hand-run way of backing up LanceDB (`aws s3 sync`
// and `rclone sync` of the data directory), all three against the same s3rver in the same run: a full
// backup of a dataset of at least 1 GiB (random float vectors, which compress poorly), then, after 1%
// more rows, the incremental run of each. Prints wall times and the ratios the issue sets as goals:
//   full Holdfast / full aws s3 sync            <= 1.2
//   incremental Holdfast / full Holdfast        <= 0.10
//   incremental Holdfast / aws s3 sync rerun    <= 0.7
// Holdfast runs as the job image runs it: the CLI compiled with tsconfig.build.json, one process per
// backup. Raw numbers go to bench/results/lancedb-backup-<time>.json.
//   npm run bench:lancedb -- [--size-mib 1100] [--repeat 1] [--concurrency 8]
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as lancedb from "@lancedb/lancedb";
import { compiledCli } from "../harness/holdfast-cli";
import { S3Server } from "../harness/s3";
import { batch, generate } from "./lancedb-dataset";
import { flag, runTimed, version } from "./support";

const root = path.join(__dirname, "..");
const AWS = "/usr/bin/aws";

function duBytes(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else n += fs.statSync(p).size;
    }
  };
  walk(dir);
  return n;
}

/** Adds 1% more rows to `proposals`. */
async function grow(dataDir: string): Promise<number> {
  const db = await lancedb.connect(dataDir);
  const t = await db.openTable("proposals");
  const extra = Math.ceil((await t.countRows()) / 100);
  await t.add(batch(10_000_000 + (await t.countRows()), extra));
  t.close();
  db.close();
  return extra;
}

/** Runs a command to completion, timed from a `sync` (nothing of the previous step still being written). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  execFileSync("sync");
  return runTimed(cmd, args, env);
}

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/** The machine and versions a run is measured on. */
function machineInfo(): Record<string, unknown> {
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 1073741824),
    node: process.version,
    lancedb: JSON.parse(
      fs.readFileSync(path.join(root, "node_modules/@lancedb/lancedb/package.json"), "utf8"),
    ).version,
    s3rver: JSON.parse(fs.readFileSync(path.join(root, "node_modules/s3rver/package.json"), "utf8")).version,
    aws: version(AWS, ["--version"]),
    rclone: version("rclone", ["version"]),
  };
}

/** The environment of the uploaders: the S3 endpoint and keys, for aws and rclone alike. */
function benchEnv(s3: S3Server): NodeJS.ProcessEnv {
  // Loopback http: no CA bundle (rclone's SDK refuses one with its custom transport).
  const { AWS_CA_BUNDLE: _bundle, ...inherited } = process.env;
  return {
    ...inherited,
    ...s3.env,
    AWS_PAGER: "",
    RCLONE_CONFIG_S3RVER_TYPE: "s3",
    RCLONE_CONFIG_S3RVER_PROVIDER: "Other",
    RCLONE_CONFIG_S3RVER_ENDPOINT: s3.env.AWS_ENDPOINT_URL_S3,
    RCLONE_CONFIG_S3RVER_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID,
    RCLONE_CONFIG_S3RVER_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY,
    RCLONE_CONFIG_S3RVER_REGION: s3.env.AWS_REGION,
    RCLONE_CONFIG_S3RVER_FORCE_PATH_STYLE: "true",
  };
}

async function main(): Promise<void> {
  const sizeMib = flag("size-mib", 1100);
  const repeat = flag("repeat", 1);
  const concurrency = flag("concurrency", 8);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-bench-lancedb-"));
  const machine = machineInfo();
  console.log("machine", JSON.stringify(machine));
  try {
    // The CLI as the job image runs it (compiled, not tsx): the tests' cached build of this checkout.
    const cli = compiledCli().bin;

    const dataDir = path.join(work, "lancedb_data");
    const t0 = Date.now();
    const rows = await generate(dataDir, sizeMib);
    console.log(
      `dataset: ${rows} rows, ${(duBytes(dataDir) / 1073741824).toFixed(2)} GiB in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );

    const results = [];
    for (let rep = 1; rep <= repeat; rep++) {
      const s3 = await S3Server.start();
      try {
        for (const b of ["bench-holdfast", "bench-aws", "bench-rclone"]) await s3.createBucket(b);
        const env = benchEnv(s3);
        const holdfast = () =>
          run(
            process.execPath,
            [
              cli,
              "backup",
              "lancedb",
              "--data-dir",
              dataDir,
              "--bucket",
              "bench-holdfast",
              "--prefix",
              "bench",
              "--concurrency",
              String(concurrency),
              "--json",
            ],
            env,
          );
        const aws = () =>
          run(
            AWS,
            [
              "s3",
              "sync",
              "--only-show-errors",
              "--endpoint-url",
              s3.env.AWS_ENDPOINT_URL_S3,
              dataDir,
              "s3://bench-aws/lancedb/",
            ],
            env,
          );
        const rclone = () => run("rclone", ["sync", dataDir, "s3rver:bench-rclone/lancedb"], env);

        const size = duBytes(dataDir);
        const load = { before: loadavg() };
        const fullH = await holdfast();
        const fullA = await aws();
        const fullR = await rclone();
        const extra = await grow(dataDir);
        const incH = await holdfast();
        const incA = await aws();
        const incR = await rclone();
        const sentFull = JSON.parse(fullH.stdout).uploaded.bytes as number;
        const sentInc = JSON.parse(incH.stdout).uploaded.bytes as number;
        const r = {
          rep,
          datasetBytes: size,
          addedRows: extra,
          load: { ...load, after: loadavg() },
          seconds: {
            full: { holdfast: fullH.seconds, aws: fullA.seconds, rclone: fullR.seconds },
            incremental: { holdfast: incH.seconds, aws: incA.seconds, rclone: incR.seconds },
          },
          holdfastSent: { full: sentFull, incremental: sentInc },
          ratios: {
            fullVsAws: fullH.seconds / fullA.seconds,
            incrementalVsOwnFull: incH.seconds / fullH.seconds,
            incrementalVsAwsRerun: incH.seconds / incA.seconds,
          },
        };
        results.push(r);
        const s = (x: number) => x.toFixed(2).padStart(8);
        console.log(
          `\nrun ${rep}: dataset ${(size / 1073741824).toFixed(2)} GiB, +${extra} rows, load ${r.load.before} -> ${r.load.after}`,
        );
        console.log(`                 holdfast  aws s3 sync  rclone sync`);
        console.log(`full (s)        ${s(fullH.seconds)}     ${s(fullA.seconds)}     ${s(fullR.seconds)}`);
        console.log(`incremental (s) ${s(incH.seconds)}     ${s(incA.seconds)}     ${s(incR.seconds)}`);
        console.log(
          `holdfast sent: full ${(sentFull / 1048576).toFixed(1)} MiB, incremental ${(sentInc / 1048576).toFixed(1)} MiB`,
        );
        console.log(
          `ratios: full/aws ${r.ratios.fullVsAws.toFixed(2)} (goal <= 1.2), incremental/own full ${r.ratios.incrementalVsOwnFull.toFixed(3)} (goal <= 0.10), incremental/aws rerun ${r.ratios.incrementalVsAwsRerun.toFixed(2)} (goal <= 0.7)`,
        );
      } finally {
        await s3.cleanup();
      }
    }
    fs.mkdirSync(path.join(root, "bench", "results"), { recursive: true });
    const out = path.join(
      root,
      "bench",
      "results",
      `lancedb-backup-${new Date().toISOString().replace(/[:.]/g, "")}.json`,
    );
    fs.writeFileSync(out, JSON.stringify({ machine, sizeMib, concurrency, results }, null, 2));
    console.log(`\nraw results: ${path.relative(root, out)}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
