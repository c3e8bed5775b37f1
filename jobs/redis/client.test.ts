// What a primary's INFO replication says of its replicas, read the way the hand-over and the stack
// restore's verification read it.
import { parseInfo, promotableReplicas, replicasOf } from "./client";

// A primary with one replica in sync, Holdfast's stream (a replica announcing port 0), and one replica
// still receiving its first RDB: the lines as Redis 7.0 writes them.
const INFO = [
  "# Replication",
  "role:master",
  "connected_slaves:3",
  "slave0:ip=10.0.0.11,port=6379,state=online,offset=5120,lag=0",
  "slave1:ip=10.0.0.20,port=0,state=online,offset=5120,lag=0",
  "slave2:ip=10.0.0.12,port=6379,state=wait_bgsave,offset=0,lag=0",
  "master_repl_offset:5120",
].join("\r\n");

it("reads every replica line of a primary's INFO", () => {
  expect(replicasOf(parseInfo(INFO)).map((r) => [r.address.host, r.address.port, r.state])).toEqual([
    ["10.0.0.11", 6379, "online"],
    ["10.0.0.20", 0, "online"],
    ["10.0.0.12", 6379, "wait_bgsave"],
  ]);
});

it("counts as promotable only online replicas that listen on a port, never the stream", () => {
  expect(promotableReplicas(parseInfo(INFO)).map((r) => r.address.host)).toEqual(["10.0.0.11"]);
  const onlyStream = INFO.replace(
    "slave0:ip=10.0.0.11,port=6379,state=online",
    "slave0:ip=10.0.0.11,port=6379,state=send_bulk",
  );
  expect(promotableReplicas(parseInfo(onlyStream))).toEqual([]);
});
