// `holdfast pod elect lancedb` (old spelling `lancedb elect`): the election sidecar of a LanceDB pod in
// efs and s3 modes. Its flags are here; the work is in commands.ts, loaded when it runs.
import { ELECTOR_HEALTH_PORT, LEADER_CONDITION_TYPE, LEADER_FILE } from "../../../core/lancedb";
import type { Command } from "../../cli/command";

/** The module that runs the command, loaded on first use (require: tsx keeps import() native). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = async (): Promise<typeof import("./commands")> => require("./commands");

const elect: Command = {
  words: ["pod", "elect", "lancedb"],
  aliases: [["lancedb", "elect"]],
  summary: "elect the LanceDB writer through a Lease and mark the leader's pod (sidecar)",
  flags: {
    lease: { type: "string", required: true, help: "name of the coordination.k8s.io Lease" },
    namespace: {
      type: "string",
      env: "POD_NAMESPACE",
      help: "namespace of the lease and the pod; default: the kubeconfig context's (in cluster: the pod's)",
    },
    pod: { type: "string", required: true, env: "POD_NAME", help: "this pod's name (its condition is set)" },
    "condition-type": {
      type: "string",
      default: LEADER_CONDITION_TYPE,
      help: "pod condition the readiness gate waits for",
    },
    "marker-file": {
      type: "string",
      default: LEADER_FILE,
      help: "file present while this pod leads; empty for none",
    },
    "lease-duration": { type: "duration", default: "15s", help: "how long a lease lasts without renewal" },
    "renew-deadline": {
      type: "duration",
      default: "10s",
      help: "a leader that has not renewed for this long steps down; < lease duration",
    },
    "retry-period": { type: "duration", default: "2s", help: "pause between attempts" },
    "health-port": {
      type: "integer",
      min: 0,
      max: 65535,
      default: String(ELECTOR_HEALTH_PORT),
      help: "port of /leader (200 while leading), /healthz and /status",
    },
    "keep-lease": {
      type: "boolean",
      help: "at exit, leave the lease to expire instead of releasing it",
    },
  },
  load: async () => (await load()).runElect,
};

/** The LanceDB pods' commands. */
export const lancedbLeaderCommands: Command[] = [elect];
