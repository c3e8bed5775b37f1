// The flags of the commands that push their outcome to a Prometheus Pushgateway: `--pushgateway` and
// `--stack` (HOLDFAST_PUSHGATEWAY and HOLDFAST_STACK, which the scheduled jobs carry).
import type { FlagSpecs } from "../cli/args";

/** The flags of the commands that push their outcome. */
export const PUSH_FLAGS: FlagSpecs = {
  pushgateway: {
    type: "string",
    help: "Prometheus Pushgateway (http://host:9091) to push the outcome to, success or failure; default none",
  },
  stack: {
    type: "string",
    help: "the stack label of the pushed metrics (needed with --pushgateway)",
  },
};
