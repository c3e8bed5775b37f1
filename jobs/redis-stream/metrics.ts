// What the stream tells Prometheus: its lag, the newest durable segment, the durable offset, the gaps
// and whether its link is up, in the text exposition format on `GET /metrics` of its metrics port.
import * as http from "http";
import { STREAM_METRICS } from "../../core/metrics";

/** The stream's state as the metrics show it. */
export class StreamMetrics {
  /** Arrival (ms) of the oldest byte received but not durable; undefined when all is durable. */
  oldestPendingAt: () => number | undefined = () => undefined;
  lastDurableAt?: number;
  durableOffset = 0;
  gaps = 0;
  linkUp = false;

  /** The exposition text at `now`. */
  render(now = Date.now()): string {
    const lines: string[] = [];
    const gauge = (name: string, help: string, value: number, type = "gauge") =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    const pending = this.oldestPendingAt();
    const lag = pending === undefined ? 0 : Math.max(0, (now - pending) / 1000);
    gauge(
      STREAM_METRICS.lag,
      "Seconds the oldest byte received but not yet durable in the bucket has waited.",
      lag,
    );
    if (this.lastDurableAt !== undefined)
      gauge(STREAM_METRICS.lastDurable, "When the newest segment became durable.", this.lastDurableAt / 1000);
    gauge(STREAM_METRICS.durableOffset, "Replication offset durable in the bucket.", this.durableOffset);
    gauge(STREAM_METRICS.gaps, "Chains begun by a full resynchronisation (gaps).", this.gaps, "counter");
    gauge(STREAM_METRICS.linkUp, "1 while the replication link to the primary is up.", this.linkUp ? 1 : 0);
    return lines.join("\n") + "\n";
  }

  /** Serves `/metrics` on `port` (all interfaces); resolves to the server. */
  serve(port: number): Promise<http.Server> {
    const server = http.createServer((req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.render());
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, () => resolve(server));
    });
  }
}
