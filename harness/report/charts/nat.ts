// Runs behind a NAT (scenario nat:, run.json nat): what each protocol kept.
//   messages workloads (NAT idle timeout vs keepalive): each run sorted into survived /
//   late / reconnected / lost, per protocol;
//   runs with NAT rebinding: the longest silence after the first rebind per protocol, runs
//   that never resumed marked at the job's end.
// Inputs: summary.csv (all statuses: a broken run is the point here), run.json nat.
import { fmt, setupLine } from '../labels.ts';
import type { SummaryRow } from '../load.ts';
import { base, protocolsOf, type ChartContext, type ChartResult } from './common.ts';

/** A message later than this (p99 one-way latency) arrived, but not on time. */
export const LATE_MS = 1000;

export const NAT_OUTCOMES = ['survived', 'late', 'reconnected', 'lost'] as const;
export type NatOutcome = (typeof NAT_OUTCOMES)[number];
const OUTCOME_COLORS: Record<NatOutcome, string> = { survived: '#2ca25f', late: '#fdae61', reconnected: '#74add1', lost: '#d7191c' };

/** One messages run behind a NAT: lost beats reconnected beats late beats survived. */
export function natOutcome(r: Pick<SummaryRow, 'msgs_lost' | 'reconnects' | 'msg_p99_ms' | 'msgs_received'>): NatOutcome {
  if ((r.msgs_lost ?? 0) > 0 || !r.msgs_received) return 'lost';
  if ((r.reconnects ?? 0) > 0) return 'reconnected';
  if ((r.msg_p99_ms ?? 0) > LATE_MS) return 'late';
  return 'survived';
}

interface NatInfo {
  idle_timeout_tcp_s?: number;
  idle_timeout_udp_s?: number;
  on_expiry?: string;
  rebind_at_s?: number[];
  rebind?: string;
  description?: string;
}

export function natChart(ctx: ChartContext): ChartResult {
  const id = 'nat';
  const title = 'Behind a NAT: what each protocol kept';
  const nat = (ctx.results.run as { nat?: NatInfo }).nat;
  if (!nat) return { id, title, skipped: 'the run had no NAT (scenario nat:)' };
  const rows = ctx.results.summary.filter((r) => r.status !== 'UNSUPPORTED');
  if (!rows.length) return { id, title, skipped: 'no runs' };
  const protocols = protocolsOf(ctx, rows);
  const rebinding = (nat.rebind_at_s ?? []).length > 0;
  return rebinding ? rebindChart(id, title, nat, rows, protocols) : idleChart(id, title, nat, rows, protocols);
}

function idleChart(id: string, title: string, nat: NatInfo, all: SummaryRow[], protocols: string[]): ChartResult {
  const rows = all.filter((r) => r.workload === 'messages');
  if (!rows.length) return { id, title, skipped: 'NAT idle outcomes are drawn for messages workloads; this run has none' };
  const values = rows.map((r) => {
    const o = natOutcome(r);
    return {
      protocol: r.protocol, rep: r.rep, outcome: o, n: 1,
      what: `${o}: ${r.msgs_received ?? 0} received, ${r.msgs_lost ?? 0} lost, ${r.reconnects ?? 0} reconnects, p99 ${fmt(r.msg_p99_ms, 0) || '-'} ms${r.detect_mech_client ? `, client noticed by ${r.detect_mech_client}` : ''}`,
    };
  });
  const spec = {
    ...base(`${title} — ${nat.description ?? 'NAT'}`, [
      `${setupLine(rows, ['rtt', 'reps'])}; one block per run: survived (every message on time), late (p99 > ${LATE_MS} ms), reconnected (the channel died and was re-opened), lost (a message never arrived)`,
    ]),
    data: { values },
    width: Math.max(200, 70 * protocols.length),
    height: 180,
    mark: { type: 'bar', stroke: 'white', strokeWidth: 1 },
    encoding: {
      x: { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: { labelAngle: 0 } },
      y: { aggregate: 'sum', field: 'n', type: 'quantitative', title: 'runs', axis: { tickMinStep: 1 } },
      color: { field: 'outcome', type: 'nominal', sort: [...NAT_OUTCOMES], scale: { domain: [...NAT_OUTCOMES], range: NAT_OUTCOMES.map((o) => OUTCOME_COLORS[o]) }, legend: { orient: 'bottom', direction: 'horizontal' } },
      order: { field: 'outcome', sort: 'ascending' },
      tooltip: [{ field: 'protocol' }, { field: 'rep' }, { field: 'what', title: 'run' }],
    },
  };
  const per = protocols.map((p) => {
    const rs = values.filter((v) => v.protocol === p);
    const counts = NAT_OUTCOMES.map((o) => [o, rs.filter((v) => v.outcome === o).length] as const).filter(([, n]) => n > 0);
    return `${p} ${counts.map(([o, n]) => `${o} ${n}`).join(', ')}`;
  });
  const caption =
    `Mapping idle timeout TCP ${nat.idle_timeout_tcp_s} s / UDP ${nat.idle_timeout_udp_s} s, expired mappings: ${nat.on_expiry}. ` +
    `Outcome per run (summary.csv msgs_lost, reconnects, msg_p99_ms, detect_ms_client): ${per.join('; ')}. ` +
    'Keepalive settings are the scenario\'s workload.keepalive (run.json); compare runs of the nat-idle scenarios to compare settings.';
  return { id, title, caption, spec };
}

function rebindChart(id: string, title: string, nat: NatInfo, rows: SummaryRow[], protocols: string[]): ChartResult {
  const withRebind = rows.filter((r) => (r.nat_rebinds ?? 0) > 0);
  if (!withRebind.length) return { id, title, skipped: 'no run reached its NAT rebind' };
  const values = withRebind.map((r) => {
    const never = r.rebind_stall_ms === null;
    return {
      protocol: r.protocol, rep: r.rep, never, stall: r.rebind_stall_ms, x: never ? null : Math.max(r.rebind_stall_ms!, 1),
      what: never
        ? `never resumed after the rebind (${r.errors ?? 0} errors, ${fmt(r.rebind_bytes_missing, 0) || '0'} body bytes missing)`
        : `silence ${fmt(r.rebind_stall_ms, 1)} ms, resumed ${fmt(r.rebind_recover_ms, 1)} ms after the rebind; ${r.connections_used ?? '?'} connections${r.rebind_bytes_missing ? `, ${r.rebind_bytes_missing} body bytes missing` : ''}`,
    };
  });
  const maxX = Math.max(10, ...values.map((v) => v.x ?? 0)) * 3;
  for (const v of values) if (v.never) v.x = maxX;
  const spec = {
    ...base(`NAT rebinding (${nat.rebind}) at ${(nat.rebind_at_s ?? []).join(', ')} s: the longest silence after it`, [
      `${setupLine(withRebind, ['loss', 'rtt', 'rate', 'reps'])}; on expiry: ${nat.on_expiry}; hollow at the right edge = the transfer never resumed within the job`,
    ]),
    data: { values },
    width: 420,
    height: Math.max(80, 28 * protocols.length),
    layer: [
      {
        mark: { type: 'point', size: 90, strokeWidth: 2 },
        encoding: {
          y: { field: 'protocol', type: 'nominal', sort: protocols, title: null },
          x: { field: 'x', type: 'quantitative', scale: { type: 'log', domainMax: maxX * 1.2 }, title: 'longest silence after the rebind, ms (log)' },
          shape: { field: 'never', type: 'nominal', legend: null },
          fill: { condition: { test: 'datum.never', value: 'white' }, value: '#2f6ea6' },
          color: { condition: { test: 'datum.never', value: '#d7191c' }, value: '#2f6ea6' },
          tooltip: [{ field: 'protocol' }, { field: 'rep' }, { field: 'what', title: 'run' }],
        },
      },
      {
        transform: [{ filter: 'datum.never' }],
        mark: { type: 'text', align: 'right', dx: -10, fontSize: 10, color: '#d7191c' },
        encoding: {
          y: { field: 'protocol', type: 'nominal', sort: protocols, title: null },
          x: { field: 'x', type: 'quantitative', scale: { type: 'log', domainMax: maxX * 1.2 } },
          text: { value: 'never resumed' },
        },
      },
    ],
  };
  const per = protocols.map((p) => {
    const rs = values.filter((v) => v.protocol === p);
    if (!rs.length) return '';
    const ok = rs.filter((v) => !v.never).map((v) => v.stall!);
    return `${p}: ${ok.length ? `resumed ${ok.length}/${rs.length} (silence ${ok.map((x) => fmt(x, 0)).join(', ')} ms)` : `never resumed (${rs.length} runs)`}`;
  }).filter(Boolean);
  const caption =
    'After a NAT rebind the server meets a known flow from an unknown address/port. TCP cannot carry a connection across that (RST or silence; HTTP/1.1 resumes on a new connection for the requests not yet sent), QUIC finds the connection by its ID and migrates. ' +
    `Per protocol (summary.csv rebind_stall_ms, rebind_recover_ms, rebind_bytes_missing): ${per.join('; ')}.`;
  return { id, title, caption, spec };
}
