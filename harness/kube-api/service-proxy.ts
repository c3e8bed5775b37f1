// The API server's service proxy on the stand-in: GET
// `/api/v1/namespaces/{ns}/services/[{scheme}:]{name}[:{port}]/proxy/{path}` forwarded to a local server
// a test names for the service, as `kubectl get --raw` reaches an in-cluster service through the API.
// An unknown service answers 404, one whose server does not answer 503, as a cluster does.
import type { KubeApiServer, Middleware } from "./server";

const PROXY = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/;

/** Services the proxy reaches, by `namespace/name:port`. */
export class ServiceProxy {
  private readonly targets = new Map<string, string>();

  /** Routes `namespace/name:port` to `url` (a loopback base URL); undefined removes it. */
  route(namespace: string, name: string, port: number, url: string | undefined): void {
    const key = `${namespace}/${name}:${port}`;
    if (url === undefined) this.targets.delete(key);
    else this.targets.set(key, url.replace(/\/+$/, ""));
  }

  readonly middleware: Middleware = async (req, next) => {
    const m = PROXY.exec(req.path);
    if (!m || req.method !== "GET") return next();
    const parts = decodeURIComponent(m[2]).split(":");
    const [name, port] = parts.length === 3 ? parts.slice(1) : parts.length === 2 ? parts : [parts[0], "80"];
    const target = this.targets.get(`${m[1]}/${name}:${port}`);
    const status = (code: number, message: string) => ({
      status: code,
      body: { kind: "Status", apiVersion: "v1", status: "Failure", message, code },
    });
    if (!target) return status(404, `services "${name}" not found`);
    try {
      // The API server decodes the path (client-node sends `-%2Fready`) before it forwards it.
      const response = await fetch(`${target}${decodeURIComponent(m[3] ?? "/")}`, {
        signal: AbortSignal.timeout(5000),
      });
      const text = await response.text();
      return response.ok ? { status: 200, body: text } : status(response.status, text);
    } catch (err) {
      return status(503, `error trying to reach service: ${(err as Error).message}`);
    }
  };
}

/** Serves the service proxy on `server`; returns it to route services with. */
export function serveServiceProxy(server: KubeApiServer): ServiceProxy {
  const proxy = new ServiceProxy();
  server.use(proxy.middleware);
  return proxy;
}
