// Load-workload chart (c): request latency percentiles per protocol.
import { cellLabels, setupLine } from '../labels.ts';
import { base, cellFacetLayout, type ChartContext, type ChartResult } from './common.ts';

const PCTS = [
  ['p50', 'p50_ms'],
  ['p95', 'p95_ms'],
  ['p99', 'p99_ms'],
] as const;

/** (c) p50/p95/p99 latency of load runs: bar = mean over repetitions, dots = repetitions. */
export function latencyPercentilesChart(ctx: ChartContext): ChartResult {
  const id = 'latency-percentiles';
  const title = 'Request latency percentiles (load workload)';
  const rows = ctx.ok.filter((r) => r.workload === 'load' && PCTS.some(([, k]) => r[k] !== null));
  if (rows.length === 0) return { id, title, skipped: 'no successful load-workload runs' };
  const labels = cellLabels(rows);
  const values = rows.flatMap((r) =>
    PCTS.filter(([, k]) => r[k] !== null).map(([pct, k]) => ({
      condition: labels.get(r.cell) ?? r.cell, protocol: r.protocol, rep: r.rep, pct, ms: r[k],
    })),
  );
  const protocols = ctx.protocols.filter((p) => rows.some((r) => r.protocol === p));
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: { labelAngle: 0 } };
  const color = { field: 'pct', type: 'nominal', title: 'percentile', scale: { domain: ['p50', 'p95', 'p99'], range: ['#9ecae1', '#4292c6', '#08306b'] } };
  const xOffset = { field: 'pct', type: 'nominal', sort: ['p50', 'p95', 'p99'] };
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [`${setupLine(rows, ['loss', 'rtt', 'rate'])}; bar = mean over repetitions, dots = repetitions`]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: Math.max(160, 70 * protocols.length),
      height: 220,
      layer: [
        { mark: { type: 'bar' }, encoding: { x, xOffset, color, y: { aggregate: 'mean', field: 'ms', type: 'quantitative', title: 'latency (ms)' } } },
        {
          mark: { type: 'point', filled: true, size: 18, color: '#e45756', opacity: 0.9 },
          encoding: { x, xOffset, y: { field: 'ms', type: 'quantitative' }, tooltip: [{ field: 'protocol' }, { field: 'pct' }, { field: 'rep' }, { field: 'ms', format: '.1f' }] },
        },
      ],
    },
  };
  return { id, title, caption: 'Latency percentiles of individual requests under the load workload, as recorded in summary.csv (p50_ms, p95_ms, p99_ms). Bars: mean over repetitions; dots: each repetition.', spec };
}
