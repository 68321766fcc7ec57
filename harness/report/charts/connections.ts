// Connections per run (every workload): transport connections the client opened vs the
// connections the server accepted, per cell and protocol. Inputs: summary.csv, run.json.
import { fmt, setupLine, uniq, protocolAxis } from '../labels.ts';
import type { SummaryRow } from '../load.ts';
import { base, cellFacetLayout, cellProto, groupBy, headroom, protocolsOf, type ChartContext, type ChartResult } from './common.ts';
import { labelsWithOutagesOf } from './outages.ts';

/** Facets beyond this many cells make the connection chart unreadable: the first ones (by
 *  loss, RTT, rate) are drawn and the subtitle says how many were left out. */
const MAX_CONNECTION_CELLS = 12;

/** Transport connections per run, counted by the client (connections_used) and by the
 *  server (server_connections), per protocol; every workload. */
export function connectionsUsedChart(ctx: ChartContext): ChartResult {
  const id = 'connections-used';
  const title = 'Connections per run: opened by the client vs accepted by the server';
  const all = ctx.ok.filter((r) => r.connections_used !== null || r.server_connections !== null);
  if (all.length === 0) return { id, title, skipped: 'no successful runs with connections_used or server_connections' };
  const cellsAll = ctx.cellOrder.filter((c) => all.some((r) => r.cell === c));
  const extraCells = uniq(all.map((r) => r.cell)).filter((c) => !cellsAll.includes(c));
  const shownCells = new Set([...cellsAll, ...extraCells].slice(0, MAX_CONNECTION_CELLS));
  const rows = all.filter((r) => shownCells.has(r.cell));
  const left = cellsAll.length + extraCells.length - shownCells.size;
  const labels = labelsWithOutagesOf(ctx, rows);
  const SIDES = [
    { side: 'client: connections opened', field: 'connections_used' as const },
    { side: 'server: connections accepted', field: 'server_connections' as const },
  ];
  const values: Record<string, unknown>[] = [];
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    for (const s of SIDES) {
      const xs = g.map((r) => r[s.field]).filter((x): x is number => x !== null);
      if (!xs.length) continue;
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const min = Math.min(...xs);
      const max = Math.max(...xs);
      values.push({ condition: labels.get(r0.cell) ?? r0.cell, protocol: r0.protocol, side: s.side, mean, min, max, spread: min !== max, n: xs.length });
    }
  }
  const sides = SIDES.map((s) => s.side).filter((s) => values.some((v) => v.side === s));
  const protocols = protocolsOf(ctx, rows);
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: protocolAxis(protocols) };
  const xOffset = { field: 'side', type: 'nominal', sort: sides };
  const y = { type: 'quantitative', title: 'connections per run', scale: headroom(Math.max(...values.map((v) => v.max as number))) };
  const color = {
    field: 'side', type: 'nominal', title: 'counted by', sort: sides, scale: { domain: sides, range: ['#2f6ea6', '#9ecae1'].slice(0, sides.length) },
    legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 400 },
  };
  const spec = {
    ...base(`Connections per run — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${setupLine(rows, ['loss', 'rtt', 'rate'])}; bar and number = mean over repetitions, whisker = min–max where repetitions differ`,
      ...(left > 0 ? [`first ${shownCells.size} of ${shownCells.size + left} cells shown (by loss, RTT, rate)`] : []),
    ]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: Math.max(180, 80 * protocols.length),
      height: 200,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x, xOffset, color, y: { field: 'mean', ...y },
            tooltip: [{ field: 'protocol' }, { field: 'side', title: 'counted by' }, { field: 'mean', format: '.2~f', title: 'mean per run' }, { field: 'min' }, { field: 'max' }, { field: 'n', title: 'runs' }],
          },
        },
        {
          transform: [{ filter: 'datum.spread' }],
          mark: { type: 'rule', color: '#333', strokeWidth: 1.2 },
          encoding: { x, xOffset, y: { field: 'min', ...y }, y2: { field: 'max' } },
        },
        {
          mark: { type: 'text', dy: -4, fontSize: 10, baseline: 'bottom', color: '#222' },
          encoding: { x, xOffset, y: { field: 'max', ...y }, text: { field: 'mean', type: 'quantitative', format: '.1~f' } },
        },
      ],
    },
  };
  // state what was measured, per workload and protocol, over all runs shown
  const mean = (rs: SummaryRow[], f: (r: SummaryRow) => number | null) => {
    const xs = rs.map(f).filter((v): v is number => v !== null);
    return xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : null;
  };
  const workloads = uniq(rows.map((r) => r.workload));
  const measured = workloads.map((wl) => {
    const per = protocols.flatMap((p) => {
      const rs = rows.filter((r) => r.protocol === p && r.workload === wl);
      if (!rs.length) return [];
      const conns = mean(rs, (r) => r.connections_used);
      const what = wl === 'messages' ? `${fmt(mean(rs, (r) => r.reconnects), 1) || '?'} reconnects` : `${fmt(mean(rs, (r) => r.requests), 1) || '?'} requests`;
      return [`${p} ${conns === null ? 'n/a' : fmt(conns, 2)} (${what})`];
    });
    return `${workloads.length > 1 ? `${wl || 'unknown'} workload: ` : ''}${per.join('; ')}`;
  });
  const caption =
    'connections_used: transport connections (TCP, or QUIC for h3) the client opened during the job, reconnects included; ' +
    "server_connections: connections the server accepted during the job (its counter's difference before and after). " +
    `Measured here, client side, mean per run: ${measured.join(' — ')}. Where the two bars differ, client and server counted a different number of connections for the same runs (per-run values: summary.csv).`;
  return { id, title, caption, spec };
}
