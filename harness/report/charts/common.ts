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

/** Facet header for the condition column: labels on top, no repeated "cell" title. */
export function cellFacet(ctx: ChartContext, field = 'condition'): VlSpec {
  const present = new Set(ctx.ok.map((r) => r.cell));
  return {
    field,
    type: 'nominal',
    title: null,
    sort: ctx.cellOrder.filter((c) => present.has(c)).map((c) => ctx.cellLabel.get(c) ?? c),
    header: { labelFontSize: 12, labelFontWeight: 'bold' },
  };
}

/** NaN/undefined -> null so the JSON data stays valid and Vega treats it as missing. */
export function nn(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : x;
}
