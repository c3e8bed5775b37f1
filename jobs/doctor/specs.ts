// `holdfast stack doctor --stack S`: the preflight of a deployed stack (old spelling `holdfast doctor`,
// kept working). Its flags are here; the checks are in commands.ts and the modules it runs, loaded
// when it runs.
import type { FlagSpecs } from "../cli/args";
import type { Command } from "../cli/command";
import { STACK_FLAGS } from "../stack/specs";
import { JSON_FLAG } from "../store/flags";

const DOCTOR_FLAGS: FlagSpecs = {
  ...STACK_FLAGS,
  "max-age": {
    type: "duration",
    default: "24h",
    help: "the newest backup of each store must be younger than this (30m, 24h, 7d)",
  },
  "drill-max-age": {
    type: "duration",
    default: "35d",
    help: "the last restore drill must be younger than this",
  },
  timeout: {
    type: "duration",
    min: 1,
    default: "10s",
    help: "bound on each call a check makes (to the cluster, the bucket or the Pushgateway)",
  },
  ...JSON_FLAG,
};

/** The module that runs the command, loaded on first use (require: tsx keeps import() native). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = async (): Promise<typeof import("./commands")> => require("./commands");

/** `holdfast stack doctor`. */
export const doctorCommand: Command = {
  words: ["stack", "doctor"],
  aliases: [["doctor"]],
  summary:
    "check a stack before trusting it (cluster, restore rights, CRDs, storage, bucket, IRSA, Pushgateway, image, backups, drill); exit 1 on a failed check",
  flags: DOCTOR_FLAGS,
  load: async () => (await load()).runDoctorCommand,
};
