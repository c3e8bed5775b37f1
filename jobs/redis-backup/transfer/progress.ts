// Progress of a long transfer: a line redrawn in place on a terminal, a JSON log line every so often
// off one (what a CronJob's log wants), and nothing at all for short transfers.
import { log } from "../../cli/log";
import { formatBytes } from "../../cli/format";

/** Reports the bytes of one transfer as they move. */
export class Progress {
  private bytes = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private lastLog = Date.now();
  private drawn = false;

  /**
   * @param label what moves (`streaming 10.0.0.5:6379 -> s3://b/k`)
   * @param total bytes expected, when known.
   * @param logEveryMs interval of log lines off a terminal.
   */
  constructor(
    private readonly label: string,
    private readonly total?: number,
    private readonly logEveryMs = 15_000,
    private readonly tty = Boolean(process.stderr.isTTY),
  ) {}

  /** Counts `n` more bytes. */
  add(n: number): void {
    this.bytes += n;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 250) return;
      this.lastDraw = now;
      this.drawn = true;
      process.stderr.write(`\r\x1b[2K${this.label}  ${this.describe(now)}`);
    } else if (now - this.lastLog >= this.logEveryMs) {
      this.lastLog = now;
      log.info("progress", { what: this.label, bytes: this.bytes, total: this.total, rate: this.rate(now) });
    }
  }

  /** Clears the terminal line. */
  done(): void {
    if (this.drawn) process.stderr.write("\r\x1b[2K");
    this.drawn = false;
  }

  private rate(now: number): string {
    const secs = Math.max(0.001, (now - this.started) / 1000);
    return `${formatBytes(this.bytes / secs)}/s`;
  }

  private describe(now: number): string {
    const pct = this.total ? ` (${Math.floor((100 * this.bytes) / this.total)}%)` : "";
    const of = this.total ? ` of ${formatBytes(this.total)}` : "";
    return `${formatBytes(this.bytes)}${of}${pct}  ${this.rate(now)}`;
  }
}
