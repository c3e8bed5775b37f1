// An in-process stand-in for the Kubernetes API server (node:http, loopback): the real JSON REST
// conventions over the generic ObjectStore, so @kubernetes/client-node and anything else that speaks
// the API can be tested for real without a cluster.
//   /api/v1[/namespaces/{ns}]/{plural}[/{name}[/status]]
//   /apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/status]]
// GET (get, list, ?watch=true streaming JSON lines), POST (create), PUT (replace, 409 on a stale
// resourceVersion), PATCH (merge, JSON and strategic merge patch), DELETE; errors are metav1.Status.
// Behaviour is added with middleware (`use`): fault injection per user is one (`faults`); a later
// harness adds controllers through `store.onChange` and admission through `store.admit`.
import * as http from "http";
import type { AddressInfo } from "net";
import { ApiError, KubeObject, ObjectStore } from "./store";
import { ResourceType, ResourceTypes, apiVersionOf } from "./resources";

/** A parsed API request, as middleware sees it. */
export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body, when there is one. */
  body: unknown;
  /** The bearer token of the request: each test client is its own user. "anonymous" without one. */
  user: string;
  verb: "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "unknown";
  group: string;
  version: string;
  plural?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The resource type the path names, when known. */
  type?: ResourceType;
}

/** What the server answers; `drop` closes the connection without an answer, `hang` never answers. */
export interface ApiResponse {
  status: number;
  body?: unknown;
  drop?: boolean;
  hang?: boolean;
  /** For watches: the server streams instead of answering once (set by the router). */
  stream?: (res: http.ServerResponse) => void;
}

/** Middleware: may answer itself, delay, or pass on with `next()`. */
export type Middleware = (req: ApiRequest, next: () => Promise<ApiResponse>) => Promise<ApiResponse>;

/** One request as the server saw it, for assertions. */
export interface RequestRecord {
  time: number;
  user: string;
  verb: ApiRequest["verb"];
  method: string;
  path: string;
  status: number;
}

/** A fault applied to a user's requests. */
export interface Fault {
  /** Only requests this returns true for (default: all of the user's requests). */
  match?: (req: ApiRequest) => boolean;
  /** Wait this long before handling the request. */
  delayMs?: number;
  /** Answer with this HTTP status (a Status body) instead of handling the request. */
  failWith?: number;
  /** Close the connection without answering (the client sees a network error). */
  drop?: boolean;
  /** Never answer (a black-holed request). */
  hang?: boolean;
}

/** Per-user faults: a partition of one client, a slow API, failing writes. */
export class Faults {
  private readonly byUser = new Map<string, Fault>();

  /** Applies `fault` to every request of `user` (replacing any previous one). */
  set(user: string, fault: Fault): void {
    this.byUser.set(user, fault);
  }

  /** Removes the fault of `user`, or of everyone. */
  clear(user?: string): void {
    if (user === undefined) this.byUser.clear();
    else this.byUser.delete(user);
  }

  readonly middleware: Middleware = async (req, next) => {
    const fault = this.byUser.get(req.user) ?? this.byUser.get("*");
    if (!fault || (fault.match && !fault.match(req))) return next();
    if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.hang) return { status: 0, hang: true };
    if (fault.drop) return { status: 0, drop: true };
    if (fault.failWith)
      return {
        status: fault.failWith,
        body: new ApiError(fault.failWith, "ServiceUnavailable", "injected fault").toStatus(),
      };
    return next();
  };
}

/** Options of a kubeconfig pointing at the stand-in. */
export interface KubeconfigOptions {
  /** The user (bearer token) the client authenticates as. Default "tester". */
  user?: string;
  /** The context's default namespace. */
  namespace?: string;
}

/** The Kubernetes API stand-in. */
export class KubeApiServer {
  readonly store: ObjectStore;
  readonly faults = new Faults();
  readonly requests: RequestRecord[] = [];
  private readonly middleware: Middleware[] = [];
  private server?: http.Server;
  private readonly open = new Set<http.ServerResponse>();
  private baseUrl?: string;

  constructor(options: { types?: ResourceTypes; store?: ObjectStore } = {}) {
    this.store = options.store ?? new ObjectStore(options.types);
    this.use(this.faults.middleware);
  }

  /** Adds middleware; the first added runs first. Returns the function that removes it. */
  use(mw: Middleware): () => void {
    this.middleware.push(mw);
    return () => this.middleware.splice(this.middleware.indexOf(mw), 1);
  }

  /** The server's base URL (`http://127.0.0.1:PORT`); only after start(). */
  get url(): string {
    if (!this.baseUrl) throw new Error("the API stand-in is not started");
    return this.baseUrl;
  }

  /** Listens on loopback; resolves to the base URL. */
  async start(port = 0): Promise<string> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /** Ends every open request and watch and stops listening. */
  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A kubeconfig document (as an object) whose current context points at this server. */
  kubeconfig(options: KubeconfigOptions = {}): Record<string, unknown> {
    const user = options.user ?? "tester";
    return {
      apiVersion: "v1",
      kind: "Config",
      // client-node refuses plain HTTP unless TLS verification is off; the stand-in serves loopback HTTP.
      clusters: [{ name: "stand-in", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: user, user: { token: user } }],
      contexts: [
        {
          name: "stand-in",
          context: {
            cluster: "stand-in",
            user,
            ...(options.namespace ? { namespace: options.namespace } : {}),
          },
        },
      ],
      "current-context": "stand-in",
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.open.add(res);
    res.on("close", () => this.open.delete(res));
    let apiReq: ApiRequest | undefined;
    let response: ApiResponse;
    try {
      apiReq = await this.parse(req);
      const chain = [...this.middleware];
      const run = (i: number): Promise<ApiResponse> =>
        i < chain.length ? chain[i](apiReq!, () => run(i + 1)) : this.route(apiReq!);
      response = await run(0);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, "InternalError", (err as Error).message);
      response = { status: e.code, body: e.toStatus() };
    }
    this.requests.push({
      time: Date.now(),
      user: apiReq?.user ?? "anonymous",
      verb: apiReq?.verb ?? "unknown",
      method: req.method ?? "",
      path: req.url ?? "",
      status: response.status,
    });
    if (response.hang) return;
    if (response.drop) {
      req.socket.destroy();
      return;
    }
    if (response.stream) {
      response.stream(res);
      return;
    }
    const body = JSON.stringify(response.body ?? {});
    res.writeHead(response.status, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  }

  private async parse(req: http.IncomingMessage): Promise<ApiRequest> {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new ApiError(400, "BadRequest", "the request body is not JSON");
      }
    }
    const auth = req.headers.authorization ?? "";
    const user = auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : "anonymous";
    const parsed: ApiRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      user,
      verb: "unknown",
      group: "",
      version: "",
    };
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    let rest: string[];
    if (parts[0] === "api" && parts.length >= 2) {
      parsed.version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === "apis" && parts.length >= 3) {
      parsed.group = parts[1];
      parsed.version = parts[2];
      rest = parts.slice(3);
    } else return parsed;
    const known = (plural: string | undefined) =>
      plural !== undefined && this.store.types.lookup(parsed.group, parsed.version, plural) !== undefined;
    if (rest[0] === "namespaces" && rest.length >= 3 && known(rest[2])) {
      parsed.namespace = rest[1];
      rest = rest.slice(2);
    }
    [parsed.plural, parsed.name, parsed.subresource] = rest;
    if (rest.length > 3 || !parsed.plural) return parsed;
    parsed.type = this.store.types.lookup(parsed.group, parsed.version, parsed.plural);
    const collection = parsed.name === undefined;
    const watch = ["true", "1"].includes(url.searchParams.get("watch") ?? "");
    parsed.verb =
      parsed.method === "GET"
        ? collection
          ? watch
            ? "watch"
            : "list"
          : "get"
        : parsed.method === "POST" && collection
          ? "create"
          : parsed.method === "PUT" && !collection
            ? "update"
            : parsed.method === "PATCH" && !collection
              ? "patch"
              : parsed.method === "DELETE" && !collection
                ? "delete"
                : "unknown";
    return parsed;
  }

  private async route(req: ApiRequest): Promise<ApiResponse> {
    if (req.path === "/version")
      return { status: 200, body: { major: "1", minor: "31", gitVersion: "v1.31.0-stand-in" } };
    const t = req.type;
    if (!t)
      throw new ApiError(404, "NotFound", `the server could not find the requested resource (${req.path})`);
    if (t.namespaced && req.name !== undefined && req.namespace === undefined)
      throw new ApiError(404, "NotFound", `the server could not find the requested resource (${req.path})`);
    const ns = t.namespaced ? req.namespace : undefined;
    const selectors = {
      labelSelector: req.query.get("labelSelector") ?? undefined,
      fieldSelector: req.query.get("fieldSelector") ?? undefined,
    };
    switch (req.verb) {
      case "get":
        return { status: 200, body: this.store.get(t, ns, req.name!) };
      case "list": {
        const { items, resourceVersion } = this.store.list(t, ns, selectors);
        return {
          status: 200,
          body: { apiVersion: apiVersionOf(t), kind: `${t.kind}List`, metadata: { resourceVersion }, items },
        };
      }
      case "watch":
        return this.watch(req, t, ns, selectors);
      case "create":
        return { status: 201, body: this.store.create(t, ns, this.objectBody(req)) };
      case "update":
        return {
          status: 200,
          body: this.store.replace(t, ns, req.name!, this.objectBody(req), req.subresource),
        };
      case "patch": {
        const contentType = (req.headers["content-type"] ?? "").split(";")[0].trim();
        return {
          status: 200,
          body: this.store.patch(t, ns, req.name!, contentType, req.body, req.subresource),
        };
      }
      case "delete":
        return { status: 200, body: this.store.delete(t, ns, req.name!) };
      default:
        throw new ApiError(405, "MethodNotAllowed", `${req.method} is not supported on ${req.path}`);
    }
  }

  private objectBody(req: ApiRequest): KubeObject {
    const body = req.body as KubeObject | undefined;
    if (!body || typeof body !== "object" || Array.isArray(body))
      throw new ApiError(400, "BadRequest", "the request needs an object body");
    return body;
  }

  private watch(
    req: ApiRequest,
    t: ResourceType,
    ns: string | undefined,
    selectors: { labelSelector?: string; fieldSelector?: string },
  ): ApiResponse {
    const timeoutSeconds = Number(req.query.get("timeoutSeconds") ?? 0);
    const from = req.query.get("resourceVersion") ?? undefined;
    return {
      status: 200,
      stream: (res) => {
        res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
        const send = (type: string, object: unknown) => res.write(JSON.stringify({ type, object }) + "\n");
        let stop = () => undefined as unknown;
        try {
          stop = this.store.watch(t, ns, from, selectors, send);
        } catch (err) {
          if (err instanceof ApiError) send("ERROR", err.toStatus());
          res.end();
          return;
        }
        const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
        res.on("close", () => {
          stop();
          if (timer) clearTimeout(timer);
        });
      },
    };
  }
}
