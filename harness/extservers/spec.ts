// External servers: what a scenario's protocol entry may say in `server:` and what each
// server can speak. `holbench` (the default) is our own server process (servers/); `caddy`
// and `nginx` are the Debian packages, configured by us to serve the workload's objects as
// files; a user server is the user's own command, told the objects by environment
// variables (README "External servers"). Checked at load time: a protocol the server cannot
// speak is exit 2 naming `protocols[i].server`.
import { z } from 'zod';
import { protocolsOf, type ProtocolName } from '../protocols.ts';

/** Servers we configure ourselves, and the protocols each one is asked to speak. nginx is
 *  asked for h3 too: Debian 12's nginx 1.22 has no HTTP/3 module, which the run reports as
 *  UNSUPPORTED with the reason (nginx -V), not as a scenario error (a newer build could). */
export const STATIC_SERVERS = {
  caddy: { protocols: ['http1.0', 'http1.1', 'h2', 'h3'] },
  nginx: { protocols: ['http1.0', 'http1.1', 'h2', 'h3'] },
} as const satisfies Record<string, { protocols: readonly ProtocolName[] }>;
export type StaticServerName = keyof typeof STATIC_SERVERS;
export const STATIC_SERVER_NAMES = Object.keys(STATIC_SERVERS) as StaticServerName[];
export const SERVER_NAMES = ['holbench', ...STATIC_SERVER_NAMES] as const;

/** HTTP protocols an external server may be asked for (page and load workloads). */
const HTTP_PROTOCOLS = protocolsOf('http') as [ProtocolName, ...ProtocolName[]];

/** Ports the static servers listen on in the server namespace (below Linux's ephemeral
 *  range, where the holbench server's plugins listen): TLS (TCP and, for h3, UDP) and cleartext. */
export const STATIC_PORTS: Record<StaticServerName, { tls: number; clear: number }> = {
  caddy: { tls: 9443, clear: 9080 },
  nginx: { tls: 9444, clear: 9081 },
};
const RESERVED_PORTS = Object.values(STATIC_PORTS).flatMap((p) => [p.tls, p.clear]);

/** The user's own server. */
export const UserServerSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and - (it goes into labels and file names)')
      .refine((n) => !(SERVER_NAMES as readonly string[]).includes(n) && n !== 'chromium', { message: `must not be ${[...SERVER_NAMES, 'chromium'].join(', ')}` })
      .default('custom')
      .describe('label suffix of its rows (h2@custom) and name of its log file'),
    command: z
      .array(z.string().min(1).max(4096))
      .min(1)
      .max(256)
      .describe('argument array, run without a shell in the server namespace, in the scenario file\'s folder'),
    protocols: z.array(z.enum(HTTP_PROTOCOLS)).min(1).describe('the protocols it serves (TCP on `port` for HTTP/1.x and h2, UDP on `port` for h3)'),
    port: z.number().int().min(1024).max(32767).refine((p) => !RESERVED_PORTS.includes(p), { message: `${RESERVED_PORTS.join(', ')} are taken by caddy and nginx` }),
    ready_path: z.string().regex(/^\/[\x21-\x7e]*$/, 'an absolute path, printable ASCII').max(1024).default('/health').describe('ready when a GET of this path answers 2xx'),
    start_timeout_s: z.number().min(1).max(300).default(15).describe('jobs fail when it is not ready this long after it started'),
  })
  .strict();
export type UserServer = z.output<typeof UserServerSchema>;

export const ServerField = z
  .union([z.enum(SERVER_NAMES), UserServerSchema])
  .describe('who serves this entry: holbench (default), caddy, nginx, or {command, protocols, port, ready_path} (your own server; README "External servers")');
export type ServerSpec = z.output<typeof ServerField>;

/** A server other than holbench's own; undefined = holbench. */
export type ExternalServer = StaticServerName | UserServer;

export function externalOf(s: ServerSpec | undefined): ExternalServer | undefined {
  return s === undefined || s === 'holbench' ? undefined : s;
}

/** The name in labels, logs and run.json. */
export function serverName(s: ExternalServer): string {
  return typeof s === 'string' ? s : s.name;
}

/** Distinct servers are distinct processes: equal specs share one. */
export function serverKey(s: ExternalServer): string {
  return typeof s === 'string' ? s : `user:${JSON.stringify(s)}`;
}

/** Why `server` cannot speak `protocol` (scenario error), or null. */
export function serverProblem(protocol: ProtocolName, s: ServerSpec | undefined): string | null {
  const x = externalOf(s);
  if (!x) return null;
  const speaks: readonly ProtocolName[] = typeof x === 'string' ? STATIC_SERVERS[x].protocols : x.protocols;
  if (speaks.includes(protocol)) return null;
  return `${serverName(x)} does not serve ${protocol} (it serves ${speaks.join(', ')}; external servers serve page and load workloads)`;
}

/** The one place a label gets its suffixes: `<protocol label>[@<client>][@<server>]`
 *  (h3@caddy, h3@chromium, h3@chromium@caddy); the holbench server and the built-in
 *  client add nothing. */
export function composeLabel(base: string, o: { client?: string; server?: string }): string {
  return [base, o.client, o.server].filter(Boolean).join('@');
}

/** "h3@caddy" -> {base: 'h3', server: 'caddy'}: the static-server suffix a protocol string
 *  may carry (a user server needs its command, so only the object form names one). */
export function splitServerSuffix(s: string): { base: string; server?: StaticServerName } {
  const m = /^(.*)@([a-z0-9-]+)$/.exec(s);
  if (m && (STATIC_SERVER_NAMES as string[]).includes(m[2]!)) return { base: m[1]!, server: m[2] as StaticServerName };
  return { base: s };
}

/** Distinct user servers on one port would collide at bind time: [entry index, problem] for
 *  each entry whose server takes a port another server of the scenario already has. */
export function portClashes(servers: (ExternalServer | undefined)[]): [number, string][] {
  const owner = new Map<number, string>();
  const out: [number, string][] = [];
  servers.forEach((s, i) => {
    if (!s || typeof s === 'string') return;
    const key = serverKey(s);
    const held = owner.get(s.port);
    if (held === undefined) owner.set(s.port, key);
    else if (held !== key) out.push([i, `port ${s.port} is already taken by another server of this scenario (give each server its own port, or the same spec to share one)`]);
  });
  return out;
}
