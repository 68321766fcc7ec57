// The protocol table: everything that defines a protocol, declared once. The scenario
// schema's enum, the protocol x workload fit check, the connection rule, the server plugin
// the runner starts, the driver the agent loads, and the report's order and colours all
// derive from this table.
//
// TLS is a rule of the table too (`tls`): always (h2, h3), never (ws, grpc's h2c), or on by
// default with a cleartext variant by choice (HTTP/1.x: `{protocol: http1.1, tls: false}`,
// labelled `http1.1-clear`, served by its own plugin). Schema, labels and the runner's
// choice of server plugin derive from it.
//
// Adding a protocol = a driver file (harness/drivers/) + a server plugin (servers/, or an
// existing one) + one entry here (+ `npm run holbench -- schema` to regenerate
// scenarios/schema.json).
//
// Drivers load lazily (a dynamic import inside `driver`), so reading this table costs
// nothing: h3's native binding is loaded only when an h3 job runs.
import type { PluginName } from '../servers/registry.ts';
import type { DriverFactory } from './drivers/types.ts';
import type { MessageDriverFactory } from './drivers/messages.ts';
import { CHROMIUM_SUFFIX } from './clients.ts';

export type MessagePattern = 'echo' | 'push' | 'upload';

/** How many transport connections a protocol's client may open in one job. */
export type ConnectionRule =
  /** exactly one connection, every request multiplexed over it (or one channel) */
  | { kind: 'single' }
  /** a pool of `min`..`max` connections, `default` when the scenario says nothing; the
   *  label names the count (`http1.1x6`) unless it is the default of a pool that says
   *  nothing (`http1.1`) */
  | { kind: 'pool'; min: number; max: number; default: number };

/** Whether a protocol runs over TLS (QUIC's handshake is TLS 1.3 too), and whether a
 *  scenario may choose. */
export type TlsRule =
  /** always encrypted; a scenario's `tls: false` is refused */
  | { kind: 'always' }
  /** always cleartext; a scenario's `tls: true` is refused */
  | { kind: 'never' }
  /** TLS unless the scenario says `tls: false`; the cleartext variant is served by
   *  `clearPlugin` and its label ends in `clearSuffix` (http1.1x6 vs http1.1x6-clear) */
  | { kind: 'default-on'; clearPlugin: PluginName; clearSuffix: string };

interface Common {
  /** transport of the server plugin; decides which job probes apply (TCP retransmissions...) */
  transport: 'tcp' | 'udp';
  tls: TlsRule;
  /** the server plugin that serves it (over TLS when the rule allows TLS; servers/registry.ts) */
  plugin: PluginName;
  connections: ConnectionRule;
  /** chart colour; labels with a connection count may have their own (`colorOf`) */
  color: string;
  /** one line for `holbench list`, docs and errors */
  summary: string;
  /** the wire protocol version and settings, when the name does not say it (run.json records it) */
  wire?: string;
}

/** A protocol that carries page and load workloads (HTTP requests). */
export interface HttpProtocolDef extends Common {
  family: 'http';
  driver: () => Promise<DriverFactory>;
  /** colours of other labels of this protocol (pool sizes like http1.1x6, cleartext
   *  variants like http1.1x6-clear); every colour differs from every other HTTP label's */
  labelColors?: Record<string, string>;
}

/** A protocol that carries `messages` workloads. */
export interface MessageProtocolDef extends Common {
  family: 'messages';
  patterns: readonly MessagePattern[];
  /** false: cannot reconnect and resume after the last message (datagrams are never
   *  retransmitted, so a gap stays a gap); the workload must say `resume: false` */
  resume?: false;
  driver: () => Promise<MessageDriverFactory>;
}

export type ProtocolDef = HttpProtocolDef | MessageProtocolDef;

const SINGLE: ConnectionRule = { kind: 'single' };
const TLS: TlsRule = { kind: 'always' };
const CLEAR: TlsRule = { kind: 'never' };
/** HTTP/1.x: TLS like a browser meets it (https://), cleartext on the `h1-clear` plugin by choice */
const H1_TLS: TlsRule = { kind: 'default-on', clearPlugin: 'h1-clear', clearSuffix: '-clear' };

/** What both ends of the webtransport-* protocols speak (h3/webtransport.ts). */
const WT_WIRE =
  'WebTransport over HTTP/3, draft-ietf-webtrans-http3-02 wire format (bidi streams 0x41, uni streams 0x54, RFC 9297 datagrams); ' +
  'SETTINGS ENABLE_CONNECT_PROTOCOL=1, H3_DATAGRAM=1, ENABLE_WEBTRANSPORT(draft02)=1, WEBTRANSPORT_MAX_SESSIONS(draft07)=16; QUIC DATAGRAM queues of 1024';

/** The table, in report order (HTTP first, then messaging). Messaging protocols never share
 *  a run with the HTTP ones (one workload per scenario), so their colours reuse the same hues. */
export const PROTOCOL_TABLE = {
  'http1.0': {
    family: 'http', transport: 'tcp', tls: H1_TLS, plugin: 'h1', color: '#9d755d', labelColors: { 'http1.0-clear': '#eeca3b' },
    connections: { kind: 'pool', min: 1, max: 64, default: 6 },
    summary: 'HTTP/1.0 over TLS (ALPN http/1.1; tls: false for cleartext): a new TCP connection and a full TLS handshake per request, at most `connections` open at once',
    driver: async () => (await import('./drivers/h1.ts')).createH1Driver('1.0'),
  },
  'http1.1': {
    family: 'http', transport: 'tcp', tls: H1_TLS, plugin: 'h1', color: '#b279a2',
    labelColors: { 'http1.1x6': '#f58518', 'http1.1-clear': '#72b7b2', 'http1.1x6-clear': '#e45756' },
    connections: { kind: 'pool', min: 1, max: 64, default: 1 },
    summary: 'HTTP/1.1 keep-alive over TLS (ALPN http/1.1; tls: false for cleartext) on `connections` connections (browsers use 6: http1.1x6)',
    driver: async () => (await import('./drivers/h1.ts')).createH1Driver('1.1'),
  },
  h2: {
    family: 'http', transport: 'tcp', tls: TLS, plugin: 'h2', color: '#4c78a8', connections: SINGLE,
    summary: 'HTTP/2 over TLS (ALPN h2), every request a stream of one connection',
    driver: async () => (await import('./drivers/h2.ts')).createH2Driver,
  },
  h3: {
    family: 'http', transport: 'udp', tls: TLS, plugin: 'h3', color: '#54a24b', connections: SINGLE,
    summary: 'HTTP/3 over QUIC (our h3/ stack on quiche), every request a stream of one connection',
    driver: async () => (await import('./drivers/h3.ts')).createH3Driver,
  },
  ws: {
    family: 'messages', transport: 'tcp', tls: CLEAR, plugin: 'msg', color: '#4c78a8', connections: SINGLE, patterns: ['echo', 'push'],
    summary: 'WebSocket (ws); liveness: ping/pong',
    driver: async () => (await import('./drivers/ws.ts')).createWsDriver,
  },
  sse: {
    family: 'messages', transport: 'tcp', tls: CLEAR, plugin: 'msg', color: '#f58518', connections: SINGLE, patterns: ['push'],
    summary: 'Server-sent events over HTTP/1.1; liveness: comment heartbeats',
    driver: async () => (await import('./drivers/sse.ts')).createSseDriver,
  },
  'sse-h2': {
    family: 'messages', transport: 'tcp', tls: TLS, plugin: 'h2', color: '#e45756', connections: SINGLE, patterns: ['push'],
    summary: 'the same event stream on one HTTP/2 connection; liveness: HTTP/2 PING',
    driver: async () => (await import('./drivers/sse-h2.ts')).createSseH2Driver,
  },
  'sse-h3': {
    family: 'messages', transport: 'udp', tls: TLS, plugin: 'h3', color: '#ff9da6', connections: SINGLE, patterns: ['push'],
    summary: 'the same event stream on one HTTP/3 connection; liveness: QUIC idle timeout (+ PINGs)',
    driver: async () => (await import('./drivers/sse-h3.ts')).createSseH3Driver,
  },
  longpoll: {
    family: 'messages', transport: 'tcp', tls: CLEAR, plugin: 'msg', color: '#9d755d', connections: SINGLE, patterns: ['push'],
    summary: 'long polling over HTTP/1.1 keep-alive',
    driver: async () => (await import('./drivers/longpoll.ts')).createLongPollDriver,
  },
  'grpc-unary': {
    family: 'messages', transport: 'tcp', tls: CLEAR, plugin: 'grpc', color: '#b279a2', connections: SINGLE, patterns: ['echo'],
    summary: 'gRPC unary Echo (grpc-js, h2c); liveness: gRPC keepalive',
    driver: async () => (await import('./drivers/grpc.ts')).createGrpcDriver('grpc-unary'),
  },
  'grpc-stream': {
    family: 'messages', transport: 'tcp', tls: CLEAR, plugin: 'grpc', color: '#54a24b', connections: SINGLE, patterns: ['push'],
    summary: 'gRPC server-streaming Push (grpc-js, h2c); liveness: gRPC keepalive',
    driver: async () => (await import('./drivers/grpc.ts')).createGrpcDriver('grpc-stream'),
  },
  'grpc-bidi': {
    family: 'messages', transport: 'tcp', tls: CLEAR, plugin: 'grpc', color: '#72b7b2', connections: SINGLE, patterns: ['echo'],
    summary: 'gRPC bidi-streaming Chat (grpc-js, h2c); liveness: gRPC keepalive',
    driver: async () => (await import('./drivers/grpc.ts')).createGrpcDriver('grpc-bidi'),
  },
  'grpc-client-stream': {
    family: 'messages', transport: 'tcp', tls: CLEAR, plugin: 'grpc', color: '#eeca3b', connections: SINGLE, patterns: ['upload'],
    summary: 'gRPC client-streaming Upload (grpc-js, h2c): one-way latency measured by the server, answered once with count + checksum; liveness: gRPC keepalive',
    driver: async () => (await import('./drivers/grpc.ts')).createGrpcDriver('grpc-client-stream'),
  },
  // gRPC over HTTP/3: our framing (servers/grpc-wire.ts) on our h3/ stack, served by the h3
  // plugin; the same calls and patterns as the grpc-js entries above, for h2-vs-h3
  'grpc-h3-unary': {
    family: 'messages', transport: 'udp', tls: TLS, plugin: 'h3', color: '#d37295', connections: SINGLE, patterns: ['echo'],
    summary: 'gRPC unary Echo over HTTP/3 (our framing on our h3/ stack); liveness: QUIC idle timeout (+ PINGs)',
    driver: async () => (await import('./drivers/grpc-h3.ts')).createGrpcH3Driver('grpc-h3-unary'),
  },
  'grpc-h3-stream': {
    family: 'messages', transport: 'udp', tls: TLS, plugin: 'h3', color: '#8cd17d', connections: SINGLE, patterns: ['push'],
    summary: 'gRPC server-streaming Push over HTTP/3; liveness: QUIC idle timeout (+ PINGs)',
    driver: async () => (await import('./drivers/grpc-h3.ts')).createGrpcH3Driver('grpc-h3-stream'),
  },
  'grpc-h3-bidi': {
    family: 'messages', transport: 'udp', tls: TLS, plugin: 'h3', color: '#499894', connections: SINGLE, patterns: ['echo'],
    summary: 'gRPC bidi-streaming Chat over HTTP/3; liveness: QUIC idle timeout (+ PINGs)',
    driver: async () => (await import('./drivers/grpc-h3.ts')).createGrpcH3Driver('grpc-h3-bidi'),
  },
  'grpc-h3-client-stream': {
    family: 'messages', transport: 'udp', tls: TLS, plugin: 'h3', color: '#b6992d', connections: SINGLE, patterns: ['upload'],
    summary: 'gRPC client-streaming Upload over HTTP/3, answered once with count + checksum; liveness: QUIC idle timeout (+ PINGs)',
    driver: async () => (await import('./drivers/grpc-h3.ts')).createGrpcH3Driver('grpc-h3-client-stream'),
  },
  'webtransport-stream': {
    family: 'messages', transport: 'udp', tls: TLS, plugin: 'h3', color: '#17becf', wire: WT_WIRE, connections: SINGLE, patterns: ['echo', 'push'],
    summary: 'WebTransport over HTTP/3 (our h3/ stack), messages as lines on one bidirectional stream; liveness: QUIC idle timeout (+ PINGs)',
    driver: async () => (await import('./drivers/webtransport.ts')).createWebTransportDriver('stream'),
  },
  'webtransport-uni': {
    family: 'messages', transport: 'udp', tls: TLS, plugin: 'h3', color: '#bcbd22', wire: WT_WIRE, connections: SINGLE, patterns: ['echo', 'push'],
    summary: 'WebTransport over HTTP/3, one unidirectional stream per message (no head-of-line blocking between messages); liveness: QUIC idle timeout (+ PINGs)',
    driver: async () => (await import('./drivers/webtransport.ts')).createWebTransportDriver('uni'),
  },
  'webtransport-datagram': {
    family: 'messages', transport: 'udp', tls: TLS, plugin: 'h3', color: '#8c564b', wire: WT_WIRE, connections: SINGLE, patterns: ['echo', 'push'], resume: false,
    summary: 'WebTransport over HTTP/3, one HTTP/3 datagram per message: never retransmitted, a lost packet is a lost message; needs resume: false; liveness: QUIC idle timeout (+ PINGs)',
    driver: async () => (await import('./drivers/webtransport.ts')).createWebTransportDriver('datagram'),
  },
} as const satisfies Record<string, ProtocolDef>;

export type ProtocolName = keyof typeof PROTOCOL_TABLE;
export const PROTOCOLS = Object.keys(PROTOCOL_TABLE) as [ProtocolName, ...ProtocolName[]];

export function protocolDef(name: ProtocolName): ProtocolDef {
  return PROTOCOL_TABLE[name];
}

export function isProtocol(name: string): name is ProtocolName {
  return Object.hasOwn(PROTOCOL_TABLE, name);
}

/** `{ wire }` for run.json's protocol entry, when the table says more than the name. */
/** Whether a protocol needs the h3 plugin to advertise WebTransport (the WebTransport entries). */
export function needsWebTransport(name: ProtocolName): boolean {
  return (protocolDef(name) as { wire?: string }).wire === WT_WIRE;
}

export function wireOf(name: ProtocolName): { wire?: string } {
  const w = (protocolDef(name) as { wire?: string }).wire;
  return w ? { wire: w } : {};
}

/** Names of the protocols of one family, in table order. */
export function protocolsOf(family: ProtocolDef['family']): ProtocolName[] {
  return PROTOCOLS.filter((p) => PROTOCOL_TABLE[p].family === family);
}

/** Messaging protocols that can reconnect and resume (no `resume: false` in the table). */
export function resumableProtocols(): ProtocolName[] {
  return protocolsOf('messages').filter((p) => (protocolDef(p) as MessageProtocolDef).resume !== false);
}

/** Messaging protocols that carry `pattern`. */
export function protocolsWithPattern(pattern: MessagePattern): ProtocolName[] {
  return PROTOCOLS.filter((p) => {
    const d = protocolDef(p);
    return d.family === 'messages' && d.patterns.includes(pattern);
  });
}

// ---------------------------------------------------------------------------------------
// Connections, TLS and labels
// ---------------------------------------------------------------------------------------

/** Protocols whose connection count is a scenario choice (the `<name>x<N>` spelling). */
export const POOLED = PROTOCOLS.filter((p) => PROTOCOL_TABLE[p].connections.kind === 'pool');

/** Protocols whose TLS is a scenario choice (`tls: false`, or the `-clear` label spelling). */
export const TLS_CHOICE = PROTOCOLS.filter((p) => PROTOCOL_TABLE[p].tls.kind === 'default-on');

/** "http1.1x6" -> {protocol: 'http1.1', connections: 6}; null when it is not that spelling. */
export function parseShorthand(s: string): { protocol: ProtocolName; connections: number } | null {
  const m = /^(.+)x(\d{1,6})$/.exec(s);
  if (!m || !isProtocol(m[1]!) || PROTOCOL_TABLE[m[1]!].connections.kind !== 'pool') return null;
  return { protocol: m[1]! as ProtocolName, connections: Number(m[2]) };
}

/** What a label (or a scenario's protocol string, the same spelling) says: the protocol, the
 *  pool size when it names one, and `tls: false` when it ends in the protocol's cleartext
 *  suffix. "http1.1x6-clear" -> {http1.1, 6, false}; null for a foreign label. */
export function parseLabel(s: string): { protocol: ProtocolName; connections?: number; tls?: false; client?: 'chromium' } | null {
  // a Chromium run: the holbench label plus "@chromium" (h3@chromium, http1.1x6@chromium)
  if (s.endsWith(CHROMIUM_SUFFIX)) {
    const base = parseLabel(s.slice(0, -CHROMIUM_SUFFIX.length));
    return base && !base.client ? { ...base, client: 'chromium' } : null;
  }
  const plain = (x: string) => (isProtocol(x) ? { protocol: x } : parseShorthand(x));
  const p = plain(s);
  if (p) return p;
  for (const name of TLS_CHOICE) {
    const rule = PROTOCOL_TABLE[name].tls;
    if (rule.kind !== 'default-on' || !s.endsWith(rule.clearSuffix)) continue;
    const base = plain(s.slice(0, -rule.clearSuffix.length));
    if (base?.protocol === name) return { ...base, tls: false };
  }
  return null;
}

/** The connection rule applied to a scenario's `connections` (given or not): the count to
 *  use, or the problem in words (naming what is allowed). One rule for both spellings. */
export function resolveConnections(protocol: ProtocolName, given: number | undefined): { connections: number } | { problem: string } {
  const rule = PROTOCOL_TABLE[protocol].connections;
  if (rule.kind === 'single') {
    if (given === undefined || given === 1) return { connections: 1 };
    return { problem: `${protocol} uses one connection (connections applies to ${POOLED.join(', ')} only)` };
  }
  if (given === undefined) return { connections: rule.default };
  if (!Number.isInteger(given) || given < rule.min || given > rule.max) {
    return { problem: `${protocol} connections must be an integer from ${rule.min} to ${rule.max}, got ${given}` };
  }
  return { connections: given };
}

/** The TLS rule applied to a scenario's `tls` (given or not): whether the protocol runs over
 *  TLS, or the problem in words. A protocol without a choice refuses any `tls` (the issue's
 *  rule: `tls` there is a mistake, even when it repeats what the protocol does). */
export function resolveTls(protocol: ProtocolName, given: boolean | undefined): { tls: boolean } | { problem: string } {
  const rule = PROTOCOL_TABLE[protocol].tls;
  if (rule.kind === 'default-on') return { tls: given ?? true };
  if (given === undefined) return { tls: rule.kind === 'always' };
  const what = rule.kind === 'always' ? 'always uses TLS' : 'never uses TLS (cleartext only)';
  return { problem: `${protocol} ${what}; tls applies to ${TLS_CHOICE.join(', ')} only` };
}

/** The server plugin that serves `protocol` with this TLS choice (the runner starts it and
 *  sends the job to its port). */
export function pluginOf(protocol: ProtocolName, tls: boolean): PluginName {
  const d = PROTOCOL_TABLE[protocol];
  return d.tls.kind === 'default-on' && !tls ? d.tls.clearPlugin : d.plugin;
}

/** Output label: the name, plus `x<N>` when a pool's count was chosen and differs from
 *  what the bare name means (http1.1 = one connection; http1.0x6 names its cap), plus the
 *  cleartext suffix when a protocol that defaults to TLS runs without (http1.1x6-clear). */
export function protocolLabel(protocol: ProtocolName, connections: number, given: boolean, tls: boolean): string {
  const rule = PROTOCOL_TABLE[protocol].connections;
  const t = PROTOCOL_TABLE[protocol].tls;
  const suffix = t.kind === 'default-on' && !tls ? t.clearSuffix : '';
  if (rule.kind === 'single') return protocol + suffix;
  if (protocol === 'http1.0') return (given ? `${protocol}x${connections}` : protocol) + suffix;
  return (connections === rule.default ? protocol : `${protocol}x${connections}`) + suffix;
}

/** The table entry a label belongs to ("http1.1x6-clear" -> http1.1), or null for foreign labels. */
export function protocolOfLabel(label: string): ProtocolName | null {
  return parseLabel(label)?.protocol ?? null;
}

// ---------------------------------------------------------------------------------------
// Report order and colours
// ---------------------------------------------------------------------------------------

/** Sort key of a label: table order, then the pool size, a cleartext label right after its
 *  TLS sibling (http1.1, http1.1-clear, http1.1x6, http1.1x6-clear), a Chromium label right
 *  after its holbench sibling (h3, h3@chromium). Labels that are not in
 *  the table sort after all of them. */
export function labelRank(label: string): [number, number] {
  // a client's or external server's suffix (h3@caddy) sorts right after its protocol
  const p = parseLabel(label.split('@')[0]!);
  if (!p) return [PROTOCOLS.length, 0];
  return [PROTOCOLS.indexOf(p.protocol), 2 * (p.connections ?? 0) + (p.tls === false ? 1 : 0) + (p.client ? 0.5 : 0)];
}

/** The fixed colour of a label, or undefined when it has none (it then takes a free one). */
export function colorOf(label: string): string | undefined {
  if (isProtocol(label)) return PROTOCOL_TABLE[label].color;
  const p = parseLabel(label);
  if (!p) return undefined;
  const d = protocolDef(p.protocol);
  return d.family === 'http' ? d.labelColors?.[label] : undefined;
}
