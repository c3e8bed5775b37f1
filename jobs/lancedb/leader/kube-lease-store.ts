// The LeaseStore on a Kubernetes Lease (coordination.k8s.io/v1): reads it, creates it, and replaces it
// only at the resourceVersion last read, so a 409 Conflict tells the elector it lost the race.
import type * as KubeClient from "@kubernetes/client-node";
import { LeaseConflictError, LeaseRecord, LeaseSnapshot, LeaseStore } from "./lease";
import { describeKubeError, httpStatus, loadKubeClient, withTimeout } from "../../kube/client";

/** Milliseconds of a MicroTime as client-node returns it (a string or a Date); 0 when absent. */
function millis(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  return Number.isFinite(ms) ? ms : 0;
}

/** A Lease's spec as a LeaseRecord. */
export function recordOf(lease: KubeClient.V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: millis(spec.acquireTime),
    renewTime: millis(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

/** Options of a KubeLeaseStore. */
export interface KubeLeaseStoreOptions {
  /** Labels the lease is created with. */
  labels?: Record<string, string>;
  /** Each call is aborted after this long. Default 10 s. */
  requestTimeoutMs?: number;
}

/** A Lease's election state, in client-node's types. */
export class KubeLeaseStore implements LeaseStore {
  readonly description: string;
  /** The lease as last read, so a replace keeps its labels, annotations and other fields. */
  private last?: KubeClient.V1Lease;
  private readonly k8s = loadKubeClient();
  private readonly labels: Record<string, string>;
  private readonly requestTimeoutMs: number;

  /**
   * @param api a CoordinationV1Api of the cluster.
   * @param namespace the lease's namespace.
   * @param name the lease's name.
   * @param options labels and the per-call timeout.
   */
  constructor(
    private readonly api: KubeClient.CoordinationV1Api,
    public readonly namespace: string,
    public readonly name: string,
    options: KubeLeaseStoreOptions = {},
  ) {
    this.description = `lease ${namespace}/${name}`;
    this.labels = options.labels ?? {};
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  async get(): Promise<LeaseSnapshot | undefined> {
    try {
      const lease = await this.api.readNamespacedLease(
        { name: this.name, namespace: this.namespace },
        withTimeout(this.requestTimeoutMs),
      );
      this.last = lease;
      return this.snapshot(lease);
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw this.failure("read", err);
    }
  }

  async create(record: LeaseRecord): Promise<LeaseSnapshot> {
    try {
      const lease = await this.api.createNamespacedLease(
        {
          namespace: this.namespace,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.name, namespace: this.namespace, labels: this.labels },
            spec: this.spec(record),
          },
        },
        withTimeout(this.requestTimeoutMs),
      );
      this.last = lease;
      return this.snapshot(lease);
    } catch (err) {
      if (httpStatus(err) === 409)
        throw new LeaseConflictError(`${this.description} was created by someone else`);
      throw this.failure("create", err);
    }
  }

  async update(record: LeaseRecord, version: string): Promise<LeaseSnapshot> {
    const base: KubeClient.V1Lease =
      this.last?.metadata?.resourceVersion === version
        ? this.last
        : { metadata: { name: this.name, namespace: this.namespace } };
    try {
      const lease = await this.api.replaceNamespacedLease(
        {
          name: this.name,
          namespace: this.namespace,
          body: {
            ...base,
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: {
              ...base.metadata,
              name: this.name,
              namespace: this.namespace,
              resourceVersion: version,
            },
            spec: { ...base.spec, ...this.spec(record) },
          },
        },
        withTimeout(this.requestTimeoutMs),
      );
      this.last = lease;
      return this.snapshot(lease);
    } catch (err) {
      // 409: someone wrote it since we read it; 404: someone deleted it. Either way we lost.
      const status = httpStatus(err);
      if (status === 409 || status === 404)
        throw new LeaseConflictError(`${this.description} changed since version ${version}`);
      throw this.failure("update", err);
    }
  }

  private spec(record: LeaseRecord): KubeClient.V1LeaseSpec {
    // MicroTime: client-node's V1MicroTime serialises with the microseconds the API server requires.
    return {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: new this.k8s.V1MicroTime(record.acquireTime),
      renewTime: new this.k8s.V1MicroTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    };
  }

  private snapshot(lease: KubeClient.V1Lease): LeaseSnapshot {
    const version = lease.metadata?.resourceVersion;
    if (!version) throw new Error(`${this.description} came back without a resourceVersion`);
    return { record: recordOf(lease), version };
  }

  private failure(verb: string, err: unknown): Error {
    return new Error(`${verb} ${this.description}: ${describeKubeError(err)}`);
  }
}
