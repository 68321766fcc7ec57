// Message latency p50 / p99 and messages lost, side by side per protocol and network cell
// (messages workloads). The latency CDF (message-latency.ts) shows the whole distribution;
// this chart puts the two percentiles next to the count that never arrived, because a
// protocol that does not retransmit (webtransport-datagram) keeps a flat p99 by losing
// messages, and one that does pays for every loss in its tail.
// Inputs: summary.csv (msg_p50_ms, msg_p99_ms, msgs_lost, msgs_sent), run.json.
import { setupLine, protocolAxis } from '../labels.ts';
import { base, cellProto, groupBy, protocolColor, protocolsOf, type ChartContext, type ChartResult } from './common.ts';
import { failedNote, messageRows, workloadInfo, workloadLine } from './messages.ts';
import { labelsWithOutagesOf } from './outages.ts';

const METRICS = [
  { key: 'p50', title: 'p50 latency (ms)', field: 'msg_p50_ms' },
  { key: 'p99', title: 'p99 latency (ms)', field: 'msg_p99_ms' },
  { key: 'lost', title: 'messages lost per run', field: 'msgs_lost' },
] as const;

export function messageLossChart(ctx: ChartContext): ChartResult {
  const id = 'message-latency-loss';
  const title = 'Message latency p50 / p99 and messages lost';
  const rows = messageRows(ctx, true).filter((r) => r.msgs_lost !== null);
  if (rows.length === 0) return { id, title, skipped: 'no messages-workload runs with msgs_lost' };
  const w = workloadInfo(ctx);
  const labels = labelsWithOutagesOf(ctx, rows);
  const values: Record<string, unknown>[] = [];
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    const condition = labels.get(r0.cell) ?? r0.cell;
    for (const m of METRICS) {
      const xs = g.map((r) => (r as unknown as Record<string, number | null>)[m.field]).filter((x): x is number => x !== null && x !== undefined);
      if (!xs.length) continue;
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      values.push({ kind: 'agg', condition, protocol: r0.protocol, metric: m.title, order: METRICS.indexOf(m), value: mean, n: xs.length, sent: r0.msgs_sent });
      // an invisible mark at 1 keeps an all-zero panel's axis readable (0..1, not 0..0)
      values.push({ kind: 'pad', condition, protocol: r0.protocol, metric: m.title, value: 1 });
      for (const r of g) {
        const v = (r as unknown as Record<string, number | null>)[m.field];
        if (v !== null && v !== undefined) values.push({ kind: 'rep', condition, protocol: r0.protocol, metric: m.title, rep: r.rep, value: v, status: r.status });
      }
    }
  }
  const protocols = protocolsOf(ctx, rows);
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: protocolAxis(protocols) };
  const y = { field: 'value', type: 'quantitative', title: null, scale: { zero: true, nice: true } };
  const conditions = [...new Set(values.map((v) => v.condition as string))];
  const cellOrder = ctx.cellOrder.map((c) => labels.get(c) ?? c).filter((c) => conditions.includes(c));
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${workloadLine(w)}; ${setupLine(rows, ['loss', 'rtt', 'rate'])}${failedNote(rows)}`,
      'bar = mean over repetitions (number on top), dots = repetitions; latency covers delivered messages only, lost = never arrived by the job’s end',
    ]),
    data: { values },
    facet: {
      row: { field: 'metric', type: 'nominal', title: null, sort: METRICS.map((m) => m.title), header: { labelFontSize: 12, labelFontWeight: 'bold', labelAngle: 0, labelAlign: 'left' } },
      column: { field: 'condition', type: 'nominal', title: null, sort: cellOrder, header: { labelFontSize: 12, labelFontWeight: 'bold' } },
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: Math.max(160, 56 * protocols.length),
      height: 140,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'agg'" }],
          mark: { type: 'bar' },
          encoding: { x, y, color: protocolColor(ctx, null), tooltip: [{ field: 'protocol' }, { field: 'metric' }, { field: 'value', format: '.2~f', title: 'mean' }, { field: 'n', title: 'runs' }, { field: 'sent', title: 'sent per run' }] },
        },
        {
          transform: [{ filter: "datum.kind === 'pad'" }],
          mark: { type: 'point', opacity: 0 },
          encoding: { x, y },
        },
        {
          transform: [{ filter: "datum.kind === 'rep'" }],
          mark: { type: 'point', filled: true, size: 20, color: '#333', opacity: 0.8 },
          encoding: { x, y, tooltip: [{ field: 'protocol' }, { field: 'metric' }, { field: 'rep' }, { field: 'value', format: '.2~f' }, { field: 'status' }] },
        },
        {
          transform: [{ filter: "datum.kind === 'agg'" }],
          mark: { type: 'text', dy: -4, fontSize: 10, baseline: 'bottom', color: '#222' },
          encoding: { x, y, text: { field: 'value', type: 'quantitative', format: '.3~r' } },
        },
      ],
    },
  };
  const caption =
    'Per protocol and network cell: the median and 99th percentile of per-message latency (summary.csv msg_p50_ms, msg_p99_ms; first arrivals, delivered messages only) and msgs_lost (messages sent that never arrived by the end of the job). ' +
    'A reliable stream repairs each loss with a retransmission, which shows in p99; datagrams are never retransmitted, so their p99 stays near the path delay and each lost packet is a lost message.';
  return { id, title, caption, spec };
}
