// Moves rendered pod configuration onto loopback: pod host names become 127.0.0.1 with a port of their
// own, mount paths become folders of the test, and nothing else changes. Applied to config files and to
// a container's environment (with Secret and downward-API references resolved as the kubelet would).

/** How one rendered pod maps onto this machine. */
export interface Localization {
  /** Pod host name -> (port in the cluster -> port on loopback). */
  hosts: Map<string, Map<number, number>>;
  /** Mount path in the pod -> folder on this machine. */
  paths: Record<string, string>;
  /** The loopback port of the process being localized (replaces `port N` and HOLDFAST_PORT). */
  selfPort: number;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Replaces pod addresses (`host port`, `host:port`, bare `host`) and mount paths in `text`. */
export function localizeText(text: string, l: Localization): string {
  let out = text;
  for (const [host, ports] of l.hosts) {
    for (const [clusterPort, localPort] of ports) {
      out = out.replace(new RegExp(`${escape(host)}([ :])${clusterPort}\\b`, "g"), `127.0.0.1$1${localPort}`);
    }
    out = out.replace(new RegExp(`\\b${escape(host)}\\b`, "g"), "127.0.0.1");
  }
  // One pass over every mount path, longest first, so a replacement is never rewritten again.
  const mounts = Object.keys(l.paths).sort((a, b) => b.length - a.length);
  if (mounts.length === 0) return out;
  const pattern = new RegExp(`(^|[\\s=:,"'])(${mounts.map(escape).join("|")})(?=/|$|[\\s,"'])`, "gm");
  return out.replace(pattern, (_m, before: string, mount: string) => `${before}${l.paths[mount]}`);
}

/** A redis.conf or sentinel.conf moved onto loopback: its own port, bind 127.0.0.1, local paths. */
export function localizeConf(text: string, l: Localization): string {
  return localizeText(text, l)
    .replace(/^port \d+$/m, `port ${l.selfPort}`)
    .replace(/^bind .*$/m, "bind 127.0.0.1");
}

/** A container's env entry as rendered. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

/**
 * The environment a container would get, localized: Secret references read from `secrets`
 * (name -> stringData), `metadata.name` from `podName`, `$(VAR)` expanded from earlier entries.
 */
export function containerEnv(
  env: EnvVar[],
  podName: string,
  secrets: Record<string, Record<string, string>>,
  l: Localization,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    let value: string;
    if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const v = secrets[name]?.[key];
      if (v === undefined) throw new Error(`env ${e.name}: secret ${name} has no key ${key}`);
      value = v;
    } else if (e.valueFrom?.fieldRef) {
      if (e.valueFrom.fieldRef.fieldPath !== "metadata.name")
        throw new Error(`env ${e.name}: unsupported fieldRef`);
      value = podName;
    } else {
      value = (e.value ?? "").replace(/\$\((\w+)\)/g, (m, name) => out[name] ?? m);
    }
    out[e.name] = e.name === "HOLDFAST_PORT" ? String(l.selfPort) : localizeText(value, l);
  }
  return out;
}
