// Every command the holdfast CLI knows: the specs (words, summary, typed flags, hidden aliases) of each
// area, cheap to import; each spec loads the module that runs it only when it runs.
//
// A new command: write its spec in its area's specs.ts (see jobs/cli/command.ts), with
// `load: async () => (await load()).runMine` (load: the require of its commands.ts, as the other
// specs.ts do), and add it to a list below.
import type { Command } from "./cli/command";
import { redisPodCommands } from "./redis-pod/specs";
import { lancedbLeaderCommands } from "./lancedb/leader/specs";
import { lancedbBackupCommands } from "./lancedb/backup/specs";
import { redisBackupCommands } from "./redis-backup/specs";
import { redisStreamCommands } from "./redis-stream/specs";
import { backupStoreCommands } from "./backup/specs";
import { scheduleCommands } from "./schedule/specs";
import { stackCommands, stackPodCommands } from "./stack/specs";
import { doctorCommand } from "./doctor/specs";

/** All commands, in the order --help lists them (the `pod` group apart, at the end). */
export const commands: Command[] = [
  ...redisBackupCommands,
  ...redisStreamCommands,
  ...lancedbBackupCommands,
  ...backupStoreCommands,
  ...scheduleCommands,
  ...stackCommands,
  doctorCommand,
  ...redisPodCommands,
  ...lancedbLeaderCommands,
  ...stackPodCommands,
];
