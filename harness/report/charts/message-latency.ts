// Message latency (messages workloads): the CDF of per-message latency from messages.csv,
// or p50/p99 from summary.csv when messages.csv is missing.
import { groupByRun, runKey } from '../../metrics.ts';
import { fmt, setupLine, uniq, protocolAxis } from '../labels.ts';
import type { SummaryRow } from '../load.ts';
import type { MessageRow } from '../../workloads/messages.ts';
import { base, cellFacetLayout, cellProto, groupBy, protocolColor, protocolsOf, type ChartContext, type ChartResult } from './common.ts';
import { ci, messageRows, workloadInfo, workloadLine, type MessagesWorkloadInfo } from './messages.ts';
import { labelsWithOutagesOf } from './outages.ts';
import { MIN_REPS_FOR_CI } from './page.ts';

/** Points per (cell, protocol) line in the latency CDF (the file can hold 100 000 rows per job). */
const CDF_POINTS = 400;

function latencyName(w: MessagesWorkloadInfo): { axis: string; what: string; def: string } {
  if (w.pattern === 'push') return { axis: 'one-way latency (ms, log scale)', what: 'One-way message latency (push)', def: 'latency = client receive − the message’s due time on the server' };
  if (w.pattern === 'echo') return { axis: 'round-trip latency (ms, log scale)', what: 'Round-trip message latency (echo)', def: 'latency = echo received − client send stamp' };
  if (w.pattern === 'upload') return { axis: 'one-way latency (ms, log scale)', what: 'One-way message latency (upload)', def: 'latency = arrival at the server − client send stamp' };
  return { axis: 'message latency (ms, log scale)', what: 'Message latency', def: 'latency = receive − send stamp' };
}

/** CDF of per-message latency from messages.csv (first arrivals only), per protocol and
 *  cell, pooled over repetitions; y is the share of messages *sent*, so lost messages keep
 *  a line below 100%. Falls back to p50/p99 from summary.csv without messages.csv. */
export function messageLatencyChart(ctx: ChartContext): ChartResult {
  const id = 'message-latency';
  const w = workloadInfo(ctx);
  const names = latencyName(w);
  const title = names.what;
  const rows = messageRows(ctx);
  if (rows.length === 0) return { id, title, skipped: 'no successful messages-workload runs' };
  const labels = labelsWithOutagesOf(ctx, rows);
  const byRun = groupByRun(ctx.results.messages.filter((m) => m.dup === 0));
  const withRows = rows.filter((r) => byRun.has(runKey(r)));
  return withRows.length ? latencyCdf(ctx, id, title, withRows, byRun, labels, w) : latencyPercentiles(ctx, id, title, rows, labels, w);
}

function latencyCdf(
  ctx: ChartContext, id: string, title: string, rows: SummaryRow[], byRun: Map<string, MessageRow[]>, labels: Map<string, string>, w: MessagesWorkloadInfo,
): ChartResult {
  const values: Record<string, unknown>[] = [];
  let nonPositive = 0;
  let truncatedRuns = 0;
  const tail: string[] = [];
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    const pts: { ms: number; w: number }[] = [];
    let denom = 0;
    for (const r of g) {
      const ms = byRun.get(runKey(r))!;
      // messages.csv keeps at most 100 000 rows per job: weight the rows kept so they stand
      // for every message received
      const received = r.msgs_received ?? ms.length;
      const weight = received > ms.length ? received / ms.length : 1;
      if (weight > 1) truncatedRuns++;
      denom += r.msgs_sent ?? Math.max(received, ms.length);
      for (const m of ms) {
        if (m.latency_ms > 0) pts.push({ ms: m.latency_ms, w: weight });
        else nonPositive++;
      }
    }
    if (!pts.length || denom <= 0) continue;
    pts.sort((a, b) => a.ms - b.ms);
    const condition = labels.get(r0.cell) ?? r0.cell;
    const step = Math.max(1, Math.floor(pts.length / CDF_POINTS));
    let cum = 0;
    pts.forEach((p, i) => {
      cum += p.w;
      if (i === 0 || i === pts.length - 1 || i % step === 0) values.push({ condition, protocol: r0.protocol, latency_ms: p.ms, frac: Math.min(1, cum / denom) });
    });
    const reached = cum / denom;
    if (reached < 0.9995) tail.push(`${r0.protocol}${labels.size > 1 ? ` (${condition})` : ''} ${fmt(100 * reached, 1)}%`);
  }
  if (!values.length) return latencyPercentiles(ctx, id, title, rows, labels, w);
  const names = latencyName(w);
  const legend = { title: 'protocol', symbolType: 'stroke', symbolStrokeWidth: 3 };
  const reps = uniq(rows.map((r) => r.rep)).length;
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${workloadLine(w)}; ${setupLine(rows, ['loss', 'rtt', 'rate'])}`,
      `${names.def}; y = share of the messages sent that arrived within x (first arrivals; ${reps} repetition${reps === 1 ? '' : 's'} pooled); below 100% at the end = lost`,
    ]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: 340,
      height: 230,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.8, opacity: 0.9 },
      encoding: {
        x: { field: 'latency_ms', type: 'quantitative', title: names.axis, scale: { type: 'log' } },
        y: { field: 'frac', type: 'quantitative', title: 'messages delivered', axis: { format: '%' }, scale: { domain: [0, 1] } },
        color: protocolColor(ctx, legend),
        tooltip: [{ field: 'protocol' }, { field: 'latency_ms', format: '.1f', title: 'latency (ms)' }, { field: 'frac', format: '.1%', title: 'delivered' }],
      },
    },
  };
  const notes = [
    tail.length ? `Delivered by the end of the job: ${tail.join(', ')}.` : 'Every message sent arrived.',
    nonPositive ? `${nonPositive} rows with latency ≤ 0 ms are not drawn (log axis).` : '',
    truncatedRuns ? `${truncatedRuns} runs had more messages than messages.csv keeps; their rows are weighted to stand for all received.` : '',
  ].filter(Boolean);
  const caption =
    `Cumulative distribution of per-message latency from messages.csv (latency_ms of first arrivals; duplicates excluded), ` +
    `${w.pattern === 'push' ? "the client's receive time minus the time the server's schedule produced the message (same clock; server-side waits such as a pending long poll or a replay count)" : w.pattern === 'echo' ? "the echo's arrival minus the client's send stamp" : w.pattern === 'upload' ? "the message's arrival at the server (its clock, reported in the upload's answer) minus the client's send stamp" : 'receive minus send stamp'}. ` +
    `The y axis counts against messages sent (summary msgs_sent), so lost messages never reach the top. ${notes.join(' ')}`;
  return { id, title, caption, spec };
}

function latencyPercentiles(ctx: ChartContext, id: string, title: string, all: SummaryRow[], labels: Map<string, string>, w: MessagesWorkloadInfo): ChartResult {
  const rows = all.filter((r) => r.msg_p50_ms !== null || r.msg_p99_ms !== null);
  if (rows.length === 0) return { id, title, skipped: 'no messages.csv rows and no msg_p50_ms/msg_p99_ms in summary.csv' };
  const PCTS = [['p50', 'msg_p50_ms'], ['p99', 'msg_p99_ms']] as const;
  const values: Record<string, unknown>[] = [];
  const ns: number[] = [];
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    const condition = labels.get(r0.cell) ?? r0.cell;
    for (const [pct, k] of PCTS) {
      const xs = g.map((r) => r[k]).filter((x): x is number => x !== null && x > 0);
      if (!xs.length) continue;
      const c = ci(xs);
      ns.push(c.n);
      values.push({ kind: 'agg', condition, protocol: r0.protocol, pct, ...c, lo: c.lo === null ? null : Math.max(c.lo, Math.min(...xs) / 2) });
      for (const r of g) if (r[k] !== null && r[k]! > 0) values.push({ kind: 'rep', condition, protocol: r0.protocol, pct, rep: r.rep, ms: r[k] });
    }
  }
  const protocols = protocolsOf(ctx, rows);
  const names = latencyName(w);
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: protocolAxis(protocols) };
  const xOffset = { field: 'pct', type: 'nominal', sort: ['p50', 'p99'] };
  const y = { type: 'quantitative', title: names.axis, scale: { type: 'log' } };
  const color = { field: 'pct', type: 'nominal', title: 'percentile', scale: { domain: ['p50', 'p99'], range: ['#6baed6', '#08306b'] } };
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${workloadLine(w)}; ${setupLine(rows, ['loss', 'rtt', 'rate'])}`,
      `${names.def}; from summary.csv (no messages.csv): dots = repetitions, tick = mean, whisker = 95% CI (t)${ns.some((n) => n < MIN_REPS_FOR_CI) ? ` (only where n ≥ ${MIN_REPS_FOR_CI})` : ''}`,
    ]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: Math.max(180, 64 * protocols.length),
      height: 230,
      layer: [
        { transform: [{ filter: "datum.kind === 'agg' && isValid(datum.lo)" }], mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, xOffset, color, y: { field: 'lo', ...y }, y2: { field: 'hi' } } },
        {
          transform: [{ filter: "datum.kind === 'agg'" }],
          mark: { type: 'tick', thickness: 2, size: 14 },
          encoding: { x, xOffset, color, y: { field: 'mean', ...y }, tooltip: [{ field: 'protocol' }, { field: 'pct' }, { field: 'mean', format: '.1f' }, { field: 'lo', format: '.1f' }, { field: 'hi', format: '.1f' }, { field: 'n' }] },
        },
        {
          transform: [{ filter: "datum.kind === 'rep'" }],
          mark: { type: 'point', filled: true, size: 24, opacity: 0.8 },
          encoding: { x, xOffset, color, y: { field: 'ms', ...y }, tooltip: [{ field: 'protocol' }, { field: 'pct' }, { field: 'rep' }, { field: 'ms', format: '.1f' }] },
        },
      ],
    },
  };
  const caption = 'Per-run p50 and p99 of message latency (summary.csv msg_p50_ms, msg_p99_ms; first arrivals only). messages.csv was not available, so no distribution is drawn. The percentiles cover delivered messages only: lost messages do not show here (see the recovery chart).';
  return { id, title, caption, spec };
}
