// The LanceDB area: the LanceDbStore component and the pure renderers it shares with the tests.
export * from "./lancedb-store";
export * from "./spec";
