import { RedisSet } from "../../harness/redis-set";
import { S3Server } from "../../harness/s3";
import { BUCKET, cronEnv, holdfast, startHoldfast } from "../backup/cli";

jest.setTimeout(120_000);

it("smoke", async () => {
  const [set, s3] = await Promise.all([RedisSet.start({ agents: false }), S3Server.start()]);
  try {
    await s3.createBucket(BUCKET);
    const env = cronEnv(set, s3.env, "dev", { REDIS_USERNAME: "replication", REDIS_PASSWORD: set.password("replication") });
    const run = startHoldfast(["stream", "redis"], env);
    const app = set.appClient();
    for (let i = 0; i < 100; i++) await app.set(`k${i}`, `v${i}`);
    await new Promise((r) => setTimeout(r, 3000));
    const t = await holdfast(["timeline", "--json"], env);
    console.log(t.stdout, t.stderr);
    run.child.kill("SIGTERM");
    const r = await run.done;
    console.log(r.code, r.stderr.slice(-3000));
  } finally {
    await Promise.all([set.cleanup(), s3.cleanup()]);
  }
});
