// Every command the holdfast CLI knows. Each area registers its commands in a module of its own.
import type { Command } from "./cli/command";
import { redisPodCommands } from "./redis-pod/commands";
import { lancedbLeaderCommands } from "./lancedb/leader/commands";
import { lancedbBackupCommands } from "./lancedb/backup/commands";
import { redisBackupCommands } from "./redis-backup/commands";
import { backupStoreCommands } from "./backup/commands";
import { scheduleCommands } from "./schedule/commands";
import { stackCommands } from "./stack/commands";
import { doctorCommand } from "./doctor/commands";

/** All commands, in the order --help lists them. */
export const commands: Command[] = [
  ...redisPodCommands,
  ...lancedbLeaderCommands,
  ...redisBackupCommands,
  ...lancedbBackupCommands,
  ...backupStoreCommands,
  ...scheduleCommands,
  ...stackCommands,
  doctorCommand,
];
