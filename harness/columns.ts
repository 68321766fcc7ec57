// The summary.csv column table: every column declared once, in file order, with its type,
// which way is better (for `compare`) and a one-line meaning. The SummaryRow type,
// SUMMARY_COLUMNS, the report's CSV reader and compare's directions derive from it.
//
// Adding a summary column = one entry here + what fills it (summarize() for values computed
// from the job's records, or a probe in harness/probes/ for measurements around the job)
// + its line in README "Outputs".

/** text: '' when missing; num: number or null (empty cell); count: always a number; status: the job's outcome */
type ColumnType = 'text' | 'num' | 'count' | 'status';
/** which way is better: `compare` judges lower/higher; neutral columns get no verdict */
type Better = 'lower' | 'higher' | 'neutral';

/** id: which job the row is; condition: what was configured for it; outcome: what was
 *  measured (only outcomes are metrics for `compare`) */
type Role = 'id' | 'condition' | 'outcome';

interface ColumnDef {
  type: ColumnType;
  role: Role;
  better?: Better;
  doc: string;
}

/** an outcome column */
const c = <T extends ColumnType>(type: T, doc: string, better?: Better): { type: T; role: Role; doc: string; better?: Better } => ({ type, role: 'outcome', doc, better });
const id = <T extends ColumnType>(type: T, doc: string) => ({ ...c(type, doc), role: 'id' as Role });
const cond = <T extends ColumnType>(type: T, doc: string) => ({ ...c(type, doc), role: 'condition' as Role });

export const SUMMARY_TABLE = {
  scenario: id('text', 'scenario name'),
  cell: id('text', 'cell id (the sweep values, e.g. loss_pct=2,rtt_ms=50; base without a sweep)'),
  protocol: id('text', 'protocol label (http1.1x6, h2 ...)'),
  rep: id('count', 'repetition, 1-based'),
  status: id('status', 'SUCCEEDED, FAILED or UNSUPPORTED'),
  reason: id('text', 'why it failed or is unsupported; messages lost'),
  workload: id('text', 'page, load or messages'),
  loss_pct: cond('count', 'configured loss per direction, % (stationary rate for Gilbert-Elliott)'),
  rtt_ms: cond('count', 'configured base round-trip time, ms'),
  rate_mbps: cond('num', 'configured downlink (server -> client) rate limit, Mbit/s (empty: none)'),
  preset: cond('text', 'network preset the profile started from (holbench presets; explicit fields may override it); empty: none'),
  tcp_cc: cond('text', 'TCP congestion control in both namespaces'),
  quic_cc: cond('text', 'QUIC congestion control'),
  scheduling: cond('text', 'how the h2/h3 servers shared a connection among responses: sequential, round-robin or browser (RFC 9218 priorities as Chromium sends them); "server\'s own" for an external server (caddy, nginx, a user\'s)'),
  connection: cond('text', 'how the connections began: cold (inside the page clock), warm (opened before it), resumed (TLS session ticket of a priming connection; h3: 0-RTT)'),
  seed: cond('num', 'impairment seed of the job: jobSeed(scenario seed, cell, rep), the same for every protocol of one repetition (netem/seed.ts)'),
  page_ms: c('num', 'start of the first request to the end of the last object', 'lower'),
  requests: c('count', 'requests made'),
  errors: c('count', 'requests that failed', 'lower'),
  ttfb_p50_ms: c('num', 'median time to first byte over completed requests', 'lower'),
  ttlb_p50_ms: c('num', 'median time to last byte over completed requests', 'lower'),
  p50_ms: c('num', 'latency p50 (page: TTLB; load: HDR histogram)', 'lower'),
  p95_ms: c('num', 'latency p95', 'lower'),
  p99_ms: c('num', 'latency p99', 'lower'),
  goodput_mbps: c('num', 'body bytes x 8 / page time (or load duration), Mbit/s', 'higher'),
  completion_spread_ms: c('num', 'p90 - p10 of TTLB within one page load', 'lower'),
  connections_used: c('count', 'transport connections the client driver opened'),
  handshake_ms: c('num', "mean over the job's connections of TCP connect + TLS handshake, or the QUIC handshake (warm: before the page clock)", 'lower'),
  tcp_connect_ms: c('num', "mean TCP connect time of the job's connections (SYN to established)", 'lower'),
  tls_handshake_ms: c('num', "mean TLS handshake time over TCP (TCP established to the server's Finished verified)", 'lower'),
  quic_handshake_ms: c('num', 'mean QUIC handshake time (first Initial to handshake complete)', 'lower'),
  resumed: c('num', 'share of TLS connections that resumed a session (1/0 with one connection; Chromium: the holbench server\'s count); empty: cleartext or none reported'),
  zero_rtt: c('num', 'share of connections that sent requests in 0-RTT whose early data the server accepted (1/0 with one; Chromium: the h3 server\'s count); empty: none sent'),
  server_connections: c('num', 'connections the server plugin accepted during the job'),
  retransmissions: c('num', 'TCP RetransSegs of both namespaces (TCP transports only)', 'lower'),
  co_stall_index: c('num', 'share of stall time during which streams stalled together', 'lower'),
  hol_stall_index: c('num', 'share of stall time on shared connections during which the whole connection was silent', 'lower'),
  stall_ms_mean: c('num', 'mean stall length, ms', 'lower'),
  queue_delay_p50_ms: c('num', "median time packets waited in the bottleneck queue (enqueue -> dequeue), in the direction with the larger p99 (helper backend; empty: not measured). High with few drops: bufferbloat; low while streams stall: loss / head-of-line blocking", 'lower'),
  queue_delay_p99_ms: c('num', 'p99 of that queue delay, same direction, ms', 'lower'),
  aqm_drops: c('num', 'packets the AQM (CoDel) dropped at dequeue, both directions (empty: backend without AQM counters)'),
  hol_self_ms: c('num', 'capture: time streams held received bytes for an earlier missing byte of their own stream, summed over streams, ms (README "Exact head-of-line delay")', 'lower'),
  hol_cross_ms: c('num', "capture: time streams held received bytes for a missing byte of another stream (TCP in-order delivery), summed over streams, ms", 'lower'),
  hol_cross_ms_per_stream: c('num', 'capture: hol_cross_ms / streams that received body bytes, ms', 'lower'),
  hol_cross_bytes: c('num', 'capture: body bytes that waited for another stream', 'lower'),
  loss_streams_max: c('num', 'capture: most streams one lost packet held (stalls-by-loss.csv; README "Which loss stalled which streams")', 'lower'),
  loss_blocked_ms_max: c('num', 'capture: most stream-time one lost packet cost: its blocked_ms_total in stalls-by-loss.csv, ms', 'lower'),
  loss_measured_pct: c('num', "packets the backend's loss model dropped / packets in, %"),
  drops_loss: c('num', 'packets dropped by the loss model, both directions'),
  drops_queue: c('num', 'packets dropped by the tail-drop queue, both directions'),
  wire_bytes_up: c('num', "L2 bytes sent by the client's veth during the job"),
  wire_bytes_down: c('num', "L2 bytes received by the client's veth during the job"),
  msgs_sent: c('num', 'messages sent'),
  msgs_received: c('num', 'distinct messages received'),
  msgs_lost: c('num', 'messages never received', 'lower'),
  msgs_dup: c('num', 'messages received more than once', 'lower'),
  msg_p50_ms: c('num', 'message latency p50', 'lower'),
  msg_p99_ms: c('num', 'message latency p99', 'lower'),
  msgs_per_s: c('num', 'distinct messages received per second', 'higher'),
  wire_bytes_per_msg: c('num', 'wire bytes (both directions) per distinct message received', 'lower'),
  payload_bytes_per_msg: c('num', 'wire bytes less per-frame Ethernet/IP/TCP-or-UDP headers, per message', 'lower'),
  reconnects: c('num', 'channel re-opens after a dead or closed channel', 'lower'),
  detect_ms_client: c('num', 'outage start to the client driver\'s dead-peer verdict, ms', 'lower'),
  detect_mech_client: c('text', 'mechanism that fired on the client'),
  detect_ms_server: c('num', "outage start to the server plugin's dead-peer verdict, ms", 'lower'),
  detect_mech_server: c('text', 'mechanism that fired on the server'),
  cross_traffic: cond('text', 'competing flows run with the job (scenario cross_traffic: kind, count, congestion control, direction, start..stop s); empty: none'),
  cross_goodput_mbps: c('num', "competing flows' goodput at their receivers (iperf3), summed over entries, each over its own duration, Mbit/s"),
  cross_retransmits: c('num', "competing TCP flows' retransmitted segments (iperf3 senders)"),
  cross_udp_lost_pct: c('num', 'competing UDP flow: datagrams lost, % (the largest over UDP entries)'),
  cross_error: c('text', 'a competing flow that failed or did not finish in time (its goodput is then missing)'),
  nat_rebinds: c('num', 'NAT rebinds made during the job (scenario nat.rebind_at_s)'),
  rebind_recover_ms: c('num', 'first NAT rebind to the end of the longest silence in data reaching the client that began within 10 s of it (body bytes or messages), ms; empty: the transfer never resumed', 'lower'),
  rebind_stall_ms: c('num', 'that longest silence after the first NAT rebind, ms; empty: never resumed', 'lower'),
  rebind_bytes_missing: c('num', 'page/load with NAT rebinding: body bytes requested that never arrived', 'lower'),
} as const satisfies Record<string, ColumnDef>;

type Table = typeof SUMMARY_TABLE;
type ValueOf<T extends ColumnType> = T extends 'text' ? string : T extends 'num' ? number | null : T extends 'count' ? number : 'SUCCEEDED' | 'FAILED' | 'UNSUPPORTED';

/** One summary.csv row. */
export type SummaryRow = { -readonly [K in keyof Table]: ValueOf<Table[K]['type']> };
export type SummaryColumn = keyof Table;

/** summary.csv's columns, in file order. */
export const SUMMARY_COLUMNS = Object.keys(SUMMARY_TABLE) as SummaryColumn[];

const ofType = (...types: ColumnType[]) => SUMMARY_COLUMNS.filter((k) => (types as string[]).includes(SUMMARY_TABLE[k].type));
/** Columns read as numbers (empty -> null). */
export const NUMERIC_COLUMNS = ofType('num', 'count');
/** Columns read as text ('' when missing). */
export const TEXT_COLUMNS = ofType('text', 'status');

/** Columns that describe the job, not a measurement of it (never a `compare` metric). */
export const NOT_OUTCOME_COLUMNS: ReadonlySet<string> = new Set(SUMMARY_COLUMNS.filter((k) => SUMMARY_TABLE[k].role !== 'outcome'));

/** Which way is better for a column, or undefined for a name that is not in the table. */
export function columnBetter(name: string): Better | undefined {
  if (!Object.hasOwn(SUMMARY_TABLE, name)) return undefined;
  return (SUMMARY_TABLE[name as SummaryColumn] as ColumnDef).better ?? 'neutral';
}
