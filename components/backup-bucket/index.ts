// The backup storage area: the BackupBucket component and the pure layout, lifecycle and policy
// functions it shares with the tests and jobs.
export * from "./backup-bucket";
export * from "./layout";
export * from "./lifecycle";
export * from "./policies";
export * from "./policy-document";
export * from "./replication";
