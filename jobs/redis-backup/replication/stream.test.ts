// The replication-protocol snapshot against real redis-server 7.0 processes, as the stack's backup user
// (ACL `-@all +sync +psync +replconf +ping +info +role`): both payload forms, what the node says about
// the snapshot, refused credentials and rights, a node that cannot sync, a node that dies or stalls
// mid-stream.
import { DATA_NODE_RULES } from "../../../components/redis/acl";
import { DATASET_PATTERNS, fillEveryType, liveCounts } from "../../../harness/redis-dataset";
import { StandaloneRedis } from "../../../harness/standalone-redis";
import { RdbCheck } from "../rdb/check";
import { READ_BUFFER_BYTES, ReplicationAuthError, ReplicationStream, ReplicationStreamError } from "./stream";
import { waitFor } from "../../../harness/processes";

jest.setTimeout(120_000);

const backupUser = { username: "backup", password: "backup-secret" };

async function withBackupUser(r: StandaloneRedis): Promise<void> {
  const c = r.client();
  await c.call(
    "ACL",
    "SETUSER",
    "backup",
    "on",
    `>${backupUser.password}`,
    ...DATA_NODE_RULES.backup.split(" "),
  );
  await c.call("ACL", "SETUSER", "probe", "on", ">probe", ...DATA_NODE_RULES.probe.split(" "));
}

async function receive(stream: ReplicationStream): Promise<RdbCheck> {
  const check = new RdbCheck({ patterns: DATASET_PATTERNS });
  await stream.pipe({ write: (chunk) => (check.write(chunk), true), drained: async () => undefined });
  return check;
}

/** A sink that takes the first piece and then blocks, as an upload held by S3 does. */
function blockingSink() {
  let pieces = 0;
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => (release = r));
  return {
    sink: { write: () => (++pieces, false), drained: () => released },
    pieces: () => pieces,
    release,
  };
}

describe("ReplicationStream", () => {
  let redis: StandaloneRedis;
  beforeAll(async () => {
    redis = await StandaloneRedis.start(["repl-diskless-sync-delay 0"]);
    await withBackupUser(redis);
    await fillEveryType(redis.client());
  });
  afterAll(() => redis.cleanup());

  const address = () => ({ host: "127.0.0.1", port: redis.port });

  it("receives a diskless snapshot ($EOF: mark) that is a whole RDB of the dataset", async () => {
    await redis.client().config("SET", "repl-diskless-sync", "yes");
    const stream = await ReplicationStream.open(address(), backupUser);
    const info = String(await redis.client().info("replication"));
    expect(stream.snapshot).toMatchObject({ transfer: "eof", size: undefined });
    expect(stream.snapshot.replicationId).toBe(/^master_replid:(\w+)/m.exec(info)![1]);
    const check = await receive(stream);
    stream.destroy();
    const result = check.finish();
    expect(result.bytes).toBe(stream.bytesReceived);
    const live = await liveCounts(redis.client(), DATASET_PATTERNS);
    expect(Object.fromEntries(Object.entries(result.summary.databases).map(([d, s]) => [d, s.keys]))).toEqual(
      live.keys,
    );
    expect(result.summary.aux["repl-id"]).toBe(stream.snapshot.replicationId);
  });

  it("receives a disk-based snapshot ($<len>) of exactly the announced size", async () => {
    await redis.client().config("SET", "repl-diskless-sync", "no");
    const stream = await ReplicationStream.open(address(), backupUser);
    expect(stream.snapshot.transfer).toBe("bulk");
    const check = await receive(stream);
    stream.destroy();
    const result = check.finish();
    expect(result.bytes).toBe(stream.snapshot.size);
    expect(result.summary.keys).toBe(91);
    await redis.client().config("SET", "repl-diskless-sync", "yes");
  });

  it("refuses wrong credentials and users without the replication rights", async () => {
    await expect(
      ReplicationStream.open(address(), { username: "backup", password: "wrong" }),
    ).rejects.toThrow(ReplicationAuthError);
    await expect(ReplicationStream.open(address(), { username: "probe", password: "probe" })).rejects.toThrow(
      /NOPERM.*\+replconf/,
    );
  });

  it("fails with a stream error when the node cannot give a snapshot or cannot be reached", async () => {
    const lost = await StandaloneRedis.start(["replicaof 127.0.0.1 1"]);
    try {
      await expect(ReplicationStream.open({ host: "127.0.0.1", port: lost.port }, {})).rejects.toThrow(
        /cannot give a snapshot now: NOMASTERLINK/,
      );
    } finally {
      await lost.cleanup();
    }
    await expect(ReplicationStream.open({ host: "127.0.0.1", port: 1 }, {})).rejects.toThrow(
      ReplicationStreamError,
    );
  });
});

describe("ReplicationStream from a node that fails mid-stream", () => {
  let redis: StandaloneRedis;
  beforeEach(async () => {
    redis = await StandaloneRedis.start(["repl-diskless-sync-delay 0"]);
    const c = redis.client();
    // About 40 MB, so the stream cannot fit in the socket buffers while the reader waits.
    const value = Buffer.alloc(100_000, "v");
    for (let i = 0; i < 400; i += 50) {
      const p = c.pipeline();
      for (let j = i; j < i + 50; j++) p.set(`big:${j}`, Buffer.concat([Buffer.from(String(j)), value]));
      await p.exec();
    }
    await c.config("SET", "rdbcompression", "no");
  });
  afterEach(() => redis.cleanup());

  it("reports how far it got when the node is killed", async () => {
    const stream = await ReplicationStream.open({ host: "127.0.0.1", port: redis.port }, {});
    const b = blockingSink();
    const piping = stream.pipe(b.sink);
    await waitFor("the first piece", () => b.pieces() > 0);
    await redis.stop();
    b.release();
    await expect(piping).rejects.toThrow(/closed the stream after \d+ bytes before the end mark/);
    await piping.catch((err: ReplicationStreamError) => {
      expect(err.received).toBeGreaterThan(0);
      expect(err.received).toBeLessThan(40_000_000);
    });
  });

  it("pauses the socket while the sink is full, and resumes when it drains", async () => {
    const stream = await ReplicationStream.open({ host: "127.0.0.1", port: redis.port }, {});
    const b = blockingSink();
    const piping = stream.pipe(b.sink);
    await waitFor("the first piece", () => b.pieces() > 0);
    await new Promise((r) => setTimeout(r, 300));
    // Paused after the piece the sink refused: nothing more was read.
    expect(b.pieces()).toBe(1);
    b.release();
    // Once the sink drains, the stream resumes and the whole snapshot arrives without an error.
    await piping;
    expect(b.pieces()).toBeGreaterThan(1);
    expect(stream.bytesReceived).toBeGreaterThan(40_000_000);
  });

  it("keeps the sink's contract: no piece larger than a read, none while it is full, even when the payload waited for pipe()", async () => {
    const stream = await ReplicationStream.open({ host: "127.0.0.1", port: redis.port }, {});
    // The node sends meanwhile; what arrived is held until pipe() and then given in read-sized pieces.
    await new Promise((r) => setTimeout(r, 500));
    let full = false;
    let violations = 0;
    let biggest = 0;
    let n = 0;
    let release: () => void = () => undefined;
    const check = new RdbCheck();
    await stream.pipe({
      write(chunk) {
        if (full) violations++;
        biggest = Math.max(biggest, chunk.length);
        check.write(chunk);
        full = ++n % 7 === 0;
        return !full;
      },
      drained: () =>
        new Promise<void>((resolve) => {
          release = () => {
            full = false;
            resolve();
          };
          setTimeout(() => release(), 5);
        }),
    });
    expect(violations).toBe(0);
    expect(biggest).toBeLessThanOrEqual(READ_BUFFER_BYTES + 40);
    expect(check.finish().summary.keys).toBe(400);
  });

  it("fails a stream that stalls for longer than the stall timeout", async () => {
    const stream = await ReplicationStream.open(
      { host: "127.0.0.1", port: redis.port },
      {},
      { stallTimeoutMs: 500 },
    );
    let pieces = 0;
    const piping = stream.pipe({ write: () => (++pieces, true), drained: async () => undefined });
    await waitFor("the first piece", () => pieces > 0);
    const pid = Number(/^process_id:(\d+)/m.exec(String(await redis.client().info("server")))![1]);
    process.kill(pid, "SIGSTOP");
    try {
      await expect(piping).rejects.toThrow(/sent nothing for [01] s/);
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });
});
