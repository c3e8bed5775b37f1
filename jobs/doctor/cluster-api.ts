// The Kubernetes API clients the checks read through, each call bounded, a 404 read as "absent".
import type * as KubeClient from "@kubernetes/client-node";
import { describeKubeError, httpStatus, loadKubeClient, withTimeout } from "../kube/client";

/** A call that failed for another reason than absence: the check fails naming it. */
export class ClusterCallFailed extends Error {
  constructor(what: string, err: unknown) {
    super(`${what}: ${describeKubeError(err)}`);
    this.name = "ClusterCallFailed";
  }
}

/** See the module comment. */
export class ClusterApi {
  readonly core: KubeClient.CoreV1Api;
  readonly apps: KubeClient.AppsV1Api;
  readonly batch: KubeClient.BatchV1Api;
  readonly storage: KubeClient.StorageV1Api;
  readonly crds: KubeClient.ApiextensionsV1Api;
  readonly authorization: KubeClient.AuthorizationV1Api;
  readonly version: KubeClient.VersionApi;

  constructor(
    kc: KubeClient.KubeConfig,
    private readonly timeoutMs: number,
  ) {
    const k8s = loadKubeClient();
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
    this.batch = kc.makeApiClient(k8s.BatchV1Api);
    this.storage = kc.makeApiClient(k8s.StorageV1Api);
    this.crds = kc.makeApiClient(k8s.ApiextensionsV1Api);
    this.authorization = kc.makeApiClient(k8s.AuthorizationV1Api);
    this.version = kc.makeApiClient(k8s.VersionApi);
  }

  /** Options bounding one call. */
  get opts(): KubeClient.ConfigurationOptions {
    return withTimeout(this.timeoutMs);
  }

  /** Runs a call; any failure is a ClusterCallFailed naming `what`. */
  async call<T>(what: string, fn: (opts: KubeClient.ConfigurationOptions) => Promise<T>): Promise<T> {
    try {
      return await fn(this.opts);
    } catch (err) {
      throw new ClusterCallFailed(what, err);
    }
  }

  /** Reads an object; undefined when the API answers 404. */
  async read<T>(
    what: string,
    fn: (opts: KubeClient.ConfigurationOptions) => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await fn(this.opts);
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw new ClusterCallFailed(what, err);
    }
  }
}
