// The Redis area: the SentinelRedis component and the pure renderers it shares with the tests.
export * from "./sentinel-redis";
export * from "./spec";
export * from "./conf";
export * from "./acl";
