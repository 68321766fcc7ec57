// One summary row per protocol x cell x repetition, computed from a job's records and the
// columns its probes (harness/probes/) measured around it. Column meanings are documented in the README ("Outputs").
import type { JobConnection, JobResult } from './agent.ts';
import type { ConnectionMode } from './drivers/types.ts';
import { baseRttMs, expectedLossFraction, type NetworkProfile } from '../netem/profile.ts';
import { completionSpreadMs, percentile, stallAnalysis } from './metrics.ts';

export { SUMMARY_COLUMNS, type SummaryRow } from './columns.ts';
import type { SummaryRow } from './columns.ts';

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Columns that come from job probes (harness/probes/): null until a probe fills them. */
const PROBE_DEFAULTS = {
  seed: null, server_connections: null, retransmissions: null, loss_measured_pct: null, drops_loss: null, drops_queue: null,
  wire_bytes_up: null, wire_bytes_down: null, wire_bytes_per_msg: null, payload_bytes_per_msg: null,
  detect_ms_client: null, detect_mech_client: '', detect_ms_server: null, detect_mech_server: '',
  hol_self_ms: null, hol_cross_ms: null, hol_cross_ms_per_stream: null, hol_cross_bytes: null, loss_streams_max: null, loss_blocked_ms_max: null,
  cross_traffic: '', cross_goodput_mbps: null, cross_retransmits: null, cross_udp_lost_pct: null, cross_error: '',
  nat_rebinds: null, rebind_recover_ms: null, rebind_stall_ms: null, rebind_bytes_missing: null,
  queue_delay_p50_ms: null, queue_delay_p99_ms: null, aqm_drops: null,
} satisfies Partial<SummaryRow>;

export interface SummaryContext {
  scenario: string;
  cell: string;
  rep: number;
  protocol: string;
  profile: NetworkProfile;
  tcpCc: string;
  quicCc: string;
  /** the servers' discipline in the job's cell (scenario `scheduling`); '' when not known */
  scheduling?: string;
  /** how the job's connections began (scenario `connection`); '' when not known */
  connection?: ConnectionMode;
  /** the columns the job's probes returned (harness/probes/) */
  probes: Partial<SummaryRow>;
}

const mean = (xs: number[]) => (xs.length ? r3(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
/** share of true among the non-null values; null when all are null */
const share = (xs: (boolean | null)[]) => {
  const known = xs.filter((x): x is boolean => x !== null);
  return known.length ? r3(known.filter(Boolean).length / known.length) : null;
};

/** The handshake columns, from the connections the driver reported. */
function handshakeColumns(conns: JobConnection[]) {
  const of = (f: (c: JobConnection) => number | null) => conns.map(f).filter((x): x is number => x !== null);
  const total = conns.map((c) => (c.quicHandshakeMs ?? (c.tcpConnectMs === null ? null : c.tcpConnectMs + (c.tlsHandshakeMs ?? 0)))).filter((x): x is number => x !== null);
  return {
    handshake_ms: mean(total),
    tcp_connect_ms: mean(of((c) => c.tcpConnectMs)),
    tls_handshake_ms: mean(of((c) => c.tlsHandshakeMs)),
    quic_handshake_ms: mean(of((c) => c.quicHandshakeMs)),
    resumed: share(conns.map((c) => c.resumed)),
    zero_rtt: share(conns.map((c) => c.zeroRtt)),
  };
}

/** One summary.csv row. Every statistic comes from harness/metrics.ts (the definitions the
 *  README quotes): percentiles are type 7 (interpolated), completion spread is
 *  completionSpreadMs, the stall columns are stallAnalysis over the job's requests and
 *  chunks with the path's base RTT (rtt_ms). Request statistics cover the requests that
 *  completed without error. */
export function summarize(job: JobResult, c: SummaryContext): SummaryRow {
  const ok = job.requests.filter((r) => !r.error && r.ttlb_ms !== null);
  const ttlb = ok.map((r) => r.ttlb_ms!);
  const ttfb = ok.map((r) => r.ttfb_ms).filter((x): x is number => x !== null);
  /** p in [0, 100]; null when there is no value */
  const q = (xs: number[], p: number) => (xs.length ? r3(percentile(xs, p)) : null);
  const spread = completionSpreadMs(ok);
  const stall = job.requests.length ? stallAnalysis(job.requests, job.chunks, baseRttMs(c.profile)) : null;
  const load = job.load;
  const page = job.page;
  const msg = job.messages;
  const elapsedS = page?.pageMs ? page.pageMs / 1000 : load ? load.durationS : null;
  return {
    ...PROBE_DEFAULTS,
    scenario: c.scenario,
    cell: c.cell,
    protocol: c.protocol,
    rep: c.rep,
    status: job.status,
    reason: job.reason,
    workload: msg ? 'messages' : load ? 'load' : 'page',
    loss_pct: r3(100 * expectedLossFraction(c.profile.uplink.loss)),
    rtt_ms: baseRttMs(c.profile),
    // the direction a page or a push travels (presets are often asymmetric: 1.6 down / 0.768 up)
    rate_mbps: c.profile.downlink.rateBps ? r3(c.profile.downlink.rateBps / 1e6) : null,
    preset: c.profile.preset?.name ?? '',
    tcp_cc: c.tcpCc,
    quic_cc: c.quicCc,
    scheduling: c.scheduling ?? '',
    connection: c.connection ?? '',
    page_ms: page?.pageMs ?? null,
    requests: load ? load.requests : job.requests.length,
    errors: load ? load.errors : job.requests.filter((r) => r.error).length,
    ttfb_p50_ms: q(ttfb, 50),
    ttlb_p50_ms: q(ttlb, 50),
    p50_ms: load ? r3(load.latencyMs.p50) : q(ttlb, 50),
    p95_ms: load ? r3(load.latencyMs.p95) : q(ttlb, 95),
    p99_ms: load ? r3(load.latencyMs.p99) : q(ttlb, 99),
    goodput_mbps: elapsedS && job.status === 'SUCCEEDED' ? r3((job.bytes * 8) / elapsedS / 1e6) : null,
    completion_spread_ms: spread === null ? null : r3(spread),
    connections_used: job.connectionsOpened,
    ...handshakeColumns(job.connections ?? []),
    co_stall_index: stall?.coStallIndex ?? null,
    hol_stall_index: stall?.holStallIndex ?? null,
    stall_ms_mean: stall ? stall.stallMsMean : null,
    msgs_sent: msg ? msg.sent : null,
    msgs_received: msg ? msg.received : null,
    msgs_lost: msg ? msg.lost : null,
    msgs_dup: msg ? msg.dup : null,
    msg_p50_ms: msg?.latencyMs?.p50 ?? null,
    msg_p99_ms: msg?.latencyMs?.p99 ?? null,
    msgs_per_s: msg?.msgsPerS ?? null,
    reconnects: msg ? msg.reconnects : null,
    ...c.probes,
  };
}
