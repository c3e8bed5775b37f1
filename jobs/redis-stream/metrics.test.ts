// The stream's metrics: lag counts from the oldest byte not yet durable, and is 0 once all is durable.
import { StreamMetrics } from "./metrics";

it("renders the lag from the oldest pending byte, and the durable position", () => {
  const m = new StreamMetrics();
  m.durableOffset = 1234;
  m.lastDurableAt = 1_000_000;
  m.linkUp = true;
  expect(m.render(2_000_000)).toMatch(/^holdfast_stream_lag_seconds 0$/m);
  m.oldestPendingAt = () => 1_995_500;
  const text = m.render(2_000_000);
  expect(text).toMatch(/^holdfast_stream_lag_seconds 4.5$/m);
  expect(text).toMatch(/^holdfast_stream_last_durable_timestamp_seconds 1000$/m);
  expect(text).toMatch(/^holdfast_stream_durable_offset 1234$/m);
  expect(text).toMatch(/^holdfast_stream_link_up 1$/m);
  expect(text).toMatch(/^# TYPE holdfast_stream_gaps_total counter$/m);
});
