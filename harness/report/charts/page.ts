// Page-workload charts: page time per protocol (a), object completion CDF (b),
// page time vs loss with CI bands (e), h3-vs-h2 heatmap over loss x RTT (f).
import { groupByRun, meanCi95, lastByteAt } from '../../metrics.ts';
import { cellLabels, fmt, pathLabel, setupLine, uniq, protocolAxis } from '../labels.ts';
import type { SummaryRow } from '../load.ts';
import { base, cellFacetLayout, nn, protocolColor, type ChartContext, type ChartResult } from './common.ts';

function pageRows(ctx: ChartContext): SummaryRow[] {
  return ctx.ok.filter((r) => r.workload !== 'load' && r.page_ms !== null);
}

/** Fewer repetitions than this: no CI is drawn (with n = 2, t = 12.7 and the whisker
 *  would dwarf the data; the dots still show the spread). */
export const MIN_REPS_FOR_CI = 3;

/** Mean and 95% t-CI for display: lo clipped at 0 (times cannot be negative), lo/hi null
 *  below MIN_REPS_FOR_CI. */
function displayCi(xs: number[]): { mean: number; lo: number | null; hi: number | null; n: number } {
  const ci = meanCi95(xs);
  if (ci.n < MIN_REPS_FOR_CI) return { mean: ci.mean, lo: null, hi: null, n: ci.n };
  return { mean: ci.mean, lo: nn(Math.max(0, ci.lo)), hi: nn(ci.hi), n: ci.n };
}

function ciNote(ns: number[]): string {
  return ns.some((n) => n < MIN_REPS_FOR_CI) ? ` (CI only where n ≥ ${MIN_REPS_FOR_CI})` : '';
}

/** (a) Page load time per protocol: one dot per repetition, mean (tick) and 95% t-CI
 *  (rule), one panel per cell. */
export function pageTimeChart(ctx: ChartContext): ChartResult {
  const id = 'page-time';
  const title = 'Page load time by protocol';
  const rows = pageRows(ctx);
  if (rows.length === 0) return { id, title, skipped: 'no successful page-workload runs' };
  const labels = cellLabels(rows);
  const label = (r: SummaryRow) => labels.get(r.cell) ?? r.cell;
  const values: Record<string, unknown>[] = rows.map((r) => ({ kind: 'rep', condition: label(r), protocol: r.protocol, rep: r.rep, page_ms: r.page_ms }));
  const groups = new Map<string, SummaryRow[]>();
  for (const r of rows) {
    const k = `${r.cell}\u0000${r.protocol}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const g of groups.values()) {
    const ci = displayCi(g.map((r) => r.page_ms!));
    values.push({ kind: 'agg', condition: label(g[0]!), protocol: g[0]!.protocol, ...ci });
  }
  const protocols = ctx.protocols.filter((p) => rows.some((r) => r.protocol === p));
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: protocolAxis(protocols, { labelFontSize: 11 }) };
  const y = { title: 'page load time (ms)', scale: { zero: true } };
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${setupLine(rows, ['loss', 'rtt', 'rate'])}; dots = repetitions, bar = mean, whisker = 95% CI (t) of the mean${ciNote([...groups.values()].map((g) => g.length))}`,
    ]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: Math.max(200, 70 * protocols.length),
      height: 260,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'agg'" }],
          mark: { type: 'bar', opacity: 0.25, width: 30 },
          encoding: { x, y: { field: 'mean', type: 'quantitative', ...y }, color: protocolColor(ctx, null) },
        },
        {
          transform: [{ filter: "datum.kind === 'agg' && isValid(datum.lo)" }],
          mark: { type: 'rule', strokeWidth: 1.5, color: '#333' },
          encoding: { x, y: { field: 'lo', type: 'quantitative', ...y }, y2: { field: 'hi' } },
        },
        {
          transform: [{ filter: "datum.kind === 'agg'" }],
          mark: { type: 'tick', thickness: 2, size: 20, color: '#333' },
          encoding: {
            x, y: { field: 'mean', type: 'quantitative', ...y },
            tooltip: [{ field: 'protocol' }, { field: 'mean', format: '.0f', title: 'mean (ms)' }, { field: 'lo', format: '.0f' }, { field: 'hi', format: '.0f' }, { field: 'n' }],
          },
        },
        {
          transform: [{ filter: "datum.kind === 'rep'" }],
          mark: { type: 'point', filled: true, size: 45, opacity: 0.9, stroke: 'white', strokeWidth: 0.5 },
          encoding: {
            x, y: { field: 'page_ms', type: 'quantitative', ...y },
            xOffset: { field: 'rep', type: 'nominal', scale: { paddingOuter: 1.2 } },
            color: protocolColor(ctx, null),
            tooltip: [{ field: 'protocol' }, { field: 'rep' }, { field: 'page_ms', format: '.0f', title: 'page (ms)' }],
          },
        },
      ],
    },
  };
  return { id, title, caption: `Each dot is one repetition. Bars show the mean, whiskers the 95% confidence interval of the mean (Student t, n = repetitions; drawn only with n ≥ ${MIN_REPS_FOR_CI}, clipped at 0).`, spec };
}

/** (b) Object completion CDF: fraction of the page's objects whose last byte arrived, vs
 *  time since the page load began; one step line per repetition. */
export function objectCompletionChart(ctx: ChartContext): ChartResult {
  const id = 'object-completion';
  const title = 'Object completion over time';
  const labels = cellLabels(pageRows(ctx));
  const pageRuns = new Set(pageRows(ctx).map((r) => `${r.cell}\u0000${r.protocol}\u0000${r.rep}`));
  const runs = groupByRun(ctx.results.requests);
  const values: Record<string, unknown>[] = [];
  const used: SummaryRow[] = [];
  for (const [key, reqs] of runs) {
    if (!pageRuns.has(key)) continue;
    const r0 = reqs[0]!;
    const t0 = Math.min(...reqs.map((r) => r.start_ms));
    const done = reqs.map(lastByteAt).filter((t): t is number => t !== null).sort((a, b) => a - b);
    const condition = labels.get(r0.cell) ?? r0.cell;
    values.push({ condition, protocol: r0.protocol, rep: r0.rep, t_ms: 0, frac: 0 });
    done.forEach((t, i) => values.push({ condition, protocol: r0.protocol, rep: r0.rep, t_ms: t - t0, frac: (i + 1) / reqs.length }));
    used.push(...ctx.ok.filter((s) => s.cell === r0.cell && s.protocol === r0.protocol && s.rep === r0.rep));
  }
  if (values.length === 0) return { id, title, skipped: 'no requests.csv rows for successful page runs' };
  const spec = {
    ...base(`${title} — ${setupLine(used, ['cc', 'reps'])}`, [
      `${setupLine(used, ['loss', 'rtt', 'rate'])}; one line per repetition; y = share of objects fully received`,
    ]),
    data: { values },
    ...cellFacetLayout(ctx, used, labels),
    spec: {
      width: 300,
      height: 220,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.6, opacity: 0.85 },
      encoding: {
        x: { field: 't_ms', type: 'quantitative', title: 'time since page start (ms)' },
        y: { field: 'frac', type: 'quantitative', title: 'objects completed', axis: { format: '%' }, scale: { domain: [0, 1] } },
        color: protocolColor(ctx),
        detail: { field: 'rep', type: 'nominal' },
        tooltip: [{ field: 'protocol' }, { field: 'rep' }, { field: 't_ms', format: '.0f', title: 'ms' }, { field: 'frac', format: '.0%' }],
      },
    },
  };
  return { id, title, caption: 'Cumulative share of objects whose last byte arrived. A line that rises late and steeply = objects finish together; a long tail = a few objects held back.', spec };
}

interface AggRow {
  path: string;
  protocol: string;
  loss: number;
  mean: number;
  lo: number | null;
  hi: number | null;
  n: number;
}

function aggregateBy(rows: SummaryRow[], value: (r: SummaryRow) => number | null): AggRow[] {
  const groups = new Map<string, SummaryRow[]>();
  for (const r of rows) {
    const k = `${pathLabel(r)}\u0000${r.protocol}\u0000${r.loss_pct ?? 0}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const ci = displayCi(g.map(value).filter((v): v is number => v !== null));
    return { path: pathLabel(g[0]!), protocol: g[0]!.protocol, loss: g[0]!.loss_pct ?? 0, ...ci };
  });
}

/** (e) Mean page time vs configured loss, one line per protocol with a 95% CI band. */
export function pageVsLossChart(ctx: ChartContext): ChartResult {
  const id = 'page-vs-loss';
  const title = 'Page load time vs packet loss';
  const rows = pageRows(ctx);
  const losses = uniq(rows.map((r) => r.loss_pct ?? 0));
  if (losses.length < 2) return { id, title, skipped: `needs at least two loss values (have ${losses.length})` };
  const values = aggregateBy(rows, (r) => r.page_ms);
  const paths = uniq(values.map((v) => v.path));
  const legend = { title: 'protocol', symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 };
  const enc = { x: { field: 'loss', type: 'quantitative', title: 'configured loss (%)', axis: { values: losses.sort((a, b) => a - b) } }, color: protocolColor(ctx, legend) };
  const layer = [
    {
      transform: [{ filter: 'isValid(datum.lo)' }],
      mark: { type: 'area', opacity: 0.15 },
      encoding: { ...enc, y: { field: 'lo', type: 'quantitative', title: 'page load time (ms)' }, y2: { field: 'hi' } },
    },
    { mark: { type: 'line', strokeWidth: 2 }, encoding: { ...enc, y: { field: 'mean', type: 'quantitative' } } },
    {
      mark: { type: 'point', filled: true, size: 40 },
      encoding: {
        ...enc, y: { field: 'mean', type: 'quantitative' },
        tooltip: [{ field: 'protocol' }, { field: 'loss' }, { field: 'mean', format: '.0f' }, { field: 'lo', format: '.0f' }, { field: 'hi', format: '.0f' }, { field: 'n' }],
      },
    },
  ];
  const head = base(`${title} — ${setupLine(rows, ['loss', 'cc', 'reps'])}`, [
    `${setupLine(rows, ['loss', 'rtt', 'rate'])}; line = mean over repetitions, band = 95% CI (t)${ciNote(values.map((v) => v.n))}`,
  ]);
  const spec =
    paths.length === 1
      ? { ...head, data: { values }, width: 420, height: 260, layer }
      : { ...head, data: { values }, facet: { field: 'path', type: 'nominal', title: null }, columns: Math.min(paths.length, 3), spec: { width: 300, height: 220, layer } };
  return { id, title, caption: 'Mean page load time per loss rate; the shaded band is the 95% confidence interval of the mean (Student t, clipped at 0; drawn only with at least 3 repetitions). With 3 repetitions t = 4.3, so bands are wide: add repetitions before reading small differences.', spec };
}

/** (f) Heatmap of (h3 - h2) / h2 mean page time over loss x RTT, one panel per rate. */
export function h3VsH2HeatmapChart(ctx: ChartContext, pair: [string, string] = ['h2', 'h3']): ChartResult {
  const [pa, pb] = pair;
  const id = 'h3-vs-h2-heatmap';
  const title = `${pb} vs ${pa}: relative page load time`;
  const rows = pageRows(ctx);
  const a = rows.filter((r) => r.protocol === pa);
  const b = rows.filter((r) => r.protocol === pb);
  if (!a.length || !b.length) return { id, title, skipped: `needs successful page runs of both ${pa} and ${pb}` };
  const losses = uniq(rows.map((r) => r.loss_pct ?? 0));
  const rtts = uniq(rows.map((r) => r.rtt_ms ?? 0));
  if (losses.length < 2 || rtts.length < 2) return { id, title, skipped: `needs both loss and RTT to vary (have ${losses.length} loss, ${rtts.length} RTT values)` };
  const key = (r: SummaryRow) => `${r.rate_mbps ?? ''}\u0000${r.loss_pct ?? 0}\u0000${r.rtt_ms ?? 0}`;
  const mean = (xs: SummaryRow[]) => xs.reduce((s, r) => s + r.page_ms!, 0) / xs.length;
  const ga = new Map<string, SummaryRow[]>();
  const gb = new Map<string, SummaryRow[]>();
  for (const r of a) ga.set(key(r), [...(ga.get(key(r)) ?? []), r]);
  for (const r of b) gb.set(key(r), [...(gb.get(key(r)) ?? []), r]);
  const values: Record<string, unknown>[] = [];
  for (const [k, ra] of ga) {
    const rb = gb.get(k);
    if (!rb) continue;
    const ma = mean(ra);
    const mb = mean(rb);
    values.push({
      rate: ra[0]!.rate_mbps === null ? 'no rate limit' : `${fmt(ra[0]!.rate_mbps)} Mbit/s`,
      loss: `${fmt(ra[0]!.loss_pct ?? 0)}%`, loss_n: ra[0]!.loss_pct ?? 0,
      rtt: `${fmt(ra[0]!.rtt_ms ?? 0)} ms`, rtt_n: ra[0]!.rtt_ms ?? 0,
      rel: ma > 0 ? (mb - ma) / ma : null, mean_a: ma, mean_b: mb,
    });
  }
  const maxAbs = Math.max(0.05, ...values.map((v) => Math.abs((v.rel as number | null) ?? 0)));
  const layer = [
    {
      mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
      encoding: {
        color: {
          field: 'rel', type: 'quantitative', title: [`(${pb} − ${pa}) / ${pa}`],
          scale: { scheme: 'redblue', reverse: true, domain: [-maxAbs, maxAbs], domainMid: 0 },
          legend: { format: '+.0%', gradientLength: Math.max(80, Math.min(160, 56 * rtts.length)) },
        },
        tooltip: [{ field: 'loss' }, { field: 'rtt' }, { field: 'rel', format: '+.1%' }, { field: 'mean_a', format: '.0f', title: `${pa} mean (ms)` }, { field: 'mean_b', format: '.0f', title: `${pb} mean (ms)` }],
      },
    },
    {
      mark: { type: 'text', fontSize: 12 },
      encoding: {
        text: { field: 'rel', type: 'quantitative', format: '+.0%' },
        color: { condition: { test: `abs(datum.rel) > ${0.6 * maxAbs}`, value: 'white' }, value: 'black' },
      },
    },
  ];
  const enc = {
    x: { field: 'loss', type: 'ordinal', sort: { field: 'loss_n' }, title: 'configured loss', axis: { labelAngle: 0 } },
    y: { field: 'rtt', type: 'ordinal', sort: { field: 'rtt_n', order: 'descending' }, title: 'base RTT' },
  };
  const rates = uniq(values.map((v) => v.rate as string));
  const head = base(`${title} — (${pb} − ${pa}) / ${pa}, mean over repetitions`, [
    `${setupLine(rows.filter((r) => r.protocol === pa || r.protocol === pb), ['loss', 'rtt'])}; blue = ${pb} faster, red = ${pb} slower`,
  ]);
  const cellSize = 56;
  const inner = { width: cellSize * losses.length, height: cellSize * rtts.length, encoding: enc, layer };
  const spec = rates.length === 1 ? { ...head, data: { values }, ...inner } : { ...head, data: { values }, facet: { field: 'rate', type: 'nominal', title: null }, spec: inner };
  return { id, title, caption: `Relative difference of mean page load time, (${pb} − ${pa}) / ${pa}. Negative (blue): ${pb} is faster.`, spec };
}
