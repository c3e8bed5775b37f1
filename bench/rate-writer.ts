// A write load at a fixed rate, as an application's: SETs of unique keys `<prefix><n>` with values of a
// given size, sent in pipelines on a 1 ms timer (as many as are due), each write's acknowledgement time
// (wall clock, for comparing with the bucket's) and latency (monotonic, from the send) kept.
import { performance } from "perf_hooks";
import type Redis from "ioredis";

/** What a RateWriter writes. */
export interface RateOptions {
  /** Writes per second. */
  rate: number;
  seconds: number;
  valueBytes: number;
  keyPrefix: string;
}

/** See the module comment. */
export class RateWriter {
  /** Wall-clock ms when write n was acknowledged (0: not acknowledged). */
  readonly ackedAt: Float64Array;
  /** ms from sending write n to its acknowledgement (NaN: not acknowledged). */
  readonly latencyMs: Float64Array;
  sent = 0;
  errors = 0;
  private firstSentAt = 0;
  private lastAckedAt = 0;

  constructor(
    private readonly client: Redis,
    private readonly o: RateOptions,
  ) {
    const total = Math.ceil(o.rate * o.seconds);
    this.ackedAt = new Float64Array(total);
    this.latencyMs = new Float64Array(total).fill(NaN);
  }

  /** Writes for the whole duration; resolves once every write is answered. */
  async run(): Promise<void> {
    const value = "v".repeat(this.o.valueBytes);
    const total = this.ackedAt.length;
    const t0 = performance.now();
    this.firstSentAt = Date.now();
    const batches: Promise<unknown>[] = [];
    while (this.sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * this.o.rate));
      if (due > this.sent) {
        const p = this.client.pipeline();
        const sentAt = performance.now();
        for (let n = this.sent; n < due; n++)
          p.set(`${this.o.keyPrefix}${n}`, value, (err) => {
            if (err) {
              this.errors++;
              return;
            }
            this.latencyMs[n] = performance.now() - sentAt;
            this.ackedAt[n] = this.lastAckedAt = Date.now();
          });
        this.sent = due;
        batches.push(p.exec());
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(batches);
  }

  /** The latencies of the acknowledged writes (ms). */
  latencies(): number[] {
    return Array.from(this.latencyMs).filter((x) => !Number.isNaN(x));
  }

  /** Acknowledged writes per second over the run. */
  acknowledgedRate(): number {
    return this.latencies().length / Math.max(0.001, (this.lastAckedAt - this.firstSentAt) / 1000);
  }
}
