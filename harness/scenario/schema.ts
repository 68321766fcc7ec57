// The scenario file schema (strict: unknown keys are errors). scenarios/schema.json is
// generated from this by `holbench schema` so editors can autocomplete.
import { z } from 'zod';
import { LinkSchema, NetworkSchema, PresetNameSchema } from '../../netem/profile.ts';
import { BACKEND_CHOICES, BACKEND_NAMES } from '../../netem/backends/index.ts';
import { TCP_CC } from '../../netem/cc.ts';
import { NatSchema } from '../../netem/nat.ts';
import { QUIC_CC } from '../../h3/cc.ts';
import { DEFAULT_SCHEDULING, SCHEDULINGS } from '../../servers/scheduler.ts';
import { parseLabel, POOLED, PROTOCOL_TABLE, PROTOCOLS, resolveConnections, resolveTls, TLS_CHOICE } from '../protocols.ts';
import { CONNECTION_MODES } from '../drivers/types.ts';
import { ServerField, serverProblem, splitServerSuffix, STATIC_SERVER_NAMES } from '../extservers/spec.ts';
import { CrossTrafficSchema } from './crosstraffic.ts';
import { CHROMIUM_H1_CONNECTIONS, CHROMIUM_PROTOCOLS, CHROMIUM_SUFFIX, CLIENTS, clientProblem } from '../clients.ts';

/** How a job's connections begin (harness/drivers/types.ts ConnectionMode). */
const ConnectionMode = z.enum(CONNECTION_MODES);
const CONNECTION_DOC =
  'cold: connections open inside the page clock (handshakes included); warm: opened and handshaken before it (a preconnect: 1 for h2/h3, N for http1.1xN, the first N for http1.0); resumed: a fresh connection with a TLS 1.3 session ticket from a priming connection (h3: first requests in 0-RTT; TLS protocols only)';

/** A protocol as a scenario names it: a name of the protocol table (harness/protocols.ts),
 *  `<name>x<N>` for a protocol with a connection pool (http1.1x6 = {protocol: http1.1, connections: 6}),
 *  and `<...>-clear` for a protocol whose TLS is a choice (http1.1x6-clear = {protocol: http1.1,
 *  connections: 6, tls: false}): every output label is also a valid entry. One connection rule
 *  (resolveConnections) and one TLS rule (resolveTls) for both spellings. */
// escapes regex metacharacters but not `-`: `\-` is an error in a unicode-mode pattern, and editors may compile it so
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const LABEL_PATTERN = `^(${PROTOCOLS.filter((p) => POOLED.includes(p) || TLS_CHOICE.includes(p))
  .map((p) => {
    const t = PROTOCOL_TABLE[p].tls;
    return esc(p) + (POOLED.includes(p) ? '(x[0-9]+)?' : '') + (t.kind === 'default-on' ? `(${esc(t.clearSuffix)})?` : '');
  })
  .join('|')})$`;
/** a label with a static server's suffix (h3@caddy, http1.1x6@nginx) */
const SERVER_LABEL_PATTERN = `^(${PROTOCOLS.map(esc).join('|')})(x[0-9]+)?(-clear)?@(${STATIC_SERVER_NAMES.join('|')})$`;
/** Chromium labels (h3@chromium, http1.1x6@chromium), for editors */
const CHROMIUM_LABEL_PATTERN = `^(${Object.keys(CHROMIUM_PROTOCOLS).map((p) => esc(p) + (POOLED.includes(p as never) ? `(x${CHROMIUM_H1_CONNECTIONS})?` : '')).join('|')})${esc(CHROMIUM_SUFFIX)}$`;
const MAX_POOL = Math.max(...POOLED.map((p) => { const c = PROTOCOL_TABLE[p].connections; return c.kind === 'pool' ? c.max : 1; }));
const clearSpellings = TLS_CHOICE.map((p) => { const t = PROTOCOL_TABLE[p].tls; return t.kind === 'default-on' ? `${p}${t.clearSuffix}` : p; });
const ProtocolString = z.string().superRefine((s, ctx) => {
  const { base, server } = splitServerSuffix(s);
  const l = parseLabel(base);
  if (!l) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown protocol "${s}": expected one of ${PROTOCOLS.join(', ')}, or ${POOLED.map((p) => `${p}x<N>`).join(' / ')}, or a cleartext spelling (${clearSpellings.join(', ')}, ...)`,
    });
    return;
  }
  if (l.connections !== undefined) {
    const r = resolveConnections(l.protocol, l.connections);
    if ('problem' in r) ctx.addIssue({ code: 'custom', message: r.problem });
  }
  const sp = serverProblem(l.protocol, server);
  if (sp) ctx.addIssue({ code: 'custom', message: sp });
  const c = clientProblem(l.protocol, l.client, l.connections, l.tls);
  if (c) ctx.addIssue({ code: 'custom', message: c.problem });
});

/** Checked by resolveConnections (the table's rule), so both spellings get one message. */
const Connections = z.number().describe(`${POOLED.join(', ')} only: parallel connections (browsers use 6)`);

const ProtocolObject = z
  .object({
    protocol: z.enum(PROTOCOLS),
    connections: Connections.optional(),
    tls: z.boolean().optional().describe(`${TLS_CHOICE.join(', ')} only: false = cleartext (label ${clearSpellings.join(', ')}); default true, like a browser on https://`),
    server: ServerField.optional(),
    client: z.enum(CLIENTS).optional().describe('page workloads: holbench (our drivers, default) or chromium (Debian\'s Chromium over DevTools; http1.1, h2, h3 over TLS; label <label>@chromium)'),
  })
  .strict()
  .superRefine((o, ctx) => {
    const r = resolveConnections(o.protocol, o.connections);
    if ('problem' in r) ctx.addIssue({ code: 'custom', path: ['connections'], message: r.problem });
    const t = resolveTls(o.protocol, o.tls);
    if ('problem' in t) ctx.addIssue({ code: 'custom', path: ['tls'], message: t.problem });
    const sp = serverProblem(o.protocol, o.server);
    if (sp) ctx.addIssue({ code: 'custom', path: ['server'], message: sp });
    const c = clientProblem(o.protocol, o.client, o.connections, o.tls);
    if (c) ctx.addIssue({ code: 'custom', path: [c.field], message: c.problem });
  });

export const ProtocolEntry = z.union([ProtocolString, ProtocolObject]);

const PageWorkload = z
  .object({
    kind: z.literal('page'),
    objects: z.number().int().min(1).max(10_000).describe('objects on the page, all requested at once'),
    object_bytes: z
      .union([z.number().int().min(1).max(2 ** 30), z.array(z.number().int().min(1).max(2 ** 30)).min(1)])
      .describe('size of every object, or a list of sizes cycled over the objects'),
    html_bytes: z.number().int().min(1).max(2 ** 30).optional().describe('fetched first, before the objects (like a page\'s HTML)'),
  })
  .strict();

const LoadWorkload = z
  .object({
    kind: z.literal('load'),
    mode: z.enum(['closed', 'fixed-rate']).default('closed'),
    concurrency: z.number().int().min(1).max(1000).default(10).describe('closed loop: requests in flight at once'),
    rate_rps: z.number().positive().max(1_000_000).optional().describe('fixed-rate: requests per second (required for fixed-rate)'),
    duration_s: z.number().positive().max(3600).default(10),
    warmup_s: z.number().min(0).max(600).default(1),
    body_bytes: z.number().int().min(0).max(2 ** 30).default(1024),
  })
  .strict()
  .refine((w) => w.mode !== 'fixed-rate' || w.rate_rps !== undefined, { message: 'rate_rps is required when mode is fixed-rate', path: ['rate_rps'] });

const ms = (max: number) => z.number().int().min(1).max(max);
const KeepaliveSchema = z
  .object({
    tcp_keepalive_ms: ms(7_200_000).optional().describe('TCP keepalive idle time before probing (both sides, TCP protocols)'),
    tcp_keepalive_interval_s: z.number().int().min(1).max(32767).optional().describe('net.ipv4.tcp_keepalive_intvl in the client and server namespaces (kernel default 75)'),
    tcp_keepalive_probes: z.number().int().min(1).max(127).optional().describe('net.ipv4.tcp_keepalive_probes in the client and server namespaces (kernel default 9)'),
    ping_ms: ms(3_600_000).optional().describe('WebSocket ping / HTTP/2 PING (sse-h2) / gRPC keepalive / QUIC PING (sse-h3, webtransport-*) interval (both sides)'),
    ping_timeout_ms: ms(3_600_000).optional().describe('declare the peer dead when the pong / PING ack / keepalive ack is this late (default ping_ms; not QUIC, where the idle timeout decides)'),
    quic_idle_timeout_ms: ms(600_000).optional().describe('sse-h3, webtransport-*: QUIC max_idle_timeout on both sides (the connection dies after this long without a packet from the peer; default 30000)'),
    heartbeat_ms: ms(3_600_000).optional().describe('SSE comment heartbeat interval (server; sse over HTTP/1.1 only)'),
    heartbeat_timeout_ms: ms(3_600_000).optional().describe('SSE client: dead after this long without bytes (default 2.5 x heartbeat_ms)'),
    hold_ms: ms(600_000).optional().describe('long polling: how long the server holds an empty poll (default 30000)'),
    retry_ms: ms(600_000).optional().describe('client reconnect delay after a dead or closed channel (SSE retry:, default 1000)'),
  })
  .strict();

const MessagesWorkload = z
  .object({
    kind: z.literal('messages'),
    pattern: z.enum(['echo', 'push', 'upload']).default('push').describe('echo: client sends, server returns (round trip); push: server sends on a schedule (one way); upload: client streams, server answers once (one way, measured at the server)'),
    messages: z.number().int().min(1).max(1_000_000).default(200),
    interval_ms: z.number().min(0).max(600_000).default(20).describe('spacing between messages; 0 = back to back (messages per second)'),
    message_bytes: z.number().int().min(32).max(1 << 20).default(64).describe('size of every message (text, seq and timestamp included)'),
    window: z.number().int().min(1).max(10_000).default(1).describe('echo: messages in flight at once'),
    duration_s: z.number().positive().max(3600).default(60).describe('the job ends after this long even if messages are missing'),
    resume: z.boolean().default(true).describe('reconnect after a dead or closed channel and resume after the last message received'),
    keepalive: KeepaliveSchema.default({}),
  })
  .strict();

export const WorkloadSchema = z.discriminatedUnion('kind', [PageWorkload, LoadWorkload, MessagesWorkload]);

const SCHEDULING_DOC =
  'how the h2 and h3 servers share a connection among responses: sequential (one at a time, in request order), ' +
  'round-robin (fair interleaving, one ~packet turn each), browser (the RFC 9218 priorities the client signals, ' +
  'as Chromium sends them; default)';

/** Sweep: each key lists values; the run covers the cartesian product (x protocols x repetitions).
 *  Cell ids follow this declaration order (scheduling first). */
export const SweepSchema = z
  .object({
    scheduling: z.array(z.enum(SCHEDULINGS)).min(1).optional().describe(SCHEDULING_DOC),
    loss_pct: z.array(z.number().min(0).max(100)).min(1).optional(),
    delay_ms: z.array(z.number().min(0).max(60_000)).min(1).optional().describe('one-way delay each way'),
    rtt_ms: z.array(z.number().min(0).max(120_000)).min(1).optional().describe('round-trip time, split evenly between directions'),
    jitter_ms: z.array(z.number().min(0).max(60_000)).min(1).optional(),
    rate_bps: z.array(LinkSchema.shape.rate_bps.unwrap()).min(1).optional(),
    queue_packets: z.array(z.number().int().min(1).max(1_000_000)).min(1).optional(),
    reorder_pct: z.array(z.number().min(0).max(100)).min(1).optional().describe('percent of packets that skip the delay line (reorder knob)'),
    aqm: z.array(z.enum(['none', 'codel'])).min(1).optional().describe('queue discipline at the bottleneck: none (tail drop) or codel (default target/interval)'),
    connection: z.array(ConnectionMode).min(1).optional().describe(CONNECTION_DOC),
    cross_traffic: z.array(z.enum(['off', 'on'])).min(1).optional().describe('off: the cell runs without the scenario\'s cross_traffic flows; on: with them'),
    preset: z.array(PresetNameSchema).min(1).optional().describe('network presets (holbench presets); the scenario\'s explicit network fields still override each'),
  })
  .strict()
  .refine((s) => !(s.delay_ms && s.rtt_ms), { message: 'sweep either delay_ms or rtt_ms, not both', path: ['rtt_ms'] });

export const ScenarioSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9._-]{1,64}$/, 'letters, digits, . _ - only (used in folder names)').optional(),
    description: z.string().max(2000).optional(),
    protocols: z.array(ProtocolEntry).min(1),
    workload: WorkloadSchema,
    network: NetworkSchema.default({}),
    nat: NatSchema.optional().describe('a NAT in the router namespace for the whole run (netem/nat.ts): idle timeouts, what an expired mapping does, NAT rebinding at given times of every job'),
    sweep: SweepSchema.optional(),
    cross_traffic: CrossTrafficSchema.optional(),
    repetitions: z.number().int().min(1).max(100).default(3),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    tcp_cc: z.enum(TCP_CC).default('cubic').describe('TCP congestion control in client and server namespaces'),
    quic_cc: z.enum(QUIC_CC).default('cubic').describe('QUIC congestion control (h3)'),
    connection: ConnectionMode.default('cold').describe(CONNECTION_DOC),
    scheduling: z.enum(SCHEDULINGS).default(DEFAULT_SCHEDULING).describe(SCHEDULING_DOC),
    capture: z.boolean().default(false).describe('record one pcap per job from the client interface (tcpdump) with TLS/QUIC key logs beside it, and derive exact head-of-line delay (results/<run>/capture/)'),
    capture_snaplen: z.number().int().min(96).max(262144).default(262144).describe('capture: bytes kept per packet (the head-of-line analysis needs whole packets: the default)'),
    capture_max_mb: z.number().min(1).max(100_000).default(500).describe('capture: a job\'s capture file stops growing at this size (MB); the job goes on uncaptured and says so'),
    backend: z.enum(BACKEND_CHOICES).default('auto').describe(`impairment backend: ${BACKEND_NAMES.join(', ')}, or auto (the first usable in that order)`),
    timeouts: z
      .object({
        request_ms: z.number().int().min(100).max(600_000).default(30_000),
        cell_s: z.number().min(1).max(3600).default(120).describe('a repetition of one protocol in one cell fails after this long'),
      })
      .strict()
      .default({ request_ms: 30_000, cell_s: 120 }),
  })
  .strict();

export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type Scenario = z.output<typeof ScenarioSchema>;
export type Workload = Scenario['workload'];
export type PageWorkloadT = z.output<typeof PageWorkload>;
export type LoadWorkloadT = z.output<typeof LoadWorkload>;
export type MessagesWorkloadT = z.output<typeof MessagesWorkload>;
export type KeepaliveInput = z.output<typeof KeepaliveSchema>;

/** Scenario keepalive (snake_case) -> the servers'/drivers' Keepalive. */
export function keepaliveOf(k: KeepaliveInput): import('../../contract/messages.ts').Keepalive {
  return {
    tcpKeepaliveMs: k.tcp_keepalive_ms,
    pingMs: k.ping_ms,
    pingTimeoutMs: k.ping_timeout_ms,
    quicIdleTimeoutMs: k.quic_idle_timeout_ms,
    heartbeatMs: k.heartbeat_ms,
    heartbeatTimeoutMs: k.heartbeat_timeout_ms,
    holdMs: k.hold_ms,
    retryMs: k.retry_ms,
  };
}

export function jsonSchema(): unknown {
  return z.toJSONSchema(ScenarioSchema, {
    io: 'input',
    unrepresentable: 'any',
    // a protocol string: a table name, or a label spelling (editors autocomplete the names)
    override: (ctx) => {
      if (ctx.zodSchema === ProtocolString) {
        delete ctx.jsonSchema.type;
        ctx.jsonSchema.anyOf = [{ type: 'string', enum: [...PROTOCOLS] }, { type: 'string', pattern: LABEL_PATTERN }, { type: 'string', pattern: SERVER_LABEL_PATTERN }, { type: 'string', pattern: CHROMIUM_LABEL_PATTERN }, { type: 'string', pattern: CHROMIUM_LABEL_PATTERN.slice(0, -1) + `@(${STATIC_SERVER_NAMES.join('|')})$` }];
      }
      if (ctx.zodSchema === Connections) Object.assign(ctx.jsonSchema, { type: 'integer', minimum: 1, maximum: MAX_POOL });
    },
  });
}
