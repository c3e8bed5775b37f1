// Which Pushgateway URLs are in-cluster services (asked through the API server's service proxy).
import { inClusterService } from "./monitoring";

test("a cluster service name is its service, namespace and port", () => {
  expect(inClusterService("http://prometheus-pushgateway.monitoring.svc.cluster.local:9091")).toEqual({
    scheme: "http",
    name: "prometheus-pushgateway",
    namespace: "monitoring",
    port: 9091,
    path: "",
  });
  expect(inClusterService("https://pgw.obs.svc/prefix/")).toMatchObject({ port: 443, path: "/prefix" });
});

test("other URLs are asked directly", () => {
  expect(inClusterService("http://127.0.0.1:9091")).toBeUndefined();
  expect(inClusterService("https://pushgateway.example.com")).toBeUndefined();
  expect(inClusterService("not a url")).toBeUndefined();
});
