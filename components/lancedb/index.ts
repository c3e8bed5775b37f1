// The LanceDB area: the LanceDbStore component and the pure renderers it shares with the tests and jobs.
export * from "./lancedb-store";
export * from "./spec";
