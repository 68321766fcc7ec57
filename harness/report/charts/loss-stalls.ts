// Which loss stalled which streams (captured runs only): for one repetition, the protocols
// side by side (h2 and h3 by default), every lost packet a mark at its time, at the number
// of streams it held received bytes for, sized by the stream-time it cost. Inputs:
// stalls-by-loss.csv (harness/probes/capture.ts, lossattr.ts), summary.csv.
import { fmt, setupLine } from '../labels.ts';
import type { StallByLossRow } from '../load.ts';
import { base, type ChartContext, type ChartResult } from './common.ts';

/** The repetition drawn: the timeline options' cell / rep / protocols when given; else the
 *  highest-loss cell with capture rows, h2 and h3 (else up to 3 protocols with rows), and
 *  the first repetition where all of them have rows. */
function pick(ctx: ChartContext): { cell: string; rep: number; protocols: string[] } | null {
  const rows = ctx.results.stallsByLoss;
  const ok = new Set(ctx.ok.map((r) => `${r.cell}\u0000${r.protocol}\u0000${r.rep}`));
  const have = (r: StallByLossRow) => ok.has(`${r.cell}\u0000${r.protocol}\u0000${r.rep}`);
  const cells = ctx.cellOrder.filter((c) => rows.some((r) => r.cell === c && have(r)));
  const cell = ctx.timeline.cell && cells.includes(ctx.timeline.cell) ? ctx.timeline.cell : cells[cells.length - 1];
  if (cell === undefined) return null;
  const inCell = rows.filter((r) => r.cell === cell && have(r));
  const present = ctx.protocols.filter((p) => inCell.some((r) => r.protocol === p));
  const wanted = ctx.timeline.protocols ?? ['h2', 'h3'];
  let protocols = wanted.filter((p) => present.includes(p));
  if (protocols.length < 2) protocols = present.slice(0, 3);
  const reps = [...new Set(inCell.map((r) => r.rep))].sort((a, b) => a - b);
  const full = reps.filter((k) => protocols.every((p) => inCell.some((r) => r.rep === k && r.protocol === p)));
  const rep = ctx.timeline.rep !== undefined && reps.includes(ctx.timeline.rep) ? ctx.timeline.rep : (full[0] ?? reps[0]!);
  return { cell, rep, protocols };
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : w.endsWith('s') ? 'es' : 's'}`;

/** The sentence a slide quotes: each protocol's worst loss (most streams, then most time). */
export function lossStallHeadline(rows: StallByLossRow[], protocols: string[]): string {
  return protocols
    .map((p) => {
      const rs = rows.filter((r) => r.protocol === p);
      const worst = [...rs].sort((a, b) => b.streams_stalled - a.streams_stalled || b.blocked_ms_max - a.blocked_ms_max)[0];
      if (!worst || worst.streams_stalled === 0) return `no stream held on ${p}`;
      return `${plural(worst.streams_stalled, 'stream')} stalled up to ${fmt(worst.blocked_ms_max, 0)} ms on ${p}`;
    })
    .join('; ');
}

export function lossStallsChart(ctx: ChartContext): ChartResult {
  const id = 'loss-stalls';
  const title = 'Which loss stalled which streams (capture)';
  if (!ctx.results.stallsByLoss.length) return { id, title, skipped: 'no stalls-by-loss.csv rows (run with --capture or capture: true)' };
  const p = pick(ctx);
  if (!p) return { id, title, skipped: 'no successful captured job has loss rows' };
  const rows = ctx.results.stallsByLoss.filter((r) => r.cell === p.cell && r.rep === p.rep && p.protocols.includes(r.protocol));
  const summary = ctx.ok.filter((r) => r.cell === p.cell && r.rep === p.rep && p.protocols.includes(r.protocol));
  const values = rows.map((r) => ({
    protocol: r.protocol,
    t_s: r.t_ms / 1000,
    streams: r.streams_stalled,
    blocked: r.blocked_ms_total,
    blocked_max: r.blocked_ms_max,
    cross: r.cross_ms_total,
    direction: r.direction,
    source: r.source === 'capture' ? 'hole without a drop-log entry' : 'drop log',
    held: r.streams_stalled > 0 ? 'held streams' : 'held none',
  }));
  const counts = p.protocols.map((q) => {
    const rs = rows.filter((r) => r.protocol === q);
    return `${q}: ${plural(rs.length, 'loss')}, ${rs.filter((r) => r.streams_stalled > 0).length} held streams`;
  });
  const headline = `One loss: ${lossStallHeadline(rows, p.protocols)}`;
  const maxBlocked = Math.max(1, ...values.map((v) => v.blocked));
  const spec = {
    ...base(headline, [
      `${p.protocols.join(' vs ')} · repetition ${p.rep} · ${setupLine(summary, ['reps'])}`,
      'each mark one lost packet (both directions) at the streams it held received bytes for; size = stream-time it cost (sum over streams)',
      counts.join(' · '),
    ]),
    data: { values },
    facet: { column: { field: 'protocol', type: 'nominal', sort: p.protocols, title: null, header: { labelFontSize: 13, labelFontWeight: 'bold' } } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 360,
      height: 240,
      mark: { type: 'point', filled: true, opacity: 0.7, stroke: '#333', strokeWidth: 0.5 },
      encoding: {
        x: { field: 't_s', type: 'quantitative', title: 'time of the loss, s since the job started', scale: { zero: true } },
        y: { field: 'streams', type: 'quantitative', title: 'streams stalled by this loss', scale: { zero: true, nice: true }, axis: { tickMinStep: 1 } },
        size: { field: 'blocked', type: 'quantitative', title: 'stream-time blocked, ms', scale: { domain: [0, maxBlocked], range: [20, 900] }, legend: { orient: 'bottom', direction: 'horizontal' } },
        color: { field: 'held', type: 'nominal', title: null, scale: { domain: ['held streams', 'held none'], range: ['#d62728', '#9e9e9e'] }, legend: { orient: 'bottom', direction: 'horizontal' } },
        shape: { field: 'source', type: 'nominal', title: 'loss from', legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 300 } },
        tooltip: [
          { field: 'protocol' },
          { field: 't_s', title: 'time, s', format: '.3f' },
          { field: 'direction' },
          { field: 'streams', title: 'streams stalled' },
          { field: 'blocked', title: 'stream-time blocked, ms', format: '.1f' },
          { field: 'blocked_max', title: 'longest stream held, ms', format: '.1f' },
          { field: 'cross', title: 'of it waiting for another stream, ms', format: '.1f' },
          { field: 'source', title: 'loss from' },
        ],
      },
    },
  };
  const caption =
    'Each lost packet of one repetition (drops.csv, wall clock of the router), placed at the number of streams that held received bytes because of it and sized by the stream-time it cost (stalls-by-loss.csv: per stream, the union of its waits whose missing byte was in that packet, summed). ' +
    'A wait is blamed on the loss whose retransmitted byte ended it (exact, from the capture); a hole is linked to a drop by connection and time window (README "Which loss stalled which streams"). ' +
    'Grey marks held no received byte: uplink losses (requests, ACKs), lost retransmissions, and losses repaired before any later byte of their stream arrived. On h2 one TCP loss holds every stream with bytes behind it; on h3 at most the streams whose frames the packet carried.';
  return { id, title, caption, spec };
}
