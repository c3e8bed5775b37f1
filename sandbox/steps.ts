// The disasters Holdfast covers, one step each, run with the real commands against the sandbox; every
// step checks its outcome and throws StepFailure with what it found when the outcome is not what
// Holdfast promises.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as lancedb from "@lancedb/lancedb";
import type Redis from "ioredis";
import { ASIDE_DIR } from "../jobs/redis-pod/aside";
import type { SnapshotRecord } from "../jobs/lancedb/backup/record";
import type { BackupSummary } from "../jobs/store/catalog";
import { getJson } from "../jobs/store/s3";
import { compareSnapshots, snapshotDataset, type KeySnapshot } from "../harness/redis-dataset";
import type { PodProcess } from "../harness/redis-set";
import { waitFor } from "../harness/processes";
import { TABLE } from "./proposal-log-app";
import { describeLogLine } from "./report";
import { CHECKED_PATTERNS, proposalRow, VECTOR_DIM } from "./sample-data";
import type { Sandbox, Say } from "./sandbox";
import { continuousStep } from "./continuous-step";
import { doctorStep } from "./doctor-step";
import { check, StepFailure, succeeded } from "./verdict";

export { StepFailure };

/** What steps leave for later steps. */
export interface SandboxState {
  /** Every key of the set, as it was when step 1 backed it up. */
  backedUp?: Map<string, KeySnapshot>;
  /** The Redis backup step 1 took. */
  redisBackup?: BackupSummary;
  /** The LanceDB snapshot step 1 took. */
  lancedbSnapshot?: BackupSummary;
}

/** What a step is given. */
export interface StepContext {
  sandbox: Sandbox;
  say: Say;
  state: SandboxState;
}

/** What a step reports when its checks pass. */
export interface StepOutcome {
  summary: string;
  facts: string[];
}

/** One scenario. */
export interface Step {
  n: number;
  title: string;
  /** Steps whose results this one needs (run first, without a verdict, by `--step N`). */
  needs: number[];
  run(ctx: StepContext): Promise<StepOutcome>;
}

const n = (x: number) => x.toLocaleString("en-US");
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The stack's committed backups, oldest first (of one store, or of every store). */
async function listBackups(ctx: StepContext, store?: "redis" | "lancedb"): Promise<BackupSummary[]> {
  const r = await ctx.sandbox.holdfast([
    "stack",
    "list",
    ...ctx.sandbox.stackArgs,
    ...(store ? ["--store", store] : []),
    "--json",
  ]);
  succeeded(r, "stack list");
  return (JSON.parse(r.stdout) as BackupSummary[]).sort((a, b) => a.id.localeCompare(b.id));
}

async function patternCounts(admin: Redis): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const pattern of CHECKED_PATTERNS) {
    let cursor = "0";
    let total = 0;
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      total += keys.length;
    } while (cursor !== "0");
    counts[pattern] = total;
  }
  return counts;
}

const backupStep: Step = {
  n: 1,
  title: "scheduled backup of both stores",
  needs: [],
  async run(ctx) {
    const { sandbox, state } = ctx;
    const admin = await sandbox.admin();
    await sandbox.cluster.set.waitForAofWritten();
    state.backedUp = await snapshotDataset(admin, [0]);
    for (const store of ["redis", "lancedb"] as const) {
      const r = await sandbox.holdfast([
        "stack",
        "backup",
        store,
        ...sandbox.stackArgs,
        "--reason",
        "scheduled",
        "--wait",
        "--timeout",
        "5m",
      ]);
      succeeded(r, `the ${store}-backup CronJob's run`);
    }
    const backups = await listBackups(ctx);
    const [redis] = backups.filter((b) => b.store === "redis").slice(-1);
    const [lance] = backups.filter((b) => b.store === "lancedb").slice(-1);
    state.redisBackup = redis;
    state.lancedbSnapshot = lance;
    const facts = [
      check(
        redis?.items === state.backedUp.size,
        "the Redis backup holds every key",
        `${redis?.items} of ${state.backedUp.size}`,
      ),
      check(Boolean(lance && lance.items > 0), "the LanceDB snapshot holds the proposal log"),
    ];
    return {
      summary: `Redis ${redis.id}: ${n(redis.items)} keys, ${mib(redis.sizeBytes)}; LanceDB ${lance.id}: ${n(lance.items)} rows, ${mib(lance.sizeBytes)}`,
      facts,
    };
  },
};

const flushStep: Step = {
  n: 3,
  title: "FLUSHALL by the application user",
  needs: [],
  async run(ctx) {
    const set = ctx.sandbox.cluster.set;
    const admin = await ctx.sandbox.admin();
    const before = await admin.dbsize();
    const app = set.appClient({ maxRetriesPerRequest: 1 });
    const refusals: string[] = [];
    for (const command of ["FLUSHALL", "FLUSHDB"]) {
      ctx.say(`  > ${command}   (as user app)`);
      try {
        await app.call(command);
        throw new StepFailure(`${command} by the application user was accepted`);
      } catch (err) {
        if (err instanceof StepFailure) throw err;
        const message = (err as Error).message;
        ctx.say(`    │ ${message}`);
        refusals.push(check(/^NOPERM/.test(message), `${command} refused with NOPERM`, message));
      }
    }
    app.disconnect();
    const after = await admin.dbsize();
    return {
      summary: `FLUSHALL and FLUSHDB refused with NOPERM; DBSIZE ${n(after)} before and after`,
      facts: [...refusals, check(after === before, "no key lost", `DBSIZE ${before} -> ${after}`)],
    };
  },
};

const failoverStep: Step = {
  n: 4,
  title: "primary killed under writes",
  needs: [],
  async run(ctx) {
    const set = ctx.sandbox.cluster.set;
    const primary = await set.waitForHealthy(60_000);
    const app = set.appClient();
    const acknowledged: string[] = [];
    let refused = 0;
    let writing = true;
    let batch = 0;
    // The application: batches of writes, each acknowledged only once a replica has it (WAIT 1).
    const writer = (async () => {
      while (writing) {
        const keys = Array.from({ length: 50 }, (_, i) => `orders:${batch}:${i}`);
        batch++;
        try {
          const p = app.pipeline();
          for (const k of keys) p.set(k, `order ${k}`);
          p.call("WAIT", "1", "1000");
          const replies = (await p.exec())!;
          const acked = replies[replies.length - 1];
          if (!acked[0] && Number(acked[1]) >= 1 && replies.every(([e]) => !e)) acknowledged.push(...keys);
          else refused += keys.length;
        } catch {
          refused += keys.length;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    await waitFor("writes to be acknowledged", () => acknowledged.length >= 1000, 30_000);
    ctx.say(
      `  > kill -9 ${primary.podName} (the primary), ${n(acknowledged.length)} writes acknowledged so far`,
    );
    const killedAt = Date.now();
    await set.kill(primary);
    const promoted = await set.waitForPromotion(primary, 60_000);
    const failoverSeconds = (Date.now() - killedAt) / 1000;
    ctx.say(`    │ ${promoted.podName} promoted after ${failoverSeconds.toFixed(1)} s`);
    const ackedAtFailover = acknowledged.length;
    await waitFor(
      "writes to continue on the new primary",
      () => acknowledged.length >= ackedAtFailover + 1000,
      30_000,
    );
    writing = false;
    await writer;
    app.disconnect();
    // The killed pod comes back (its container restarts): its start-up rejoins it as a replica.
    ctx.say(`  > restart ${primary.podName}`);
    await set.startData(primary.ordinal);
    const admin = await ctx.sandbox.admin();
    const missing: string[] = [];
    for (let i = 0; i < acknowledged.length; i += 1000) {
      const slice = acknowledged.slice(i, i + 1000);
      const exists = (await admin.pipeline(slice.map((k) => ["exists", k])).exec())!;
      exists.forEach(([, v], j) => v === 0 && missing.push(slice[j]));
    }
    const rejoined = await set.replication(primary);
    return {
      summary: `${promoted.podName} took over in ${failoverSeconds.toFixed(1)} s; ${n(acknowledged.length)} acknowledged writes, ${missing.length} lost; ${primary.podName} rejoined as a replica`,
      facts: [
        check(
          missing.length === 0,
          "every acknowledged write is on the new primary",
          `${missing.length} missing, e.g. ${missing[0]}`,
        ),
        check(acknowledged.length > ackedAtFailover, "writes continued after the failover"),
        check(rejoined.role === "slave", `${primary.podName} rejoined as a replica`, rejoined.role),
        `${n(refused)} writes were refused or unacknowledged while no primary was reachable (the application retries those)`,
      ],
    };
  },
};

/** The folders of the claims of StatefulSet `sts`. */
function claimFolders(ctx: StepContext, prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => ctx.sandbox.cluster.claimDir(`${prefix}-${i}`));
}

/** Removes what `dir` holds, again while a writer still adds files to it. */
function emptyFolder(dir: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      for (const entry of fs.readdirSync(dir))
        fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOTEMPTY" || attempt >= 20) throw err;
    }
  }
}

const wipeStep: Step = {
  n: 5,
  title: "Redis volumes wiped, restored",
  needs: [1],
  async run(ctx) {
    const { sandbox, state } = ctx;
    const { statefulSet, sentinelStatefulSet } = sandbox.cluster.outputs.redis;
    const set = sandbox.cluster.set;
    // Complete loss with the volumes gone (`down -v`): everything stops and every volume comes back blank.
    ctx.say("  > scale the sentinels and Redis to 0, empty every volume, scale back up");
    const wipedAt = Date.now();
    await sandbox.scale(sentinelStatefulSet, 0);
    await sandbox.scale(statefulSet, 0);
    for (const dir of [
      ...claimFolders(ctx, `data-${statefulSet}`, set.data.length),
      ...claimFolders(ctx, `state-${sentinelStatefulSet}`, set.sentinels.length),
    ])
      emptyFolder(dir);
    await Promise.all([
      sandbox.scale(statefulSet, set.data.length),
      sandbox.scale(sentinelStatefulSet, set.sentinels.length),
    ]);
    const pod0 = set.connect(set.data[0], "admin");
    await pod0.connect();
    const emptyKeys = await pod0.dbsize();
    pod0.disconnect();
    ctx.say(
      `    │ the set is back, empty: DBSIZE ${emptyKeys} (${((Date.now() - wipedAt) / 1000).toFixed(1)} s)`,
    );
    const restoreAt = Date.now();

    const r = await sandbox.holdfast([
      "stack",
      "restore",
      "redis",
      ...sandbox.stackArgs,
      "--backup",
      "latest",
      "--yes",
      "--json",
    ]);
    succeeded(r, "stack restore redis");
    ctx.say(
      `    │ restored in ${((Date.now() - restoreAt) / 1000).toFixed(1)} s; comparing every key with the backup`,
    );
    const out = JSON.parse(r.stdout) as { plan: { backup: { id: string } } };
    const restored = await snapshotDataset(await sandbox.admin(), [0]);
    const problems = compareSnapshots(state.backedUp!, restored, 60_000);
    const counts = await patternCounts(await sandbox.admin());
    const expectedCounts = Object.fromEntries(
      CHECKED_PATTERNS.map((p) => {
        const re = new RegExp(`^${p.replaceAll("*", ".*")}$`);
        return [
          p,
          [...state.backedUp!.keys()].filter((k) => re.test(Buffer.from(k.slice(2), "base64").toString()))
            .length,
        ];
      }),
    );
    return {
      summary: `emptied set restored from ${out.plan.backup.id}: ${n(restored.size)} keys, each identical to the backup (${CHECKED_PATTERNS.map((p) => `${n(counts[p])} ${p}`).join(", ")})`,
      facts: [
        check(emptyKeys === 0, "the wiped set came back empty", `DBSIZE ${emptyKeys}`),
        check(out.plan.backup.id === state.redisBackup!.id, "latest is step 1's backup", out.plan.backup.id),
        check(
          problems.length === 0,
          "every key is back with its type, value and TTL",
          `${problems.length} differences, e.g. ${problems.slice(0, 3).join("; ")}`,
        ),
        check(
          CHECKED_PATTERNS.every((p) => counts[p] === expectedCounts[p] && counts[p] > 0),
          "every emotive, metadata and frequency key is back",
          JSON.stringify({ counts, expectedCounts }),
        ),
      ],
    };
  },
};

/** The newest incremental AOF file of a data pod. */
function incrFile(pod: PodProcess): string {
  const dir = path.join(pod.dir, "data", "appendonlydir");
  const [newest] = fs
    .readdirSync(dir)
    .filter((f) => /\.incr\.aof$/.test(f))
    .sort((a, b) => Number(/(\d+)\.incr/.exec(b)![1]) - Number(/(\d+)\.incr/.exec(a)![1]));
  return path.join(dir, newest);
}

const sha256 = (file: string) => spawnSync("sha256sum", [file], { encoding: "utf8" }).stdout.split(" ")[0];

const aofStep: Step = {
  n: 6,
  title: "corrupted AOF repaired at start-up",
  needs: [],
  async run(ctx) {
    const set = ctx.sandbox.cluster.set;
    const primary = await set.waitForHealthy(60_000);
    const app = set.appClient();
    const keys = Array.from({ length: 2000 }, (_, i) => `journal:${i}`);
    for (let i = 0; i < keys.length; i += 200) {
      const p = app.pipeline();
      for (const k of keys.slice(i, i + 200)) p.set(k, `entry ${k}`);
      p.call("WAIT", "2", "2000");
      await p.exec();
    }
    app.disconnect();
    await set.waitForAofWritten();
    // A crash, and the disk kept a damaged AOF: garbage in the middle of the newest file.
    ctx.say(`  > kill -9 ${primary.podName}, overwrite 8 bytes in the middle of its AOF, start it again`);
    await set.kill(primary);
    const incr = incrFile(primary);
    const bytes = fs.readFileSync(incr);
    const at = bytes.indexOf("*3\r\n$3\r\nset", Math.floor(bytes.length / 2));
    if (at < 0) throw new StepFailure(`no write to damage in ${incr}`);
    bytes.write("GARBAGE!", at);
    fs.writeFileSync(incr, bytes);
    const damaged = sha256(incr);
    const init = await set.runDataInit(primary.ordinal, "60s");
    for (const line of init.stderr
      .split("\n")
      .filter((l) => /repair|aside|role|AOF/i.test(l))
      .slice(0, 4))
      ctx.say(`    │ ${describeLogLine(line)}`);
    if (init.code !== 0) throw new StepFailure(`the init container exited ${init.code}`);
    await set.startData(primary.ordinal);
    const admin = await ctx.sandbox.admin();
    const newPrimary = await set.waitForHealthy(60_000);
    const asideDir = path.join(primary.dir, "data", ASIDE_DIR);
    const kept = fs.existsSync(asideDir)
      ? fs.readdirSync(asideDir).filter((d) => d.endsWith("-aof-repair"))
      : [];
    const keptShas = kept.map((k) => {
      const f = path.join(asideDir, k, "appendonlydir", path.basename(incr));
      return fs.existsSync(f) ? sha256(f) : "";
    });
    const present = (await admin.pipeline(keys.map((k) => ["exists", k])).exec())!.filter(
      ([, v]) => v === 1,
    ).length;
    const role = (await set.replication(primary)).role;
    return {
      summary: `${primary.podName}'s AOF repaired, original kept in ${ASIDE_DIR}/${kept[kept.length - 1] ?? "?"}; ${newPrimary.podName} serves, ${n(present)}/${n(keys.length)} writes present`,
      facts: [
        check(/repaired the AOF/.test(init.stderr), "the init container repaired the AOF"),
        check(keptShas.includes(damaged), "the damaged original is kept byte for byte"),
        check(present === keys.length, "every acknowledged write is present", `${present} of ${keys.length}`),
        check(role === "slave", `${primary.podName} is back, as a replica`, role),
      ],
    };
  },
};

const lancedbStep: Step = {
  n: 7,
  title: "LanceDB directory lost while writing",
  needs: [1],
  async run(ctx) {
    const { sandbox, state } = ctx;
    const dir = sandbox.lancedbDir;
    const committedBefore = sandbox.commits().length;
    await waitFor(
      "the application to keep committing",
      () => sandbox.commits().length >= committedBefore + 3,
      30_000,
    );
    ctx.say(`  > rm -rf ${dir}/*   (the application is writing: ${sandbox.commits().length} commits so far)`);
    emptyFolder(dir);
    await new Promise((r) => setTimeout(r, 1000));
    // What is left is no dataset to back up: the restore moves it aside on the volume instead.
    ctx.say("  > the directory holds no dataset to take a safety backup of: restore with --no-safety-backup");

    const r = await sandbox.holdfast([
      "stack",
      "restore",
      "lancedb",
      ...sandbox.stackArgs,
      "--backup",
      "latest",
      "--no-safety-backup",
      "--yes",
      "--json",
    ]);
    succeeded(r, "stack restore lancedb");
    const record = await getJson<SnapshotRecord>(
      sandbox.cluster.s3.client(),
      sandbox.cluster.outputs.backup.bucket,
      `${sandbox.cluster.outputs.backup.prefix}/lancedb/snapshots/${state.lancedbSnapshot!.id}.json`,
    );
    const table = record.tables.find((t) => t.name === TABLE);
    if (!table) throw new StepFailure(`snapshot ${record.id} has no table ${TABLE}`);
    // The application is back on the restored data; the snapshot's version must hold exactly the rows
    // the application had committed at that version, value for value.
    const committed = sandbox.commits().length;
    await waitFor(
      "the application to commit on the restored data",
      () => sandbox.commits().length > committed,
      60_000,
    );
    const db = await lancedb.connect(dir);
    let mismatches: string[] = [];
    let latestRows = 0;
    try {
      const t = await db.openTable(TABLE);
      latestRows = await t.countRows();
      await t.checkout(table.version);
      const rows = (await t.query().toArray()) as Record<string, unknown>[];
      mismatches = compareRows(rows, table.rows);
      t.close();
    } finally {
      db.close();
    }
    const loggedAtVersion = sandbox
      .commits()
      .slice(0, committedBefore + 10)
      .find((c) => c.version === table.version);
    return {
      summary: `${TABLE} back at version ${table.version} of snapshot ${record.id}: ${n(table.rows)} rows identical; the application resumed (${n(latestRows)} rows now)`,
      facts: [
        check(
          mismatches.length === 0,
          `every row of ${TABLE} at version ${table.version} matches what the application wrote`,
          mismatches.slice(0, 3).join("; "),
        ),
        check(
          loggedAtVersion?.rows === table.rows,
          "the application had committed exactly those rows at that version",
          JSON.stringify(loggedAtVersion),
        ),
        check(latestRows > table.rows, "the application writes again on the restored table"),
      ],
    };
  },
};

/** Differences between `rows` and proposal rows 0..count-1, one line each. */
function compareRows(rows: Record<string, unknown>[], count: number): string[] {
  const problems: string[] = [];
  if (rows.length !== count) problems.push(`${rows.length} rows, expected ${count}`);
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  for (let id = 0; id < count && problems.length < 10; id++) {
    const got = byId.get(id);
    const want = proposalRow(id);
    if (!got) {
      problems.push(`row ${id} missing`);
      continue;
    }
    for (const field of ["kb_id", "proposal", "score"])
      if (got[field] !== want[field]) problems.push(`row ${id}: ${field} differs`);
    const vector = Array.from(got.vector as Iterable<number>);
    const wanted = want.vector as number[];
    if (vector.length !== VECTOR_DIM || vector.some((v, i) => v !== Math.fround(wanted[i])))
      problems.push(`row ${id}: vector differs`);
  }
  return problems;
}

const drillAndPruneStep: Step = {
  n: 8,
  title: "restore drill and retention prune",
  needs: [1],
  async run(ctx) {
    const { sandbox } = ctx;
    const ns = ["--namespace", sandbox.cluster.namespace];
    // The next night's backups, of the restored data, then the monthly drill and the nightly prune as
    // the stack declares them.
    const trigger = async (cronJob: string) => {
      const r = await sandbox.holdfast([
        "trigger",
        "--cronjob",
        cronJob,
        ...ns,
        "--reason",
        "scheduled",
        "--wait",
        "--timeout",
        "5m",
      ]);
      succeeded(r, `the ${cronJob} CronJob's run`);
    };
    const everyBackup = () => listBackups(ctx);
    for (const cronJob of ["redis-backup", "lancedb-backup", "restore-drill"]) await trigger(cronJob);
    const drillLog = jobLog(ctx, "restore-drill");
    const beforeScheduledPrune = await everyBackup();
    await trigger("prune");
    const before = await everyBackup();
    // A tighter retention than the stack's 30 days, so the prune has something to delete here.
    const { bucket, prefix } = sandbox.cluster.outputs.backup;
    const prune = await sandbox.holdfast([
      "prune",
      "--bucket",
      bucket,
      "--prefix",
      prefix,
      "--keep-last",
      "1",
      "--keep-daily",
      "0",
      "--json",
    ]);
    succeeded(prune, "prune --keep-last 1");
    const after = [...(await listBackups(ctx, "redis")), ...(await listBackups(ctx, "lancedb"))];
    const newest = (store: string) => before.filter((b) => b.store === store).slice(-1)[0]?.id;
    // The stream's newest chain replays from its base: prune keeps that base whatever its age.
    const chainBase = before
      .filter((b) => b.store === "redis" && b.reason === "stream-base")
      .slice(-1)[0]?.id;
    const mustKeep = [...new Set([newest("redis"), newest("lancedb"), chainBase].filter(Boolean))];
    const kept = after.map((b) => `${b.store} ${b.id}`);
    const deleted = before.filter((b) => !after.some((a) => a.id === b.id && a.store === b.store));
    for (const d of deleted) ctx.say(`    │ deleted ${d.store} ${d.id} (${d.reason})`);
    for (const k of kept) ctx.say(`    │ kept ${k}`);
    return {
      summary: `drill passed; the stack's prune kept all ${before.length} (inside 30 days); --keep-last 1 deleted ${deleted.length}, kept ${kept.join(", ")}`,
      facts: [
        check(
          before.length === beforeScheduledPrune.length,
          "the stack's prune (30 days) deleted none of today's backups",
          `${beforeScheduledPrune.length} -> ${before.length}`,
        ),
        check(
          /passed/i.test(drillLog),
          "the restore drill passed",
          drillLog.split("\n").slice(-3).join(" / "),
        ),
        check(
          after.length === mustKeep.length && mustKeep.every((id) => after.some((a) => a.id === id)),
          `the prune kept the newest backup of each store${chainBase ? " and the stream's newest chain base" : ""} and deleted the rest`,
          kept.join(", "),
        ),
        check(
          deleted.length === before.length - mustKeep.length,
          "every older backup was deleted",
          `${deleted.length} of ${before.length - mustKeep.length}`,
        ),
      ],
    };
  },
};

/** The log of the newest Job started from `cronJob`. */
function jobLog(ctx: StepContext, cronJob: string): string {
  const cluster = ctx.sandbox.cluster;
  const pods = cluster
    .objects("v1", "Pod")
    .filter((p) => p.metadata.name.startsWith(`${cronJob}-`))
    .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
  const pod = pods[pods.length - 1];
  const file = pod && cluster.kubelet.podLog(pod.metadata.name);
  return file && fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

/** Every step, in order. */
export const STEPS: Step[] = [
  backupStep,
  doctorStep(2, "stack doctor before trusting the stack", [1], false),
  flushStep,
  failoverStep,
  wipeStep,
  aofStep,
  lancedbStep,
  drillAndPruneStep,
  doctorStep(9, "stack doctor after the drill", [1, 8], true),
  continuousStep(10, "admin's FLUSHALL under load, undone to just before"),
];
