// The three PATCH flavours of the Kubernetes API on plain JSON: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902) and strategic merge patch. Strategic merge is merge patch plus merging of known lists by
// key (conditions by type, containers by name, ...) and the `$patch: delete` directive on list items;
// lists not in MERGE_KEYS are replaced, as merge patch does.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** An invalid patch: the server answers 422 (or 409 for a failed `test` operation). */
export class PatchError extends Error {
  constructor(
    message: string,
    public readonly conflict = false,
  ) {
    super(message);
    this.name = "PatchError";
  }
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** RFC 7386: objects merge, null deletes, everything else (arrays included) replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value) as Json;
  }
  return result;
}

/** List fields a strategic merge patch merges by key, as the Kubernetes types declare them. */
export const MERGE_KEYS: Record<string, string> = {
  conditions: "type",
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  env: "name",
  ports: "containerPort",
  readinessGates: "conditionType",
  ownerReferences: "uid",
  imagePullSecrets: "name",
  tolerations: "key",
};

/** Strategic merge patch for the fields in MERGE_KEYS; other fields behave as JSON merge patch. */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue;
    const mergeKey = MERGE_KEYS[key];
    if (value === null) delete result[key];
    else if (mergeKey && Array.isArray(value) && (Array.isArray(result[key]) || result[key] === undefined))
      result[key] = mergeList((result[key] as Json[] | undefined) ?? [], value, mergeKey);
    else result[key] = applyStrategicMergePatch(result[key], value) as Json;
  }
  return result;
}

function mergeList(current: Json[], patch: Json[], mergeKey: string): Json[] {
  const out = clone(current);
  for (const item of patch) {
    if (!isObject(item) || item[mergeKey] === undefined) {
      out.push(clone(item));
      continue;
    }
    const at = out.findIndex((o) => isObject(o) && o[mergeKey] === item[mergeKey]);
    if (item.$patch === "delete") {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) out[at] = applyStrategicMergePatch(out[at], item) as Json;
    else out.push(applyStrategicMergePatch({}, item) as Json);
  }
  return out;
}

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  from?: string;
  value?: unknown;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new PatchError(`invalid JSON pointer ${path}`);
  return path
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(
  doc: unknown,
  tokens: string[],
  path: string,
): { parent: Json[] | JsonObject; key: string } {
  let node: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(t)] : isObject(node) ? node[t] : undefined;
    if (node === undefined) throw new PatchError(`path ${path} does not exist`);
  }
  if (!Array.isArray(node) && !isObject(node)) throw new PatchError(`path ${path} does not exist`);
  return { parent: node, key: tokens[tokens.length - 1] };
}

function read(doc: unknown, path: string): unknown {
  let node: unknown = doc;
  for (const t of pointer(path)) {
    node = Array.isArray(node) ? node[Number(t)] : isObject(node) ? node[t] : undefined;
    if (node === undefined) throw new PatchError(`path ${path} does not exist`);
  }
  return node;
}

/** RFC 6902 JSON patch. A failed `test` is a conflict (409), anything else malformed is a PatchError. */
export function applyJsonPatch(target: unknown, ops: JsonPatchOperation[]): unknown {
  if (!Array.isArray(ops)) throw new PatchError("a JSON patch must be an array of operations");
  let doc: unknown = clone(target);
  const add = (path: string, value: unknown) => {
    const tokens = pointer(path);
    if (tokens.length === 0) {
      doc = clone(value);
      return;
    }
    const { parent, key } = parentOf(doc, tokens, path);
    if (Array.isArray(parent)) {
      const i = key === "-" ? parent.length : Number(key);
      if (!Number.isInteger(i) || i < 0 || i > parent.length)
        throw new PatchError(`index out of range in ${path}`);
      parent.splice(i, 0, clone(value) as Json);
    } else parent[key] = clone(value) as Json;
  };
  const remove = (path: string) => {
    const tokens = pointer(path);
    const { parent, key } = parentOf(doc, tokens, path);
    if (Array.isArray(parent)) {
      const i = Number(key);
      if (!(i >= 0 && i < parent.length)) throw new PatchError(`path ${path} does not exist`);
      parent.splice(i, 1);
    } else {
      if (!(key in parent)) throw new PatchError(`path ${path} does not exist`);
      delete parent[key];
    }
  };
  for (const op of ops) {
    switch (op.op) {
      case "add":
        add(op.path, op.value);
        break;
      case "remove":
        remove(op.path);
        break;
      case "replace":
        read(doc, op.path);
        remove(op.path);
        add(op.path, op.value);
        break;
      case "move": {
        const value = read(doc, op.from ?? "");
        remove(op.from ?? "");
        add(op.path, value);
        break;
      }
      case "copy":
        add(op.path, read(doc, op.from ?? ""));
        break;
      case "test":
        if (JSON.stringify(read(doc, op.path)) !== JSON.stringify(op.value))
          throw new PatchError(`test failed at ${op.path}`, true);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation ${(op as { op: string }).op}`);
    }
  }
  return doc;
}
