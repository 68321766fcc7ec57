// Shared pieces of the chart builders: the context they read, the result they return and
// the Vega-Lite boilerplate (fonts, title block, colors) every chart uses.
import type { Results, SummaryRow } from '../load.ts';
import { cellLabels, protocolColors, sortCells, sortProtocols } from '../labels.ts';

/** A chart to render, or the reason it does not apply to this run. */
export type ChartResult =
  | { id: string; title: string; caption: string; spec: VlSpec }
  | { id: string; title: string; skipped: string };

// Vega-Lite specs are plain JSON; typing them fully buys little here.
export type VlSpec = Record<string, unknown>;

export interface TimelineOptions {
  /** cell id to draw; default: the cell with the highest loss that has chunks */
  cell?: string;
  /** repetition; default: the first one where all chosen protocols succeeded */
  rep?: number;
  /** protocols side by side; default h2 and h3 (else up to 3 protocols with chunks) */
  protocols?: string[];
  /** at most this many streams (lowest object index first); default 40 */
  maxStreams?: number;
}

export interface ChartContext {
  results: Results;
  /** summary rows with status SUCCEEDED */
  ok: SummaryRow[];
  /** cell id -> label over all summary rows (charts label their own subset: cellLabels) */
  cellLabel: Map<string, string>;
  /** cell ids ordered by loss, RTT, rate */
  cellOrder: string[];
  protocols: string[];
  colors: { domain: string[]; range: string[] };
  timeline: TimelineOptions;
}

export function makeContext(results: Results, timeline: TimelineOptions = {}): ChartContext {
  const ok = results.summary.filter((r) => r.status === 'SUCCEEDED');
  const protocols = sortProtocols(results.summary.map((r) => r.protocol));
  return {
    results,
    ok,
    cellLabel: cellLabels(results.summary),
    cellOrder: sortCells(results.summary),
    protocols,
    colors: protocolColors(protocols),
    timeline,
  };
}

export const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

/** Top-level keys every chart shares: schema, title + subtitle, white background, fonts. */
export function base(title: string, subtitle: string | string[]): VlSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, anchor: 'start', fontSize: 15, subtitleFontSize: 12, subtitleColor: '#444', offset: 12 },
    background: 'white',
    padding: 12,
    config: {
      font: FONT,
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
      header: { labelFontSize: 12, titleFontSize: 12 },
      legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
      view: { stroke: '#ccc' },
    },
  };
}

/** Color encoding for protocols with the fixed palette. */
export function protocolColor(ctx: ChartContext, legend: unknown = { title: 'protocol', orient: 'right' }): VlSpec {
  const present = new Set(ctx.ok.map((r) => r.protocol));
  const domain = ctx.colors.domain.filter((p) => present.has(p));
  const range = domain.map((p) => ctx.colors.range[ctx.colors.domain.indexOf(p)]!);
  return { field: 'protocol', type: 'nominal', scale: { domain, range }, legend };
}

/** Facet on the condition field (values = labels.get(cell)) and the wrap width. When loss
 *  and the path (RTT / rate) both vary, panels form a grid: one row per path, one column
 *  per loss value. Otherwise cells run by loss, RTT, rate, wrapped after 3 (or 4). */
export function cellFacetLayout(ctx: ChartContext, rows: SummaryRow[], labels: Map<string, string>, field = 'condition'): { facet: VlSpec; columns: number } {
  const present = new Set(rows.map((r) => r.cell));
  const first = new Map<string, SummaryRow>();
  for (const r of rows) if (!first.has(r.cell)) first.set(r.cell, r);
  const losses = new Set(rows.map((r) => r.loss_pct));
  const paths = new Set(rows.map((r) => `${r.rtt_ms}/${r.rate_mbps}`));
  let order = ctx.cellOrder.filter((c) => present.has(c));
  let columns = order.length <= 4 ? order.length : 3;
  if (losses.size > 1 && paths.size > 1 && losses.size <= 5 && order.length === losses.size * paths.size) {
    const k = (x: number | null) => x ?? -1;
    order = [...order].sort((a, b) => {
      const ra = first.get(a)!;
      const rb = first.get(b)!;
      return k(ra.rtt_ms) - k(rb.rtt_ms) || k(ra.rate_mbps) - k(rb.rate_mbps) || k(ra.loss_pct) - k(rb.loss_pct);
    });
    columns = losses.size;
  }
  return {
    facet: { field, type: 'nominal', title: null, sort: order.map((c) => labels.get(c) ?? c), header: { labelFontSize: 12, labelFontWeight: 'bold' } },
    columns: Math.max(1, columns),
  };
}

/** NaN/undefined -> null so the JSON data stays valid and Vega treats it as missing. */
export function nn(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : x;
}

/** A finite number (run.json fields are unchecked JSON). */
export const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Group in first-seen order, keeping input order within a group. */
export function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const l = m.get(k);
    if (l) l.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/** y scale with room above the tallest mark for the number drawn on top of it. */
export function headroom(max: number): { zero: true; domainMax: number; nice: true } {
  return { zero: true, domainMax: Math.max(1, max) * 1.15, nice: true };
}

/** Key of a (cell, protocol) group. */
export const cellProto = (r: { cell: string; protocol: string }) => `${r.cell}\u0000${r.protocol}`;

/** The context's protocols (in report order) that have a row in `rows`. */
export function protocolsOf(ctx: ChartContext, rows: SummaryRow[]): string[] {
  return ctx.protocols.filter((p) => rows.some((r) => r.protocol === p));
}
