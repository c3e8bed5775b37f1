// What a rendered LanceDB store and the holdfast jobs agree on: the storage modes, the label that lets
// a pod connect, and the election sidecar's pod condition, port and leader marker.

/** Where the dataset lives: a ReadWriteOnce EBS volume, a shared EFS file system, or S3 itself. */
export type LanceDbMode = "ebs" | "efs" | "s3";
export const LANCEDB_MODES: readonly LanceDbMode[] = ["ebs", "efs", "s3"];

/**
 * The label of the pods that may connect to the application (value `"true"`), in the store's namespace
 * and the allowed ones.
 */
export const LANCEDB_CLIENT_LABEL = "holdfast.dev/lancedb-client";

/** The pod condition the readiness gate of the elected modes waits for; the sidecar sets it. */
export const LEADER_CONDITION_TYPE = "holdfast.dev/leader";
/** Port of the election sidecar's /leader, /healthz and /status. */
export const ELECTOR_HEALTH_PORT = 8086;
/** Folder (an in-memory emptyDir) holding the leader marker; the application mounts it read-only. */
export const LEADER_DIR = "/run/holdfast";
export const LEADER_FILE = `${LEADER_DIR}/leader`;
/** Where the application container keeps its dataset unless configured otherwise. */
export const DEFAULT_DATA_PATH = "/app/lancedb_data";
