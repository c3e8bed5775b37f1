// `holdfast trigger`: run a scheduled job now, with a reason (a backup before risky work). Its flags are
// here; the work is in commands.ts, loaded when it runs.
import type { Command } from "../cli/command";
import { WAIT_FLAGS } from "../stack/specs";

/** The module that runs the command, loaded on first use (require: tsx keeps import() native). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = async (): Promise<typeof import("./commands")> => require("./commands");

const trigger: Command = {
  words: ["trigger"],
  summary: "start a one-off run of a scheduled job (a backup before risky work) and optionally wait for it",
  flags: {
    cronjob: {
      type: "string",
      required: true,
      help: "the CronJob to run: redis-backup, lancedb-backup, prune, restore-drill",
    },
    reason: { type: "string", required: true, help: "why, recorded in the backup (e.g. pre-training)" },
    namespace: { type: "string", help: "namespace of the CronJob; default: the context's, else holdfast" },
    context: { type: "string", help: "kubeconfig context; default: the current one" },
    ...WAIT_FLAGS,
    "dry-run": {
      type: "boolean",
      default: false,
      help: "read the CronJob and name the run it would start; create nothing",
    },
  },
  load: async () => (await load()).runTrigger,
};

/** The schedule commands. */
export const scheduleCommands: Command[] = [trigger];
