// A rendered stack "deployed" on this machine: the Kubernetes API stand-in holding every object the stack
// renders (namespace, ConfigMap, Secret, services, service accounts, StatefulSets, CronJobs, storage
// classes) and answering SelfSubjectAccessReviews (allowed unless a test denies them), a provisioner
// binding each claim to a volume made by its class (kube-api/provisioner.ts), the kubelet
// running its Redis pods as the harness's local redis-server and sentinel processes on their claims'
// folders (claim `data-redis-N` is `<set dir>/redis-N/data`, `state-redis-sentinel-N` is
// `<set dir>/redis-sentinel-N/data`) and its Jobs as local processes, s3rver as the backup bucket (named
// and set as the stack makes it: versioned, with its Object Lock), and the stack's outputs in a file as `pulumi stack output --json` prints
// them. An operator's command runs against it with `env` (KUBECONFIG, the S3 endpoint). Always cleanup().
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import {
  type AccessReviews,
  defineClusterTypes,
  KubeApiServer,
  type KubeObject,
  provisionVolumes,
  serveAccessReviews,
  writeKubeconfig,
} from "./kube-api";
import { Kubelet, type KubeletOptions, type PodRuntime } from "./kubelet";
import { HOLDFAST_BIN, RedisSet } from "./redis-set";
import { waitFor } from "./processes";
import { renderedObjects, renderedOutputs } from "./rendered";
import { testEngine } from "./engine";
import { S3Server } from "./s3";

/** Options of a stack cluster. */
export interface StackClusterOptions {
  stack?: string;
  /**
   * Config values over the stack file's and the test engine's, as `pulumi config set` would give them
   * (e.g. `{ "holdfast:continuousBackup": true }` renders and runs the stream's Deployment).
   */
  config?: Record<string, unknown>;
  /**
   * Run the Redis pods as processes (default true). Without, every StatefulSet's pods are ready at once
   * and run nothing: enough for what only reads or drives the API, and for LanceDB.
   */
  redis?: boolean;
  /** Extra environment for one Job's process (fault injection). */
  jobEnvFor?: KubeletOptions["jobEnvFor"];
  /** Run every Job as a container of this image (docker) instead of as a process. */
  jobImage?: string;
  /**
   * Runtimes of other StatefulSets (the LanceDB application's), by StatefulSet name; given the local
   * folder of a claim, to call when a pod starts.
   */
  runtimes?: (claimDir: (claim: string) => string) => Record<string, PodRuntime>;
  /**
   * The cluster's folder, holding `redis/` (the pods' folders), `s3/` (the bucket) and `kubelet/`; the
   * caller's to keep: cleanup leaves it. Default a new temporary one, removed by cleanup.
   */
  dir?: string;
}

interface Outputs {
  namespace: string;
  backup: { bucket: string; prefix: string; objectLockMode?: string; objectLockDays?: number };
  redis: { statefulSet: string; sentinelStatefulSet: string };
}

/** See the module comment. */
export class StackCluster {
  /** The answers to SelfSubjectAccessReviews: everything allowed unless a test denies it. */
  readonly access: AccessReviews;

  private constructor(
    readonly dir: string,
    readonly server: KubeApiServer,
    readonly kubelet: Kubelet,
    /** The Redis pods' processes (absent with `redis: false`). */
    readonly redisSet: RedisSet | undefined,
    readonly s3: S3Server,
    readonly outputs: Record<string, unknown> & Outputs,
    /** The outputs file (`--outputs`). */
    readonly outputsFile: string,
    /** A kubeconfig for the operator (user `operator`). */
    readonly kubeconfig: string,
    /** The folder is the cluster's to remove. */
    private readonly owned: boolean,
    /** Stops the volume provisioner. */
    private readonly stopProvisioner: () => void,
  ) {
    this.access = serveAccessReviews(server);
  }

  /** Deploys the rendered stack and waits until its Redis set is healthy. */
  static async start(o: StackClusterOptions = {}): Promise<StackCluster> {
    const stack = o.stack ?? "dev";
    const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "holdfast-stack-"));
    const under = (name: string) => (o.dir ? path.join(o.dir, name) : undefined);
    const config = { ...testEngine().config, ...o.config };
    const [set, s3, outputs, rendering] = await Promise.all([
      o.redis === false ? undefined : RedisSet.prepare({ stack, dir: under("redis"), config: o.config }),
      S3Server.start(under("s3")),
      renderedOutputs(stack, config) as Promise<Record<string, unknown> & Outputs>,
      renderedObjects(stack, config),
    ]);
    const server = new KubeApiServer();
    defineClusterTypes(server.store.types);
    await server.start();
    const stopProvisioner = provisionVolumes(server.store);
    let kubelet: Kubelet | undefined;
    try {
      await s3.createBucket(outputs.backup.bucket);
      await s3.bucketSettings(outputs.backup.bucket, bucketAsRendered(outputs));
      const ns = outputs.namespace;
      server.store.create(server.store.type("v1", "Namespace"), undefined, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns },
      });
      for (const object of rendering) {
        const type = server.store.types.forKind(object.apiVersion, object.kind);
        if (!type || object.kind === "Namespace") continue;
        server.store.create(
          type,
          type.namespaced ? ns : undefined,
          structuredClone(object) as unknown as KubeObject,
        );
      }
      const { statefulSet, sentinelStatefulSet } = outputs.redis;
      const claimDir = (claim: string): string | undefined => {
        const m = new RegExp(`^(?:data|state)-((?:${statefulSet}|${sentinelStatefulSet})-\\d+)$`).exec(claim);
        const pod = m && set && [...set.data, ...set.sentinels].find((p) => p.podName === m[1]);
        return pod ? path.join(pod.dir, "data") : undefined;
      };
      kubelet = new Kubelet({
        server,
        dir: path.join(dir, "kubelet"),
        claimDir,
        hosts: set?.hostMap,
        jobEnv: s3.env,
        jobEnvFor: o.jobEnvFor,
        holdfastBin: HOLDFAST_BIN,
        jobImage: o.jobImage,
        runtimes: {
          ...o.runtimes?.((claim) => kubelet!.claimDir(claim)),
          ...(set ? { [statefulSet]: dataRuntime(set), [sentinelStatefulSet]: sentinelRuntime(set) } : {}),
        },
      });
      kubelet.start();
      if (set) {
        // The kubelet starts the pods on its own: wait until every one runs, or a set whose replicas
        // are still in their init containers would pass for healthy with its primary alone.
        await waitFor(
          "every Redis pod to run",
          () => [...set.data, ...set.sentinels].every((p) => p.server),
          60_000,
        );
        await set.waitForHealthy(60_000);
      }
      const outputsFile = path.join(dir, `outputs-${stack}.json`);
      fs.writeFileSync(outputsFile, JSON.stringify(outputs, null, 2));
      const kubeconfig = writeKubeconfig(server, path.join(dir, "kubeconfig"), { user: "operator" });
      return new StackCluster(
        dir,
        server,
        kubelet,
        set,
        s3,
        outputs,
        outputsFile,
        kubeconfig,
        !o.dir,
        stopProvisioner,
      );
    } catch (err) {
      stopProvisioner();
      await kubelet?.stop();
      await Promise.all([server.close(), set?.cleanup(), s3.cleanup()]);
      if (!o.dir) fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The Redis pods' processes; throws for a cluster started without them. */
  get set(): RedisSet {
    if (!this.redisSet) throw new Error("this stack cluster runs no Redis processes");
    return this.redisSet;
  }

  /** The environment of an operator's holdfast command against this stack. */
  get env(): Record<string, string> {
    return { ...this.s3.env, KUBECONFIG: this.kubeconfig };
  }

  get namespace(): string {
    return this.outputs.namespace;
  }

  /** The local folder of a claim. */
  claimDir(claim: string): string {
    return this.kubelet.claimDir(claim);
  }

  /** The objects of a kind in the stack's namespace. */
  objects(apiVersion: string, kind: string): KubeObject[] {
    return this.server.store.list(this.server.store.type(apiVersion, kind), this.namespace).items;
  }

  async cleanup(): Promise<void> {
    this.stopProvisioner();
    await this.kubelet.stop();
    await Promise.all([this.server.close(), this.redisSet?.cleanup(), this.s3.cleanup()]);
    if (!process.env.HOLDFAST_KEEP_TEST_DIRS && this.owned)
      fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The bucket's settings as the stack makes it: versioned (its BackupBucket always turns versioning on),
 * with the Object Lock its outputs say. s3rver keeps no versions; the harness answers GetBucketVersioning
 * and GetObjectLockConfiguration with these, so what reads them reads what the stack's bucket answers.
 */
function bucketAsRendered(outputs: Outputs): Parameters<S3Server["bucketSettings"]>[1] {
  const { objectLockMode, objectLockDays } = outputs.backup;
  return {
    versioning: "Enabled",
    objectLock: objectLockMode ? { mode: objectLockMode, days: Number(objectLockDays) } : undefined,
  };
}

/** Data pods: the init container, redis-server and the sidecar; ready as the readiness probe says. */
export function dataRuntime(set: RedisSet): PodRuntime {
  return {
    async start(i) {
      try {
        await set.startData(i, "20s");
      } catch (err) {
        await set.kill(set.data[i]);
        throw err;
      }
    },
    stop: (i) => set.stop(set.data[i]),
    async ready(i) {
      if (!set.data[i].server) return false;
      const info = await set.replication(set.data[i]);
      return info.role === "master" || info.master_link_status === "up";
    },
  };
}

/** Sentinels: the init container, then the sentinel; ready when it answers PING. */
export function sentinelRuntime(set: RedisSet): PodRuntime {
  return {
    async start(i) {
      try {
        await set.startSentinel(i);
      } catch (err) {
        await set.kill(set.sentinels[i]);
        throw err;
      }
    },
    stop: (i) => set.stop(set.sentinels[i]),
    async ready(i) {
      const pod = set.sentinels[i];
      if (!pod.server) return false;
      const c = new Redis({
        host: "127.0.0.1",
        port: pod.port,
        username: "discovery",
        password: set.password("discovery"),
        lazyConnect: true,
        connectTimeout: 500,
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
        retryStrategy: () => null,
      });
      c.on("error", () => undefined);
      try {
        await c.connect();
        return (await c.ping()) === "PONG";
      } finally {
        c.disconnect();
      }
    },
  };
}
