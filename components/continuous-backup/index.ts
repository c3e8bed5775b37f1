// The continuous-protection area: the ContinuousBackup component and the pure renderers it shares with
// the tests.
export * from "./continuous-backup";
export * from "./spec";
export * from "./alerts";
