// The object store behind the Kubernetes API stand-in: generic objects keyed by type, namespace and
// name, with the API server's bookkeeping (resourceVersion on every write, uid, creationTimestamp,
// generation, the status subresource split, finalizers), a change history that watches resume from,
// admission hooks that may mutate or refuse a write, and change listeners that controllers subscribe to.
// The HTTP layer (./server) and in-process controllers both work through this class.
import { randomUUID } from "crypto";
import {
  PatchError,
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  JsonPatchOperation,
} from "./patch";
import { ResourceType, ResourceTypes, apiVersionOf } from "./resources";

/** Any Kubernetes object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [field: string]: unknown;
}

/** A failure the API answers with a Status object. */
export class ApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly reason: string,
    message: string,
    public readonly details?: { name?: string; group?: string; kind?: string },
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The metav1.Status body of this error. */
  toStatus(): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      details: this.details ?? {},
      code: this.code,
    };
  }
}

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

/** One committed change, as watches and listeners see it. */
export interface ChangeEvent {
  type: ChangeType;
  resource: ResourceType;
  object: KubeObject;
  /** The store's resourceVersion after the change. */
  resourceVersion: number;
}

/** A write about to be committed; an admission hook may return a replacement object or throw ApiError. */
export interface AdmissionRequest {
  operation: "create" | "update" | "delete";
  resource: ResourceType;
  /** "status" for writes through the status subresource. */
  subresource?: string;
  object: KubeObject;
  oldObject?: KubeObject;
}

export type AdmissionHook = (request: AdmissionRequest) => KubeObject | void;

/** Label and field selectors of a list or watch. */
export interface Selectors {
  labelSelector?: string;
  fieldSelector?: string;
}

/** A selector's requirements: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`. */
export function matchesLabels(labels: Record<string, string> = {}, selector = ""): boolean {
  const requirements = selector.match(/([^,(]+(\([^)]*\))?)/g) ?? [];
  return requirements.every((raw) => {
    const r = raw.trim();
    if (!r) return true;
    let m: RegExpMatchArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(r))) {
      const values = m[3].split(",").map((s) => s.trim());
      const has = m[1] in labels && values.includes(labels[m[1]]);
      return m[2] === "in" ? has : !has;
    }
    if ((m = /^(\S+?)\s*!=\s*(\S*)$/.exec(r))) return labels[m[1]] !== m[2];
    if ((m = /^(\S+?)\s*==?\s*(\S*)$/.exec(r))) return labels[m[1]] === m[2];
    if ((m = /^!(\S+)$/.exec(r))) return !(m[1] in labels);
    return r in labels;
  });
}

function matchesFields(o: KubeObject, selector = ""): boolean {
  return selector
    .split(",")
    .filter(Boolean)
    .every((req) => {
      const m = /^([\w.]+)\s*(!=|==|=)\s*(.*)$/.exec(req.trim());
      if (!m) throw new ApiError(400, "BadRequest", `invalid field selector ${req}`);
      const value = m[1].split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], o);
      return m[2] === "!=" ? String(value ?? "") !== m[3] : String(value ?? "") === m[3];
    });
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** What an object is, for error messages: `leases.coordination.k8s.io "name"`. */
function describe(t: ResourceType, name: string): string {
  return `${t.plural}${t.group ? "." + t.group : ""} "${name}"`;
}

/** Everything but metadata, status and resourceVersion: what a change of `generation` is about. */
function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

/** The generic object store. */
export class ObjectStore {
  private readonly objects = new Map<string, { type: ResourceType; object: KubeObject }>();
  private rv = 0;
  private readonly history: ChangeEvent[] = [];
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private readonly hooks: AdmissionHook[] = [];

  /**
   * @param types the resource types served.
   * @param historyLimit how many changes a watch can resume from; older resourceVersions answer 410 Gone.
   */
  constructor(
    public readonly types: ResourceTypes = new ResourceTypes(),
    private readonly historyLimit = 10_000,
  ) {}

  /** The store's current resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Subscribes to every committed change (controllers); returns the unsubscribe function. */
  onChange(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds an admission hook, run in order before every create, update and delete. */
  admit(hook: AdmissionHook): () => void {
    this.hooks.push(hook);
    return () => this.hooks.splice(this.hooks.indexOf(hook), 1);
  }

  /** The type of a kind, for in-process callers: `store.type("coordination.k8s.io/v1", "Lease")`. */
  type(apiVersion: string, kind: string): ResourceType {
    const t = this.types.forKind(apiVersion, kind);
    if (!t) throw new Error(`no resource type ${apiVersion} ${kind}`);
    return t;
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const entry = this.objects.get(this.key(t, namespace, name));
    if (!entry) throw this.notFound(t, name);
    return clone(entry.object);
  }

  /** Lists a collection (every namespace when `namespace` is undefined), with the list's resourceVersion. */
  list(
    t: ResourceType,
    namespace?: string,
    selectors: Selectors = {},
  ): { items: KubeObject[]; resourceVersion: string } {
    const items = [...this.objects.values()]
      .filter((e) => this.inCollection(t, namespace, e.type, e.object))
      .map((e) => e.object)
      .filter((o) => this.selected(o, selectors))
      .sort((a, b) =>
        `${a.metadata.namespace ?? ""}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace ?? ""}/${b.metadata.name}`,
        ),
      )
      .map(clone);
    return { items, resourceVersion: this.resourceVersion };
  }

  create(t: ResourceType, namespace: string | undefined, body: KubeObject): KubeObject {
    const o = clone(body) as KubeObject;
    o.apiVersion = apiVersionOf(t);
    o.kind = t.kind;
    o.metadata = { ...(o.metadata ?? {}) } as ObjectMeta;
    if (!o.metadata.name && o.metadata.generateName)
      o.metadata.name = `${o.metadata.generateName}${randomUUID().slice(0, 5)}`;
    if (!o.metadata.name)
      throw new ApiError(422, "Invalid", `${t.kind} is invalid: metadata.name: Required value`);
    if (t.namespaced) {
      if (o.metadata.namespace && namespace && o.metadata.namespace !== namespace)
        throw new ApiError(
          400,
          "BadRequest",
          "the namespace of the object does not match the namespace of the request",
        );
      o.metadata.namespace = namespace ?? o.metadata.namespace;
      if (!o.metadata.namespace)
        throw new ApiError(400, "BadRequest", "a namespaced object needs a namespace");
    } else delete o.metadata.namespace;
    const key = this.key(t, o.metadata.namespace, o.metadata.name);
    if (this.objects.has(key))
      throw new ApiError(
        409,
        "AlreadyExists",
        `${describe(t, o.metadata.name)} already exists`,
        this.details(t, o.metadata.name),
      );
    // A type with a status subresource takes no status on create: controllers and kubelets write it.
    if (t.statusSubresource) delete o.status;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = nowRfc3339();
    o.metadata.generation = 1;
    delete o.metadata.deletionTimestamp;
    return this.commit(t, key, "create", o, undefined, undefined);
  }

  /** PUT: replaces the object (or only its status, through the status subresource). */
  replace(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    subresource?: string,
  ): KubeObject {
    const key = this.key(t, namespace, name);
    const old = this.objects.get(key)?.object;
    if (!old) throw this.notFound(t, name);
    const precondition = body.metadata?.resourceVersion;
    if (precondition && precondition !== old.metadata.resourceVersion) throw this.conflict(t, name);
    if (body.metadata?.name && body.metadata.name !== name)
      throw new ApiError(400, "BadRequest", "the name of the object does not match the name of the request");
    return this.write(t, key, old, clone(body), subresource);
  }

  /** PATCH with the given content type: merge, JSON or strategic merge patch. */
  patch(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    patch: unknown,
    subresource?: string,
  ): KubeObject {
    const key = this.key(t, namespace, name);
    const old = this.objects.get(key)?.object;
    if (!old) throw this.notFound(t, name);
    let patched: KubeObject;
    try {
      if (contentType === "application/merge-patch+json") patched = applyMergePatch(old, patch) as KubeObject;
      else if (contentType === "application/strategic-merge-patch+json")
        patched = applyStrategicMergePatch(old, patch) as KubeObject;
      else if (contentType === "application/json-patch+json")
        patched = applyJsonPatch(old, patch as JsonPatchOperation[]) as KubeObject;
      else
        throw new ApiError(
          415,
          "UnsupportedMediaType",
          `the body of the request was in an unknown format: ${contentType}`,
        );
    } catch (err) {
      if (err instanceof PatchError)
        throw err.conflict
          ? this.conflict(t, name)
          : new ApiError(422, "Invalid", `invalid patch: ${err.message}`);
      throw err;
    }
    const precondition = (patch as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion;
    if (precondition && precondition !== old.metadata.resourceVersion) throw this.conflict(t, name);
    return this.write(t, key, old, patched, subresource);
  }

  /** DELETE: removes the object, or marks it for deletion while finalizers remain. */
  delete(t: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const key = this.key(t, namespace, name);
    const old = this.objects.get(key)?.object;
    if (!old) throw this.notFound(t, name);
    if (old.metadata.finalizers?.length) {
      if (old.metadata.deletionTimestamp) return clone(old);
      const marked = clone(old);
      marked.metadata.deletionTimestamp = nowRfc3339();
      return this.commit(t, key, "update", marked, old, undefined);
    }
    for (const hook of this.hooks)
      hook({ operation: "delete", resource: t, object: clone(old), oldObject: clone(old) });
    this.objects.delete(key);
    const gone = clone(old);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ type: "DELETED", resource: t, object: gone, resourceVersion: this.rv });
    return clone(gone);
  }

  /**
   * Watches a collection: replays the changes after `fromResourceVersion` (or, without one, an ADDED
   * for every current object), then delivers live changes. Throws a 410 Gone ApiError when the history
   * no longer reaches back that far. Returns the unsubscribe function.
   */
  watch(
    t: ResourceType,
    namespace: string | undefined,
    fromResourceVersion: string | undefined,
    selectors: Selectors,
    deliver: (type: ChangeType, object: KubeObject) => void,
  ): () => void {
    const wanted = (e: ChangeEvent) =>
      this.inCollection(t, namespace, e.resource, e.object) && this.selected(e.object, selectors);
    if (fromResourceVersion && fromResourceVersion !== "0") {
      const from = Number(fromResourceVersion);
      const oldest = this.history[0]?.resourceVersion ?? this.rv + 1;
      if (from < oldest - 1 && from < this.rv)
        throw new ApiError(410, "Expired", `too old resource version: ${from} (${oldest - 1})`);
      for (const e of this.history)
        if (e.resourceVersion > from && wanted(e)) deliver(e.type, clone(e.object));
    } else {
      for (const o of this.list(t, namespace, selectors).items) deliver("ADDED", o);
    }
    const listener = (e: ChangeEvent) => {
      if (wanted(e)) deliver(e.type, clone(e.object));
    };
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private write(
    t: ResourceType,
    key: string,
    old: KubeObject,
    next: KubeObject,
    subresource?: string,
  ): KubeObject {
    let o: KubeObject;
    if (subresource === "status") {
      if (!t.statusSubresource) throw this.notFound(t, old.metadata.name);
      o = { ...clone(old), status: next.status };
    } else if (subresource) {
      throw new ApiError(
        404,
        "NotFound",
        `the server could not find the requested resource (${subresource})`,
      );
    } else {
      o = next;
      if (t.statusSubresource) {
        if (old.status === undefined) delete o.status;
        else o.status = clone(old.status);
      }
    }
    o.apiVersion = old.apiVersion;
    o.kind = old.kind;
    const meta = { ...(o.metadata ?? {}) } as ObjectMeta;
    for (const field of [
      "name",
      "namespace",
      "uid",
      "creationTimestamp",
      "deletionTimestamp",
      "generation",
    ] as const) {
      if (old.metadata[field] === undefined) delete meta[field];
      else meta[field] = old.metadata[field] as never;
    }
    o.metadata = meta;
    if (specOf(o) !== specOf(old)) o.metadata.generation = (old.metadata.generation ?? 1) + 1;
    // A write that changes nothing keeps the resourceVersion, as the real API server does.
    const { resourceVersion: _a, ...newMeta } = o.metadata;
    const { resourceVersion: _b, ...oldMeta } = old.metadata;
    if (JSON.stringify({ ...o, metadata: newMeta }) === JSON.stringify({ ...old, metadata: oldMeta }))
      return clone(old);
    const committed = this.commit(t, key, "update", o, old, subresource);
    if (committed.metadata.deletionTimestamp && !committed.metadata.finalizers?.length) {
      return this.delete(t, committed.metadata.namespace, committed.metadata.name);
    }
    return committed;
  }

  private commit(
    t: ResourceType,
    key: string,
    operation: "create" | "update",
    object: KubeObject,
    old: KubeObject | undefined,
    subresource: string | undefined,
  ): KubeObject {
    let o = object;
    for (const hook of this.hooks) {
      const replaced = hook({
        operation,
        resource: t,
        subresource,
        object: clone(o),
        oldObject: old && clone(old),
      });
      if (replaced) o = clone(replaced);
    }
    o.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, { type: t, object: clone(o) });
    this.emit({
      type: operation === "create" ? "ADDED" : "MODIFIED",
      resource: t,
      object: clone(o),
      resourceVersion: this.rv,
    });
    return clone(o);
  }

  private emit(e: ChangeEvent): void {
    this.history.push(e);
    if (this.history.length > this.historyLimit) this.history.shift();
    for (const l of [...this.listeners]) l(e);
  }

  private key(t: ResourceType, namespace: string | undefined, name: string): string {
    return `${t.group}/${t.plural}/${t.namespaced ? (namespace ?? "") : ""}/${name}`;
  }

  /** Whether an object of type `ot` belongs to the collection of `t` (in `namespace`, or all). */
  private inCollection(
    t: ResourceType,
    namespace: string | undefined,
    ot: ResourceType,
    o: KubeObject,
  ): boolean {
    if (ot.group !== t.group || ot.plural !== t.plural) return false;
    return !t.namespaced || namespace === undefined || o.metadata.namespace === namespace;
  }

  private selected(o: KubeObject, s: Selectors): boolean {
    return matchesLabels(o.metadata.labels, s.labelSelector) && matchesFields(o, s.fieldSelector);
  }

  private details(t: ResourceType, name: string) {
    return { name, group: t.group, kind: t.plural };
  }

  private notFound(t: ResourceType, name: string): ApiError {
    return new ApiError(404, "NotFound", `${describe(t, name)} not found`, this.details(t, name));
  }

  private conflict(t: ResourceType, name: string): ApiError {
    return new ApiError(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${describe(t, name)}: the object has been modified; please apply your changes to the latest version and try again`,
      this.details(t, name),
    );
  }
}
