// A Sentinel-replicated Redis set on loopback, started from exactly what a stack renders: the ConfigMap's
// redis.conf and sentinel.conf, the Secret's ACL files and passwords, and each pod's containers (the
// init command, the server command, the holdfast sidecar and its preStop hand-over) run as real
// processes with hosts, ports and directories moved onto this machine. Always call `cleanup()`.
import type { ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis, { RedisOptions } from "ioredis";
import type { RenderedObject } from "../tools/render";
import { NodeAddress, parseInfo } from "../jobs/redis/client";
import { PATHS, REDIS_PORT, redisSetNames, SENTINEL_PORT } from "../core/redis-set";
import { containerEnv, EnvVar, Localization, localizeConf, localizeText } from "./localize";
import { freePort, GiveUp, ProcessGroup, waitFor, Completed } from "./processes";
import { objectNamed, renderedObjects } from "./rendered";
import { testEngine } from "./engine";

import { HOLDFAST_BIN } from "./holdfast-cli";

export { HOLDFAST_BIN };

interface Container {
  name: string;
  command: string[];
  env?: EnvVar[];
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface StatefulSetObject {
  metadata: { name: string; namespace?: string };
  spec: { template: { spec: { initContainers: Container[]; containers: Container[] } } };
}

/** One pod of the set on this machine. */
export interface PodProcess {
  ordinal: number;
  podName: string;
  port: number;
  /** The pod's folder: data/, config/, auth/, run/ and the logs. */
  dir: string;
  /** The main process (redis-server or the sentinel), when running. */
  server?: ChildProcess;
  /** The holdfast sidecar of a data pod, when running. */
  agent?: ChildProcess;
}

/** Options of a set. */
export interface RedisSetOptions {
  /** Stack whose rendering to run. Default dev. */
  stack?: string;
  /** Start the holdfast sidecar in data pods. Default true. */
  agents?: boolean;
  /** The set's folder (created; the caller's to keep: cleanup leaves it). Default a new temporary one. */
  dir?: string;
  /** Config values over the stack file's and the test engine's (e.g. `holdfast:continuousBackup`). */
  config?: Record<string, unknown>;
}

/** The users of the rendered Secret, by role. */
export type Role =
  "app" | "replication" | "sentinel" | "backup" | "admin" | "probe" | "discovery" | "exporter";

/** A running set; see the module comment. */
export class RedisSet {
  readonly processes: ProcessGroup;
  readonly data: PodProcess[] = [];
  readonly sentinels: PodProcess[] = [];
  private readonly clients = new Set<Redis>();

  private constructor(
    readonly dir: string,
    private readonly objects: RenderedObject[],
    readonly masterName: string,
    private readonly secrets: Record<string, Record<string, string>>,
    private readonly dataSet: StatefulSetObject,
    private readonly sentinelSet: StatefulSetObject,
    private readonly configMap: Record<string, string>,
    private readonly authSecret: string,
    private readonly hosts: Map<string, Map<number, number>>,
    private readonly options: Required<RedisSetOptions>,
  ) {
    this.processes = new ProcessGroup(path.join(dir, "logs"));
  }

  /** Lays out the pods of `stack`'s rendering on loopback without starting them. */
  static async prepare(options: RedisSetOptions = {}): Promise<RedisSet> {
    const o = { stack: "dev", agents: true, dir: "", config: {}, ...options };
    // The stack as it would run the engine the tests run (HOLDFAST_TEST_ENGINE): its image and binaries.
    const objects = await renderedObjects(o.stack, { ...testEngine().config, ...o.config });
    const stsName = objects.find(
      (x) =>
        x.kind === "StatefulSet" &&
        (x.metadata.labels as Record<string, string>)?.["app.kubernetes.io/component"] === "data",
    )?.metadata.name;
    if (!stsName) throw new Error("the rendering has no Redis data StatefulSet");
    const names = redisSetNames(stsName);
    const dataSet = objectNamed<StatefulSetObject & { spec: { replicas: number } }>(
      objects,
      "StatefulSet",
      names.statefulSet,
    );
    const sentinelSet = objectNamed<StatefulSetObject & { spec: { replicas: number } }>(
      objects,
      "StatefulSet",
      names.sentinelStatefulSet,
    );
    const configMap = objectNamed<{ data: Record<string, string> }>(
      objects,
      "ConfigMap",
      names.configMap,
    ).data;
    const secrets: Record<string, Record<string, string>> = {};
    for (const s of objects.filter((x) => x.kind === "Secret")) {
      secrets[s.metadata.name] = (s as unknown as { stringData: Record<string, string> }).stringData;
    }
    const masterName = /^sentinel monitor (\S+) /m.exec(configMap["sentinel.conf"])![1];
    const namespace = dataSet.metadata.namespace as string;

    const dir = o.dir || fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-redis-set-"));
    fs.mkdirSync(dir, { recursive: true });
    const hosts = new Map<string, Map<number, number>>();
    const set = new RedisSet(
      dir,
      objects,
      masterName,
      secrets,
      dataSet,
      sentinelSet,
      configMap,
      names.secret,
      hosts,
      o,
    );
    const layout = async (
      count: number,
      sts: string,
      headless: string,
      clusterPort: number,
      into: PodProcess[],
    ) => {
      for (let i = 0; i < count; i++) {
        const podName = `${sts}-${i}`;
        const port = await freePort();
        hosts.set(`${podName}.${headless}.${namespace}.svc.cluster.local`, new Map([[clusterPort, port]]));
        const podDir = path.join(dir, podName);
        for (const sub of ["data", "config", "auth", "run", "tmp"])
          fs.mkdirSync(path.join(podDir, sub), { recursive: true });
        into.push({ ordinal: i, podName, port, dir: podDir });
      }
    };
    await layout(dataSet.spec.replicas, names.statefulSet, names.headlessService, REDIS_PORT, set.data);
    await layout(
      sentinelSet.spec.replicas,
      names.sentinelStatefulSet,
      names.sentinelHeadlessService,
      SENTINEL_PORT,
      set.sentinels,
    );
    for (const pod of [...set.data, ...set.sentinels]) set.writeMountedFiles(pod);
    return set;
  }

  /** Prepares and starts every pod, and waits until the set has a primary with every replica in sync. */
  static async start(options: RedisSetOptions = {}): Promise<RedisSet> {
    const set = await RedisSet.prepare(options);
    try {
      await Promise.all([
        ...set.sentinels.map((s) => set.startSentinel(s.ordinal)),
        ...set.data.map((d) => set.startData(d.ordinal)),
      ]);
      await set.waitForHealthy();
      return set;
    } catch (err) {
      await set.cleanup();
      throw err;
    }
  }

  /** The Localization of one pod. */
  localization(pod: PodProcess): Localization {
    return {
      hosts: this.hosts,
      selfPort: pod.port,
      paths: {
        [PATHS.data]: path.join(pod.dir, "data"),
        [PATHS.config]: path.join(pod.dir, "config"),
        [PATHS.auth]: path.join(pod.dir, "auth"),
        [PATHS.run]: path.join(pod.dir, "run"),
        [PATHS.tmp]: path.join(pod.dir, "tmp"),
      },
    };
  }

  /** The config files and Secret files a pod mounts, written into its folders. */
  private writeMountedFiles(pod: PodProcess): void {
    const l = this.localization(pod);
    const isData = this.data.includes(pod);
    const conf = isData ? "redis.conf" : "sentinel.conf";
    fs.writeFileSync(path.join(pod.dir, "config", conf), localizeConf(this.configMap[conf], l));
    const secret = this.secrets[this.authSecret];
    const files = isData ? ["users.acl", "replication.conf"] : ["sentinel-auth.conf"];
    for (const f of files) fs.writeFileSync(path.join(pod.dir, "auth", f), secret[f]);
  }

  private container(sts: StatefulSetObject, name: string, init = false): Container {
    const list = init ? sts.spec.template.spec.initContainers : sts.spec.template.spec.containers;
    const c = list.find((x) => x.name === name);
    if (!c) throw new Error(`no container ${name} in ${sts.metadata.name}`);
    return c;
  }

  private env(c: Container, pod: PodProcess, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: path.join(pod.dir, "tmp"),
      ...containerEnv(c.env ?? [], pod.podName, this.secrets, this.localization(pod)),
      ...extra,
    };
  }

  /** Runs a container command (`holdfast ...` becomes the CLI of this checkout) to completion. */
  private runCommand(
    c: Container,
    pod: PodProcess,
    command: string[],
    extra: Record<string, string> = {},
  ): Promise<Completed> {
    const [bin, ...args] = command;
    const env = this.env(c, pod, extra);
    if (bin === "holdfast") return this.processes.run(process.execPath, [HOLDFAST_BIN, ...args], { env });
    return this.processes.run(bin, args, { env });
  }

  private startCommand(c: Container, pod: PodProcess, logName: string, command: string[]): ChildProcess {
    const l = this.localization(pod);
    const [bin, ...args] = command.map((a) => localizeText(a, l));
    const env = this.env(c, pod);
    if (bin === "holdfast")
      return this.processes.start(logName, process.execPath, [HOLDFAST_BIN, ...args], { env });
    return this.processes.start(logName, bin, args, { env });
  }

  /**
   * Runs a data pod's init container, as the kubelet would when the pod starts.
   * @param waitTimeout bound on waiting for the sentinels (the pod itself waits for ever).
   */
  runDataInit(ordinal: number, waitTimeout = "60s"): Promise<Completed> {
    const init = this.container(this.dataSet, "init", true);
    return this.runCommand(init, this.data[ordinal], init.command, { HOLDFAST_WAIT_TIMEOUT: waitTimeout });
  }

  /** Starts data pod `ordinal`: its init container, then redis-server and the holdfast sidecar. */
  async startData(ordinal: number, waitTimeout = "60s"): Promise<void> {
    const pod = this.data[ordinal];
    const init = await this.runDataInit(ordinal, waitTimeout);
    if (init.code !== 0) throw new Error(`init of ${pod.podName} exited ${init.code}: ${init.stderr}`);
    const redis = this.container(this.dataSet, "redis");
    pod.server = this.startCommand(redis, pod, pod.podName, redis.command);
    await this.waitForAnswer(pod, pod.podName);
    if (this.options.agents) {
      const agent = this.container(this.dataSet, "holdfast");
      pod.agent = this.startCommand(agent, pod, `${pod.podName}-agent`, agent.command);
    }
  }

  /** Waits until a pod's server answers; stops at once, with its log, if the server has exited. */
  private waitForAnswer(pod: PodProcess, logName: string, role?: Role): Promise<void> {
    return waitFor(`${pod.podName} to answer`, () => {
      const s = pod.server;
      if (s && (s.exitCode !== null || s.signalCode !== null))
        throw new GiveUp(
          `it exited (${s.exitCode ?? s.signalCode}); its log ends:\n${this.processes.logTail(logName)}`,
        );
      return this.ping(pod, role);
    });
  }

  /** Starts sentinel `ordinal`: its init container, then the sentinel. Resolves to the init's output. */
  async startSentinel(ordinal: number): Promise<Completed> {
    const pod = this.sentinels[ordinal];
    const init = this.container(this.sentinelSet, "init", true);
    const r = await this.runCommand(init, pod, init.command);
    if (r.code !== 0) throw new Error(`init of ${pod.podName} exited ${r.code}: ${r.stderr}`);
    const sentinel = this.container(this.sentinelSet, "sentinel");
    pod.server = this.startCommand(sentinel, pod, pod.podName, sentinel.command);
    await this.waitForAnswer(pod, pod.podName, "discovery");
    return r;
  }

  /**
   * Stops a pod's processes with `signal` and waits until they exited, without preStop hooks (a pod
   * whose hand-over has nothing to hand over to: its sentinels are gone).
   */
  async stop(pod: PodProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await Promise.all([pod.server, pod.agent].filter(Boolean).map((p) => this.processes.stop(p!, signal)));
    pod.server = pod.agent = undefined;
  }

  /** The pods' cluster host names and their loopback ports (to localize what other pods are given). */
  get hostMap(): Map<string, Map<number, number>> {
    return this.hosts;
  }

  /** Kills a pod's processes at once (a crash, a lost node). */
  async kill(pod: PodProcess): Promise<void> {
    await Promise.all([pod.server, pod.agent].filter(Boolean).map((p) => this.processes.stop(p!, "SIGKILL")));
    pod.server = pod.agent = undefined;
  }

  /**
   * Stops a data pod the way Kubernetes does: the preStop hooks run (the sidecar's hand-over, the redis
   * container's wait for it), then SIGTERM. Resolves to the hand-over's output.
   */
  async stopDataGracefully(ordinal: number): Promise<Completed> {
    const pod = this.data[ordinal];
    const agent = this.container(this.dataSet, "holdfast");
    const redis = this.container(this.dataSet, "redis");
    const l = this.localization(pod);
    const [handover, waited] = await Promise.all([
      this.runCommand(agent, pod, agent.lifecycle!.preStop!.exec!.command),
      this.runCommand(
        redis,
        pod,
        redis.lifecycle!.preStop!.exec!.command.map((a) => localizeText(a, l)),
      ),
    ]);
    if (waited.code !== 0)
      throw new Error(`preStop of ${pod.podName}'s redis container failed: ${waited.stderr}`);
    await Promise.all([pod.server, pod.agent].filter(Boolean).map((p) => this.processes.stop(p!, "SIGTERM")));
    pod.server = pod.agent = undefined;
    fs.rmSync(path.join(pod.dir, "run", "handover.done"), { force: true });
    return handover;
  }

  /** Password of a Secret user. */
  password(role: Role): string {
    return this.secrets[this.authSecret][`${role}-password`];
  }

  /** Loopback address of a pod. */
  address(pod: PodProcess): NodeAddress {
    return { host: "127.0.0.1", port: pod.port };
  }

  /** A direct connection to one pod as `role` (closed by cleanup). */
  connect(pod: PodProcess, role: Role, extra: RedisOptions = {}): Redis {
    const client = new Redis({
      host: "127.0.0.1",
      port: pod.port,
      username: role,
      password: this.password(role),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
      retryStrategy: () => null,
      // Its closing is not waited for: ioredis keeps a 2 s timer for a socket that does not close (its
      // server killed or stopped), which would keep the test file's worker alive after its last test.
      disconnectTimeout: 0,
      ...extra,
    });
    client.on("error", () => undefined);
    this.clients.add(client);
    return client;
  }

  /** A client of the application user that finds the primary through the sentinels, as apps do. */
  appClient(extra: RedisOptions = {}): Redis {
    const client = new Redis({
      sentinels: this.sentinels.map((s) => this.address(s)),
      name: this.masterName,
      sentinelUsername: "discovery",
      sentinelPassword: this.password("discovery"),
      username: "app",
      password: this.password("app"),
      enableReadyCheck: false,
      disconnectTimeout: 0, // as connect()'s clients
      ...extra,
    });
    client.on("error", () => undefined);
    this.clients.add(client);
    return client;
  }

  private async ping(pod: PodProcess, role: Role = "probe"): Promise<boolean> {
    const c = this.connect(pod, role, { connectTimeout: 500 });
    try {
      await c.connect();
      return (await c.ping()) === "PONG";
    } finally {
      c.disconnect();
      this.clients.delete(c);
    }
  }

  /** INFO replication of a data pod, as the admin user. */
  async replication(pod: PodProcess): Promise<Record<string, string>> {
    const c = this.connect(pod, "admin");
    try {
      await c.connect();
      return parseInfo(await c.info("replication"));
    } finally {
      c.disconnect();
      this.clients.delete(c);
    }
  }

  /**
   * Waits until every running data pod has written its AOF buffer to the file, so a crash of every node
   * at once loses nothing (with appendfsync everysec Redis may hold up to two seconds of writes).
   */
  async waitForAofWritten(): Promise<void> {
    await waitFor("every AOF buffer written", async () => {
      const infos = await Promise.all(
        this.data
          .filter((d) => d.server)
          .map(async (d) => {
            const c = this.connect(d, "admin");
            try {
              await c.connect();
              return parseInfo(await c.info("persistence"));
            } finally {
              c.disconnect();
              this.clients.delete(c);
            }
          }),
      );
      return infos.every((i) => i.aof_buffer_length === "0" && i.aof_pending_bio_fsync === "0");
    });
  }

  /** The primary a majority of running sentinels name, when they agree. */
  async primaryNamedBySentinels(): Promise<PodProcess | undefined> {
    const answers = await Promise.all(
      this.sentinels
        .filter((s) => s.server)
        .map(async (s) => {
          const c = this.connect(s, "discovery", { connectTimeout: 1000 });
          try {
            await c.connect();
            const r = (await c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.masterName)) as [
              string,
              string,
            ];
            return Number(r[1]);
          } catch {
            return undefined;
          } finally {
            c.disconnect();
            this.clients.delete(c);
          }
        }),
    );
    const majority = Math.floor(this.sentinels.length / 2) + 1;
    for (const pod of this.data) if (answers.filter((p) => p === pod.port).length >= majority) return pod;
    return undefined;
  }

  /**
   * How many replicas a sentinel knows as up with their link to the primary ok: what a failover and a
   * backup's discovery need. A sentinel learns a replica from the primary's INFO but reports its link
   * `err` until it has read the replica's own INFO, and a backup passes over such a replica.
   */
  private async replicasKnownBy(sentinel: PodProcess): Promise<number> {
    const c = this.connect(sentinel, "discovery", { connectTimeout: 1000 });
    try {
      await c.connect();
      const replicas = (await c.call("SENTINEL", "REPLICAS", this.masterName)) as string[][];
      return replicas.filter((r) => {
        const field = (name: string) => r[r.indexOf(name) + 1] ?? "";
        return !/s_down|o_down|disconnected/.test(field("flags")) && field("master-link-status") === "ok";
      }).length;
    } finally {
      c.disconnect();
      this.clients.delete(c);
    }
  }

  /**
   * Waits until the sentinels agree on a running primary, every running replica is in sync with it, and
   * every sentinel knows those replicas (without which it cannot fail over).
   */
  async waitForHealthy(timeoutMs = 30000): Promise<PodProcess> {
    let primary: PodProcess | undefined;
    await waitFor(
      "a primary with every running replica in sync",
      async () => {
        primary = await this.primaryNamedBySentinels();
        if (!primary?.server) return false;
        const info = await this.replication(primary);
        if (info.role !== "master") return false;
        const running = this.data.filter((d) => d.server && d !== primary).length;
        const online = Object.entries(info).filter(
          ([k, v]) => /^slave\d+$/.test(k) && v.includes("state=online"),
        ).length;
        if (online < running) return false;
        // With min-replicas-to-write, the primary refuses writes (NOREPLICAS) until it has counted its
        // replicas good, once a second after they come online.
        const good = info.min_slaves_good_slaves;
        if (good !== undefined && Number(good) < running) return false;
        // The sentinels learn replicas from the primary's INFO every 10 s; until then they cannot fail over.
        const known = await Promise.all(
          this.sentinels.filter((s) => s.server).map((s) => this.replicasKnownBy(s)),
        );
        return known.every((n) => n >= running);
      },
      timeoutMs,
      200,
    );
    return primary!;
  }

  /**
   * Waits until the sentinels name a running primary other than `old` and it has taken the role.
   * Resolves to it; throws after `timeoutMs`.
   */
  async waitForPromotion(old: PodProcess, timeoutMs: number): Promise<PodProcess> {
    let promoted: PodProcess | undefined;
    await waitFor(
      "the sentinels to promote a replica",
      async () => {
        const p = await this.primaryNamedBySentinels();
        if (!p || p === old || !p.server) return false;
        if ((await this.replication(p)).role !== "master") return false;
        promoted = p;
        return true;
      },
      timeoutMs,
      100,
    );
    return promoted!;
  }

  /** Stops every process and removes the set's folder (kept when HOLDFAST_KEEP_TEST_DIRS is set). */
  async cleanup(): Promise<void> {
    for (const c of this.clients) c.disconnect();
    this.clients.clear();
    await this.processes.killAll();
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS && !this.options.dir)
      fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The rendered objects the set was started from. */
  get rendering(): RenderedObject[] {
    return this.objects;
  }
}
