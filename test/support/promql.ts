// PromQL as Prometheus parses it (the Prometheus project's own Lezer grammar): the metric names an
// expression selects, or a syntax error. The alerts' and the dashboard's tests hold every expression to
// the metrics the stack exports with it.
import { parser } from "@prometheus-io/lezer-promql";

/** Parses `expr`; returns the metric names it selects, or throws on a syntax error. */
export function metricNames(expr: string): string[] {
  const cursor = parser.parse(expr).cursor();
  const names: string[] = [];
  do {
    if (cursor.type.isError) throw new Error(`PromQL syntax error at ${cursor.from} in: ${expr}`);
    if (cursor.name === "VectorSelector") {
      const id = cursor.node.getChild("Identifier");
      if (id) names.push(expr.slice(id.from, id.to));
    }
  } while (cursor.next());
  return names;
}
