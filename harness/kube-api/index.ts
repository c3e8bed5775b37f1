// The Kubernetes API stand-in: a generic object store behind the real JSON REST conventions, served on
// loopback, with fault injection, admission hooks and change listeners to extend it.
export * from "./resources";
export * from "./patch";
export * from "./store";
export * from "./server";
export * from "./kubeconfig";
export * from "./access-review";
export * from "./cluster-types";
export * from "./service-proxy";
export * from "./provisioner";
