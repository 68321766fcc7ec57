// Queue delay per run: how long packets waited in the bottleneck queue (p50 bar, p99 tick),
// per cell and protocol, shown next to the stall charts so that bufferbloat (long queue
// delay) and loss / head-of-line stalls (short queue, stalled streams) can be told apart.
// Inputs: summary.csv (queue_delay_p50_ms, queue_delay_p99_ms, aqm_drops, drops_queue).
import { setupLine, protocolAxis } from '../labels.ts';
import { base, cellFacetLayout, cellProto, groupBy, headroom, protocolsOf, type ChartContext, type ChartResult } from './common.ts';
import { labelsWithOutagesOf } from './outages.ts';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function queueDelayChart(ctx: ChartContext): ChartResult {
  const id = 'queue-delay';
  const title = 'Queue delay at the bottleneck: median and p99 per run';
  const rows = ctx.ok.filter((r) => r.queue_delay_p50_ms !== null && r.queue_delay_p99_ms !== null);
  if (rows.length === 0) return { id, title, skipped: 'no queue delay in summary.csv (netem backend, no rate limit, or a run from before the column existed)' };
  const labels = labelsWithOutagesOf(ctx, rows);
  const values: Record<string, unknown>[] = [];
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    const p50 = mean(g.map((r) => r.queue_delay_p50_ms!));
    const p99 = mean(g.map((r) => r.queue_delay_p99_ms!));
    const aqm = g.map((r) => r.aqm_drops).filter((x): x is number => x !== null);
    const tail = g.map((r) => r.drops_queue).filter((x): x is number => x !== null);
    values.push({
      condition: labels.get(r0.cell) ?? r0.cell, protocol: r0.protocol, p50, p99, n: g.length,
      aqmDrops: aqm.length ? mean(aqm) : null, tailDrops: tail.length ? mean(tail) : null,
    });
  }
  const protocols = protocolsOf(ctx, rows);
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: protocolAxis(protocols) };
  const y = { type: 'quantitative', title: 'queue delay, ms', scale: headroom(Math.max(...values.map((v) => v.p99 as number))) };
  const spec = {
    ...base(`Queue delay — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${setupLine(rows, ['loss', 'rtt', 'rate'])}; bar and number = median queue delay, tick = p99 (means over repetitions), in the direction where the queue built`,
    ]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: Math.max(160, 70 * protocols.length),
      height: 200,
      layer: [
        {
          mark: { type: 'bar', color: '#2f6ea6' },
          encoding: {
            x, y: { field: 'p50', ...y },
            tooltip: [{ field: 'protocol' }, { field: 'p50', format: '.1f', title: 'p50 ms' }, { field: 'p99', format: '.1f', title: 'p99 ms' }, { field: 'tailDrops', format: '.0f', title: 'tail drops' }, { field: 'aqmDrops', format: '.0f', title: 'AQM drops' }, { field: 'n', title: 'runs' }],
          },
        },
        { mark: { type: 'tick', color: '#c0392b', thickness: 2 }, encoding: { x, y: { field: 'p99', ...y } } },
        { mark: { type: 'text', dy: -4, fontSize: 10, baseline: 'bottom', color: '#222' }, encoding: { x, y: { field: 'p50', ...y }, text: { field: 'p50', type: 'quantitative', format: '.1f' } } },
      ],
    },
  };
  const caption =
    'Queue delay: time from a packet entering the bottleneck queue until the link took it (the helper measures every packet on its model clock). ' +
    'A high queue delay with few drops is bufferbloat: every response waits behind a standing queue. ' +
    'Stalls (previous charts) with a short queue come from loss and head-of-line blocking instead. ' +
    'With aqm: codel the queue delay should sit near its target (5 ms by default); tail drops and AQM drops per run are in the tooltip and summary.csv.';
  return { id, title, caption, spec };
}
