// A small HTTP receiver standing in for a Prometheus Pushgateway: it records every push with its grouping
// key decoded from the path (`/metrics/job/<job>/<label>/<value>`, or `<label>@base64/<value>` as the
// Pushgateway accepts for values with a slash) and the samples of its text-format body.
import * as http from "http";
import type { AddressInfo } from "net";

/** One push as the Pushgateway would have received it. */
export interface Push {
  method: string;
  contentType: string;
  /** The grouping key: job and the labels. */
  group: Record<string, string>;
  /** Samples of the body: series (the metric name, with its labels when it has any) -> value. */
  metrics: Record<string, number>;
  /** Metric name -> its `# TYPE` declaration. */
  types: Record<string, string>;
  /** When it arrived (ms since the epoch). */
  receivedAt: number;
}

/** The grouping key of a push path. */
export function groupOf(url: string): Record<string, string> {
  const parts = url.replace(/^\/metrics\//, "").split("/");
  const group: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const [label, encoding] = parts[i].split("@");
    const raw = parts[i + 1];
    group[label] =
      encoding === "base64"
        ? raw === "="
          ? ""
          : Buffer.from(raw, "base64url").toString("utf8")
        : decodeURIComponent(raw);
  }
  return group;
}

/** See the module comment. */
export class PushReceiver {
  readonly pushes: Push[] = [];
  /** The status the receiver answers with. */
  status = 200;

  private readonly server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const lines = body.split("\n").filter(Boolean);
      this.pushes.push({
        method: req.method ?? "",
        contentType: req.headers["content-type"] ?? "",
        group: groupOf(req.url ?? ""),
        metrics: Object.fromEntries(
          lines
            .filter((l) => !l.startsWith("#"))
            .map((l) => [l.slice(0, l.lastIndexOf(" ")), Number(l.slice(l.lastIndexOf(" ") + 1))]),
        ),
        types: Object.fromEntries(
          lines
            .filter((l) => l.startsWith("# TYPE "))
            .map((l) => l.split(" "))
            .map(([, , name, type]) => [name, type]),
        ),
        receivedAt: Date.now(),
      });
      res.writeHead(this.status);
      res.end(this.status === 200 ? "" : "refused by the test");
    });
  });

  /** Starts a receiver on a free loopback port. */
  static async start(): Promise<PushReceiver> {
    const receiver = new PushReceiver();
    await new Promise<void>((r) => receiver.server.listen(0, "127.0.0.1", () => r()));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
