// The lease the LanceDB writer is elected through, as the election logic sees it: a record with a holder,
// an opaque version for optimistic concurrency, and the store that reads and conditionally writes it.
// Kubernetes (coordination.k8s.io Lease) and the tests' in-memory store both implement LeaseStore.

/** What a lease says. Times are the writer's own clock: informational, never compared across clocks. */
export interface LeaseRecord {
  /** Identity of the holder; empty when the lease was released. */
  holderIdentity: string;
  /** How long the holder promises to stay leader without renewing, in seconds. */
  leaseDurationSeconds: number;
  /** When the current holder acquired the lease (holder's clock, ms since the epoch). */
  acquireTime: number;
  /** When the holder last renewed (holder's clock, ms since the epoch). */
  renewTime: number;
  /** How many times the lease changed hands. */
  leaseTransitions: number;
}

/** A record as read from or written to the store, with the version that write produced. */
export interface LeaseSnapshot {
  record: LeaseRecord;
  /** Opaque; changes on every write (Kubernetes resourceVersion). */
  version: string;
}

/** Where the lease lives. Every call may fail or hang; the elector copes with both. */
export interface LeaseStore {
  /** The current lease, or undefined when none exists. */
  get(): Promise<LeaseSnapshot | undefined>;
  /** Creates the lease; throws LeaseConflictError when it already exists. */
  create(record: LeaseRecord): Promise<LeaseSnapshot>;
  /** Replaces the lease if it is still at `version`; throws LeaseConflictError otherwise. */
  update(record: LeaseRecord, version: string): Promise<LeaseSnapshot>;
  /** Where the lease is, for logs (`namespace/name`). */
  readonly description: string;
}

/** Someone else wrote the lease first: the caller lost the race. */
export class LeaseConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeaseConflictError";
  }
}
