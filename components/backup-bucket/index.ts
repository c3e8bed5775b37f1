// The backup storage area: the BackupBucket component and the pure lifecycle and policy functions it
// shares with the tests (the store layout the jobs share is core/store-layout.ts).
export * from "./backup-bucket";
export * from "./lifecycle";
export * from "./policies";
export * from "./policy-document";
export * from "./replication";
