// Cron schedules in the two dialects the schedules are rendered to: the five fields of a Kubernetes
// CronJob, and the six fields of an EventBridge Scheduler `cron(...)` expression (which numbers weekdays
// 1-7 from Sunday and needs `?` in one of day-of-month and day-of-week).

const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** Splits a five-field cron schedule; throws on anything else. */
export function cronFields(schedule: string): [string, string, string, string, string] {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`"${schedule}" is not a five-field cron schedule`);
  return fields as [string, string, string, string, string];
}

function weekday(token: string): string {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (n > 7) throw new Error(`day of week ${token} is out of range`);
    return WEEKDAYS[n % 7];
  }
  if (WEEKDAYS.includes(token.toUpperCase())) return token.toUpperCase();
  throw new Error(`day of week "${token}" is not understood`);
}

/** The day-of-week field in EventBridge's names (`0,6` -> `SUN,SAT`, `1-5` -> `MON-FRI`). */
function eventBridgeWeekdays(field: string): string {
  return field
    .split(",")
    .map((part) => {
      const [range, step] = part.split("/");
      const bounds = range === "*" ? ["*"] : range.split("-").map(weekday);
      return bounds.join("-") + (step ? `/${step}` : "");
    })
    .join(",");
}

/** `0 2 * * *` -> `cron(0 2 * * ? *)`, `0 4 * * 0` -> `cron(0 4 ? * SUN *)`. */
export function eventBridgeCron(schedule: string): string {
  const [minute, hour, dom, month, dow] = cronFields(schedule);
  if (dom !== "*" && dow !== "*")
    throw new Error(`"${schedule}" sets both day of month and day of week, which EventBridge cannot express`);
  const days = dow === "*" ? [dom, "?"] : ["?", eventBridgeWeekdays(dow)];
  return `cron(${minute} ${hour} ${days[0]} ${month} ${days[1]} *)`;
}
