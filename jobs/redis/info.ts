// The text of Redis's INFO as fields: apart from client.ts so a module that only reads INFO's text
// (a restore, which loads ioredis only once a server it started is loading) does not load ioredis.

/** Parses the text of INFO into field -> value (section headers and blank lines skipped). */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1);
  }
  return fields;
}
